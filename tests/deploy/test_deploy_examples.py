"""The Users reference service (examples/users) through golive template and golive check.

cfn-lint, checkov and the SAM transform already cover it (it is one of SERVICES); these tests assert what its
template holds and what the audit says about it."""

from __future__ import annotations

import json

import pytest
from deploy_helpers import EXAMPLE_USERS, golive, resources_of

from golive.check.audit import audit
from golive.deploy.cfn import dump_yaml

pytestmark = pytest.mark.skipif(not (EXAMPLE_USERS / "golive.toml").exists(), reason="examples/users not present")

# Items the template itself decides: the generated template must pass every one (multi-region may instead be
# accepted in [check] accept, which the template records).
TEMPLATE_ITEMS = {
    "observability.detailed_metrics", "observability.latency_alarms", "observability.error_rate_alarms",
    "observability.success_rate_alarms", "observability.tracing", "observability.tags", "security.throttling",
    "security.waf_rate_limit", "security.waf_sqli", "security.authentication", "security.request_validation",
    "performance.timeouts",
}


@pytest.fixture(scope="module")
def users(templates):
    return templates["examples_users"]


def test_every_users_route_gets_its_alarm_set(users):
    facts = users["Metadata"]["golive"]["routes"]
    assert {"POST /users", "GET /users", "GET /users/{id}", "PUT /users/{id}", "DELETE /users/{id}",
            "GET /health"} <= set(facts)
    alarms = resources_of(users, "AWS::CloudWatch::Alarm")
    for key in facts:
        method, path = key.split(" ")
        mine = [a for a in alarms.values() if
                {"Name": "Resource", "Value": path} in (a["Properties"].get("Dimensions") or [])
                and {"Name": "Method", "Value": method} in a["Properties"]["Dimensions"]]
        assert len(mine) == 3, key  # p90, p95, p99; the three rate alarms use metric math
    assert "UsersTableSystemErrorsAlarm" in alarms


def test_the_table_and_function_follow_the_users_golive_toml(users):
    table = users["Resources"]["UsersTable"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_created"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    variables = users["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["USERS_TABLE"] == {"Ref": "UsersTable"}
    assert "dev_secret" not in json.dumps(users) and "users-dev-secret" not in json.dumps(users)
    assert users["Resources"]["Api"]["Properties"]["Auth"]["DefaultAuthorizer"] == "CognitoAuthorizer"


def test_the_generated_users_template_passes_every_template_item(users, tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text(dump_yaml(users))
    results = {r.id: r for r in audit(template_file=str(path)).results}
    for item in TEMPLATE_ITEMS:
        assert results[item].status == "pass", (item, results[item].evidence)
    failing = {i for i, r in results.items() if r.status == "fail"}
    assert failing <= {"resilience.multi_region"}, failing


def test_golive_check_on_the_users_directory_scores_100_on_evidence():
    result = golive("check", str(EXAMPLE_USERS), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr  # the default level: no failed item
    report = json.loads(result.stdout)
    assert len(report["items"]) == 23
    assert report["score"] == 100 and report["ok"] is True and report["failed"] == 0, [
        (i["id"], i["reason"]) for i in report["items"] if i["status"] == "fail"]
    items = {i["id"]: i for i in report["items"]}
    for item in report["items"]:
        if item["status"] == "pass":
            assert item["evidence"], item["id"]
        else:  # nothing is n/a for the showcase unless it is a decision written down in golive.toml
            assert item["status"] == "n/a" and item["reason"].startswith("accepted: "), item["id"]
            assert len(item["reason"]) > 200, item["id"]  # a reason a person wrote, not a placeholder
    assert {i for i, item in items.items() if item["status"] == "n/a"} == {"resilience.multi_region"}
    assert "point-in-time recovery" in items["resilience.multi_region"]["reason"]
    # The code items pass on the Users service's own evidence.
    assert any("users/store/dynamodb.py" in e and "CircuitBreaker" in e
               for e in items["resilience.circuit_breakers"]["evidence"])
    assert any(e.startswith("loadtest.py:") for e in items["testing.load"]["evidence"])
    assert any(e.startswith("tests/test_contract.py:") and "(live responses checked against the OpenAPI document)" in e
               for e in items["testing.contract"]["evidence"])
    assert any(e.startswith(".github/workflows/golive.yml:") and "golive verify" in e
               for e in items["testing.pipeline"]["evidence"])
    assert "openapi.json (describes every route)" in items["documentation.openapi"]["evidence"]
    e2e = items["testing.end_to_end"]["evidence"]
    assert any(e.startswith("tests/test_contract.py:") for e in e2e)
    if (EXAMPLE_USERS.parents[1] / "tests" / "e2e" / "test_users_http.py").exists():
        assert any("tests/e2e/test_users_http.py" in e and "repository test of this service" in e for e in e2e)
