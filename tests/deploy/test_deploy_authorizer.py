"""golive's JWT authorizer (deployed for REST APIs whose issuer is not Cognito) as API Gateway calls it."""

from __future__ import annotations

import time

import jwt
import pytest

from golive.security import authorizer

ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/users/42"


@pytest.fixture
def configured(monkeypatch):
    monkeypatch.setenv("GOLIVE_JWT_SECRET", "s3cret-for-the-test-only-0123456789")
    monkeypatch.setenv("GOLIVE_JWT_ISSUER", "https://auth.example.com/")
    monkeypatch.delenv("GOLIVE_JWKS_URL", raising=False)
    monkeypatch.delenv("GOLIVE_JWT_AUDIENCE", raising=False)
    monkeypatch.setattr(authorizer, "_auth", None)


def token(**claims):
    body = {"sub": "alice", "iss": "https://auth.example.com/", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(body, "s3cret-for-the-test-only-0123456789", algorithm="HS256")


def test_a_valid_token_is_allowed_on_the_whole_stage_with_its_claims(configured):
    result = authorizer.handler({"type": "TOKEN", "methodArn": ARN,
                                 "authorizationToken": f"Bearer {token(roles=['admin'], scope='users:read')}"})
    assert result["principalId"] == "alice"
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*"
    assert result["context"]["roles"] == "[admin]" and result["context"]["scope"] == "users:read"


@pytest.mark.parametrize("header", ["", "Basic abc", "Bearer not-a-jwt", "Bearer " + "x.y.z"])
def test_anything_else_is_unauthorized(configured, header):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler({"type": "TOKEN", "methodArn": ARN, "authorizationToken": header})


def test_a_token_from_another_issuer_is_unauthorized(configured):
    forged = jwt.encode({"sub": "eve", "iss": "https://evil.example.com/", "exp": int(time.time()) + 60},
                        "s3cret-for-the-test-only-0123456789", algorithm="HS256")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler({"type": "TOKEN", "methodArn": ARN, "authorizationToken": f"Bearer {forged}"})
