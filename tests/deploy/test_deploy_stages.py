"""Stages: `golive template/package/check --stage NAME` apply golive.toml's [stages.NAME] (memory, concurrency,
throttling, retention, WAF, alarms, domain), checked on the real CLI's output and on the real SAM transform's."""

from __future__ import annotations

import shutil
from pathlib import Path

from deploy_helpers import EXAMPLE_USERS, FIXTURES, golive, render, resources_of
from test_deploy_sam import transform

from golive.deploy.cfn import load_yaml


def _template(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / f"template-{len(list(tmp_path.iterdir()))}.yaml"
    result = golive("template", *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return load_yaml(out.read_text())


def service_with(tmp_path: Path, extra: str, name: str = "users_like") -> Path:
    """A fixture service copied out, with EXTRA appended to its golive.toml."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("__pycache__", "dist", ".golive"))
    (target / "golive.toml").write_text((target / "golive.toml").read_text() + "\n" + extra)
    return target


def test_a_stage_overrides_memory_concurrency_throttling_retention_waf_and_alarms(tmp_path):
    dev = _template(tmp_path, str(EXAMPLE_USERS), "--stage", "dev")
    prod = _template(tmp_path, str(EXAMPLE_USERS), "--stage", "prod")
    dev_fn, prod_fn = (t["Resources"]["ApiFunction"]["Properties"] for t in (dev, prod))
    assert (dev_fn["MemorySize"], dev_fn["ReservedConcurrentExecutions"]) == (256, 5)
    assert (prod_fn["MemorySize"], prod_fn["ReservedConcurrentExecutions"]) == (512, 100)
    assert dev_fn["Environment"]["Variables"]["GOLIVE_STAGE"] == "dev"
    dev_api, prod_api = (t["Resources"]["Api"]["Properties"] for t in (dev, prod))
    assert dev_api["StageName"] == "dev" and prod_api["StageName"] == "prod"
    default = dev_api["MethodSettings"][0]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (5, 5)
    assert prod_api["MethodSettings"][0]["ThrottlingRateLimit"] == 50
    assert dev["Resources"]["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == 30
    assert prod["Resources"]["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == 365
    assert not resources_of(dev, "AWS::WAFv2::WebACL") and resources_of(prod, "AWS::WAFv2::WebACL")
    email = [r["Properties"]["Endpoint"] for r in resources_of(dev, "AWS::SNS::Subscription").values()]
    assert email == ["users-dev@example.com", "users-dev@example.com"]
    p99 = dev["Resources"]["GetUsersLatencyP99Alarm"]["Properties"]["Threshold"]
    assert p99 == 5000 and prod["Resources"]["GetUsersLatencyP99Alarm"]["Properties"]["Threshold"] == 2500
    assert dev["Metadata"]["golive"]["stage"] == "dev"


def test_without_stage_the_default_stage_is_built_with_its_overrides(tmp_path):
    assert _template(tmp_path, str(EXAMPLE_USERS)) == _template(tmp_path, str(EXAMPLE_USERS), "--stage", "prod")


def test_an_undefined_stage_or_an_unknown_stage_key_is_one_line(tmp_path):
    result = golive("template", str(EXAMPLE_USERS), "--stage", "qa")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "stage 'qa' is not defined: add [stages.qa] or pass one of dev, prod to --stage" in result.stderr
    service = service_with(tmp_path, "[stages.dev]\nmemroy = 256\n")
    result = golive("check", str(service), "--stage", "dev")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "[stages.dev] has unknown key memroy; known: memory," in result.stderr
    service = service_with(tmp_path / "b", "[stages.dev]\nmemory = 64\n")
    result = golive("package", str(service), "--stage", "dev", "-o", str(tmp_path / "dist"))
    assert result.returncode == 2
    assert "[functions.api] memory must be between 128 and 10240 MB" in result.stderr


def test_without_stages_stage_only_names_the_api_stage():
    template = render(FIXTURES / "users_like", "qa")
    assert template["Resources"]["Api"]["Properties"]["StageName"] == "qa"


def test_a_stage_sets_a_custom_domain_on_tls_1_2_with_its_dns_record(tmp_path, monkeypatch):
    service = service_with(tmp_path, """
[stages.prod]
domain = { name = "api.example.com", certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc", \
hosted_zone_id = "Z123EXAMPLE" }
""")
    template = render(service, "prod")
    assert template["Outputs"]["DomainUrl"]["Value"] == "https://api.example.com"
    assert "Domain" not in render(FIXTURES / "users_like")["Resources"]["Api"]["Properties"]
    resources = transform(template, monkeypatch)["Resources"]
    domain = next(iter(resources_of({"Resources": resources}, "AWS::ApiGateway::DomainName").values()))
    assert domain["Properties"]["DomainName"] == "api.example.com"
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert resources_of({"Resources": resources}, "AWS::Route53::RecordSetGroup")


def test_a_domain_without_a_certificate_is_one_line(tmp_path):
    service = service_with(tmp_path, '[stages.prod]\ndomain = { name = "api.example.com" }\n')
    result = golive("template", str(service))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "[api] domain needs a name and an ACM certificate_arn" in result.stderr
