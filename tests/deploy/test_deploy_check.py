"""`golive check`: a full score for what golive generates, and on weakened templates each missing item by name."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable

import pytest
from deploy_helpers import FIXTURES, copy_service, golive, resources_of

from golive.check.audit import audit
from golive.check.checklist import ITEMS
from golive.deploy.cfn import dump_yaml

CODE_ITEMS = {"resilience.circuit_breakers", "testing.end_to_end", "testing.contract", "testing.load",
              "testing.pipeline", "documentation.openapi"}


def run_audit(template: dict, tmp_path, name: str = "t") -> dict[str, dict]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(dump_yaml(template))
    result = audit(template_file=str(path))
    return {r.id: r.as_dict() for r in result.results}


def test_the_checklist_covers_every_item_of_seed_003():
    counts: dict[str, int] = {}
    for item in ITEMS:
        counts[item.category] = counts.get(item.category, 0) + 1
    # seed 003's 21 items, plus gradual deployment (resilience) and the pipeline (testing) for releasing safely
    assert counts == {"observability": 7, "security": 6, "performance": 2, "resilience": 3, "testing": 4,
                      "documentation": 1}


def test_a_generated_service_scores_100_and_exits_zero(tmp_path):
    service = copy_service("users_like", tmp_path)
    result = golive("check", str(service), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["score"] == 100 and report["ok"] is True and report["failed"] == 0
    items = {i["id"]: i for i in report["items"]}
    assert items["resilience.multi_region"]["status"] == "n/a"
    assert items["resilience.multi_region"]["reason"].startswith("accepted: single region for launch")
    assert items["testing.load"]["evidence"] == ["locustfile.py"]
    assert any("CircuitBreaker" in line for line in items["resilience.circuit_breakers"]["evidence"])
    for item in report["items"]:
        if item["status"] == "pass":
            assert item["evidence"], item["id"]


def test_the_bare_generated_template_scores_100_with_code_items_not_applicable(templates, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(dump_yaml(templates["users_like"]))
    result = golive("check", "--template", str(path))
    assert result.returncode == 0, result.stdout
    assert "score 100/100" in result.stdout and "Ready to go live." in result.stdout
    report = {r.id: r for r in audit(template_file=str(path)).results}
    assert {i for i, r in report.items() if r.status == "n/a"} == CODE_ITEMS | {"resilience.multi_region"}
    assert "service directory" in report["testing.end_to_end"].reason
    assert report["security.response_validation"].status == "pass"  # from the route facts golive records


def _drop_throttling(t):
    for setting in t["Resources"]["Api"]["Properties"]["MethodSettings"]:
        setting.pop("ThrottlingRateLimit")
        setting.pop("ThrottlingBurstLimit")


def _drop_tracing(t):
    t["Resources"]["Api"]["Properties"]["TracingEnabled"] = False
    t["Resources"]["ApiFunction"]["Properties"].pop("Tracing")


def _drop_waf(t):
    for logical in ("WebAcl", "WebAclAssociation", "WafLogging", "WafLogGroup"):
        del t["Resources"][logical]


def _drop_sqli_rule(t):
    rules = t["Resources"]["WebAcl"]["Properties"]["Rules"]
    rules[:] = [r for r in rules if r["Name"] != "AWSManagedRulesSQLiRuleSet"]


def _count_only_rate_rule(t):
    t["Resources"]["WebAcl"]["Properties"]["Rules"][0]["Action"] = {"Count": {}}


def _drop_alarms(t):
    for logical in resources_of(t, "AWS::CloudWatch::Alarm"):
        del t["Resources"][logical]


def _integration_latency_alarms(t):
    for alarm in resources_of(t, "AWS::CloudWatch::Alarm").values():
        if alarm["Properties"].get("MetricName") == "Latency":
            alarm["Properties"]["MetricName"] = "IntegrationLatency"


def _error_counts_not_rates(t):
    for logical, alarm in list(resources_of(t, "AWS::CloudWatch::Alarm").items()):
        if "XXRateAlarm" in logical:  # replace the metric math by a plain error count
            props = alarm["Properties"]
            errors = props.pop("Metrics")[1]["MetricStat"]
            props.update({"Namespace": "AWS/ApiGateway", "MetricName": errors["Metric"]["MetricName"],
                          "Dimensions": errors["Metric"]["Dimensions"], "Statistic": "Sum", "Period": 60})


def _drop_auth(t):
    props = t["Resources"]["Api"]["Properties"]
    props.pop("Auth")
    for event in t["Resources"]["ApiFunction"]["Properties"]["Events"].values():
        event["Properties"].pop("Auth", None)


def _drop_validation(t):
    props = t["Resources"]["Api"]["Properties"]
    body = props["DefinitionBody"]
    body.pop("x-amazon-apigateway-request-validator")
    for operations in body["paths"].values():
        for operation in operations.values():
            operation.pop("x-amazon-apigateway-request-validator")
    for event in t["Resources"]["ApiFunction"]["Properties"]["Events"].values():
        event["Properties"].pop("RequestModel", None)


def _drop_detailed_metrics(t):
    for setting in t["Resources"]["Api"]["Properties"]["MethodSettings"]:
        setting["MetricsEnabled"] = False


def _drop_tags(t):
    t["Resources"]["UsersTable"]["Properties"].pop("Tags")


def _long_timeout(t):
    t["Resources"]["ApiFunction"]["Properties"]["Timeout"] = 10


def _drop_route_facts(t):
    t["Metadata"].pop("golive")


WEAKENED: list[tuple[str, Callable[[dict], None], dict[str, list[str]]]] = [
    ("no throttling", _drop_throttling, {"security.throttling": [
        "no throttle", "POST /users", "GET /users/{id}", "DELETE /users/{id}", "GET /health"]}),
    ("no tracing", _drop_tracing, {"observability.tracing": ["X-Ray tracing off on: ApiFunction, Api (stage)"]}),
    ("no WAF", _drop_waf, {"security.waf_rate_limit": ["Api has no web ACL"],
                           "security.waf_sqli": ["Api has no web ACL"]}),
    ("WAF without SQLi", _drop_sqli_rule, {"security.waf_sqli": ["WebAcl (on Api) has no SQL-injection rule"]}),
    ("rate rule only counts", _count_only_rate_rule, {"security.waf_rate_limit": ["COUNT only"]}),
    ("no alarms", _drop_alarms, {
        "observability.latency_alarms": ["no tail-latency", "POST /users", "PUT /users/{id}"],
        "observability.error_rate_alarms": ["no 4xx and 5xx rate alarms", "DELETE /users/{id}"],
        "observability.success_rate_alarms": ["no low-success-rate alarm", "GET /users"],
        # the canary's rollback alarms are gone too
        "resilience.gradual_deployment": ["ApiFunction.DeploymentPreference names alarms the template lacks"]}),
    ("IntegrationLatency", _integration_latency_alarms, {"observability.latency_alarms": [
        "IntegrationLatency alarms found"]}),
    ("error counts", _error_counts_not_rates, {"observability.error_rate_alarms": ["POST /users"]}),
    ("no auth", _drop_auth, {"security.authentication": [
        "open to anyone", "POST /users", "GET /users/{id}", "DELETE /users/{id}"]}),
    ("no validation", _drop_validation, {"security.request_validation": [
        "bodies not validated at the gateway: POST /users, PUT /users/{id}"]}),
    ("no detailed metrics", _drop_detailed_metrics, {"observability.detailed_metrics": [
        "no detailed metrics on: Api"]}),
    ("untagged table", _drop_tags, {"observability.tags": ["untagged: UsersTable"]}),
    ("long timeout", _long_timeout, {"performance.timeouts": ["ApiFunction.Timeout = 10 s is not below the 4 s"]}),
]


@pytest.mark.parametrize(("label", "weaken", "expected"), WEAKENED, ids=[w[0] for w in WEAKENED])
def test_weakened_templates_name_each_missing_item(label, weaken, expected, templates, tmp_path):
    template = copy.deepcopy(templates["users_like"])
    weaken(template)
    items = run_audit(template, tmp_path)
    failed = {i for i, r in items.items() if r["status"] == "fail"}
    assert failed == set(expected), (label, failed)
    for item_id, fragments in expected.items():
        text = " | ".join(items[item_id]["evidence"])
        for fragment in fragments:
            assert fragment in text, (item_id, fragment, text)
        assert items[item_id]["fix"]


def test_without_golive_route_facts_code_properties_are_not_applicable(templates, tmp_path):
    template = copy.deepcopy(templates["users_like"])
    _drop_route_facts(template)
    items = run_audit(template, tmp_path)
    assert items["security.response_validation"]["status"] == "n/a"
    assert items["performance.caching"]["status"] == "n/a"
    assert items["resilience.multi_region"]["status"] == "fail"  # nobody accepted it in this template
    # Without the declaration that /health is public, a health path is still recognised as one.
    assert "GET /health: public health check" in items["security.authentication"]["evidence"]


def test_a_hand_written_cloudformation_template_is_audited_too():
    items = {r.id: r for r in audit(template_file=str(FIXTURES / "plain_rest.yaml")).results}
    status = {i: r.status for i, r in items.items()}
    assert status["observability.detailed_metrics"] == "pass"
    assert status["observability.tracing"] == "pass"
    assert status["security.throttling"] == "pass"
    assert status["security.waf_rate_limit"] == "pass"
    assert status["security.request_validation"] == "pass"
    assert status["security.waf_sqli"] == "fail"
    assert "no tail-latency (pNN on Latency) alarm: POST /orders" in items["observability.latency_alarms"].evidence
    assert "GET /orders: 4xx GetOrders4xx (Average); 5xx GetOrders5xx (Average)" in items[
        "observability.error_rate_alarms"].evidence
    assert "open to anyone (no authorizer, IAM or API key): POST /orders" in items[
        "security.authentication"].evidence
    assert "OrdersFunction.Timeout = 5 s exceeds 3 s for a user-facing route" in items[
        "performance.timeouts"].evidence
    assert all(items[i].status == "n/a" for i in CODE_ITEMS)


def test_http_api_variant_lists_what_an_http_api_cannot_have(tmp_path):
    service = copy_service("users_http", tmp_path)
    report = json.loads(golive("check", str(service), "--format", "json").stdout)
    items = {i["id"]: i for i in report["items"]}
    for item_id in ("security.waf_rate_limit", "security.waf_sqli", "security.request_validation"):
        assert items[item_id]["status"] == "n/a"
        assert any("HTTP APIs cannot" in line for line in items[item_id]["evidence"]), item_id
    assert any("HTTP APIs cannot trace with X-Ray at the gateway" in line
               for line in items["observability.tracing"]["evidence"])
    assert items["observability.tracing"]["status"] == "pass"  # the function still traces
    for item_id in ("observability.latency_alarms", "observability.error_rate_alarms", "security.throttling",
                    "security.authentication", "observability.detailed_metrics"):
        assert items[item_id]["status"] == "pass", item_id


def test_a_service_missing_tests_fails_those_items_and_levels_decide_the_exit(tmp_path):
    service = copy_service("users_multi", tmp_path)
    result = golive("check", str(service))
    assert result.returncode == 1
    for line in ("FAIL  End-to-end tests through the HTTP interface", "FAIL  Load tests with realistic user journeys",
                 "FAIL  Published OpenAPI spec", "FAIL  Circuit breakers with fallbacks",
                 "fix: add a Locust/k6/Artillery script"):
        assert line in result.stdout
    report = json.loads(golive("check", str(service), "--format", "json").stdout)
    assert 0 < report["score"] < 100 and report["ok"] is False
    assert golive("check", str(service), "--min-score", str(report["score"])).returncode == 0
    assert golive("check", str(service), "--min-score", str(report["score"] + 1)).returncode == 1
    assert golive("check", str(service), "--fail-on", "never").returncode == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--template", "/nonexistent/template.yaml"], "does not exist"),
    (["--template", str(FIXTURES / "users_like" / "handler.py")], "not"),
    ([], "no golive.toml in ."),  # SERVICE_DIR defaults to the current folder, which has none here
    (["--min-score", "101", "--template", str(FIXTURES / "plain_rest.yaml")], "--min-score must be between"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = golive("check", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_globals_implicit_apis_and_intrinsics_are_read_without_guessing():
    items = {r.id: r for r in audit(template_file=str(FIXTURES / "sam_globals.yaml")).results}
    assert items["observability.tracing"].status == "pass"  # Globals.Function.Tracing and Globals.Api
    assert "Fn.Tracing = Active" in items["observability.tracing"].evidence
    assert items["performance.timeouts"].status == "n/a"  # Timeout: !Ref T cannot be judged
    assert "GET /things/{id}" in items["security.throttling"].evidence[0]  # an implicit ServerlessRestApi method
    assert "ServerlessRestApi has no web ACL" in items["security.waf_rate_limit"].evidence
    assert any("HTTP APIs cannot be associated with WAF" in e for e in items["security.waf_rate_limit"].evidence)
    assert "untagged: Fn, NoProps" in items["observability.tags"].evidence


def test_a_service_directory_can_be_audited_against_a_given_template(templates, tmp_path):
    service = copy_service("users_like", tmp_path)
    weakened = copy.deepcopy(templates["users_like"])
    _drop_waf(weakened)
    path = tmp_path / "deployed.yaml"
    path.write_text(dump_yaml(weakened))
    report = json.loads(golive("check", str(service), "--template", str(path), "--format", "json").stdout)
    failed = {i["id"] for i in report["items"] if i["status"] == "fail"}
    assert failed == {"security.waf_rate_limit", "security.waf_sqli"}
    assert report["source"] == str(path)


# -- evidence a service directory (and its repository) holds -------------------------------------------------------

def _code_items(service) -> dict[str, dict]:
    return {r.id: r.as_dict() for r in audit(service_dir=str(service)).results if r.id in CODE_ITEMS}


def _in_a_repository(tmp_path):
    """users_multi (no tests, no load test, no spec) at examples/svc inside a repository of its own."""
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "examples").mkdir()
    return repository, copy_service("users_multi", repository / "examples").rename(repository / "examples" / "svc")


def test_a_load_script_of_the_projects_own_counts_when_it_sends_http_requests(tmp_path):
    service = copy_service("users_multi", tmp_path)
    (service / "loadtest.py").write_text('"""Load test."""\nimport json\n\nprint(json.dumps({"rate": 20}))\n')
    assert _code_items(service)["testing.load"]["status"] == "fail"  # a name alone is no load test
    (service / "tests").mkdir()
    (service / "tests" / "test_loadtest.py").write_text("import http.client\n")  # a test of one, not one
    assert _code_items(service)["testing.load"]["status"] == "fail"
    (service / "loadtest.py").write_text('"""Journeys at a bounded rate."""\nimport http.client\n')
    load = _code_items(service)["testing.load"]
    assert load["status"] == "pass"
    assert load["evidence"] == ["loadtest.py:2: import http.client (load test script sending HTTP requests)"]


def test_repository_tests_that_start_golive_dev_on_the_service_are_its_end_to_end_tests(tmp_path):
    repository, service = _in_a_repository(tmp_path)
    e2e = repository / "tests" / "e2e"
    e2e.mkdir(parents=True)
    (e2e / "test_other.py").write_text('"""golive dev examples/other over HTTP."""\nimport httpx\n'
                                       'SERVICE = ROOT / "examples" / "other"\n')
    assert _code_items(service)["testing.end_to_end"]["status"] == "fail"  # another service's tests
    (e2e / "test_svc.py").write_text('"""`golive dev examples/svc` in a subprocess, over real HTTP."""\n'
                                     'import httpx\nSERVICE = ROOT / "examples" / "svc"\n')
    item = _code_items(service)["testing.end_to_end"]
    assert item["status"] == "pass"
    assert item["evidence"] == ["../../tests/e2e/test_svc.py:2: import httpx (repository test of this service)"]


def test_contract_tests_pass_on_a_verification_not_on_an_import(tmp_path):
    service = copy_service("users_multi", tmp_path)
    (service / "tests").mkdir()
    (service / "tests" / "test_spec.py").write_text(
        "from openapi_spec_validator import validate\n\ndef test_valid():\n    validate(load('openapi.json'))\n")
    assert _code_items(service)["testing.contract"]["status"] == "fail"  # checks the document, not the API
    (service / "tests" / "test_pact.py").write_text(
        '"""The consumer\'s pact."""\nimport pact\nfrom jsonschema import Draft202012Validator\nimport httpx\n'
        'PACT = {"consumer": "web", "provider": "svc"}  # openapi\nURL = "http://127.0.0.1:3000"\n')
    assert _code_items(service)["testing.contract"]["status"] == "fail"  # imports and a pact verify nothing
    (service / "tests" / "test_spec.py").write_text(
        '"""Live answers against openapi.json."""\nimport httpx\nfrom jsonschema import Draft202012Validator\n'
        'URL = "http://127.0.0.1:3000"\n\ndef test_list(schema):\n'
        '    Draft202012Validator(schema).validate(httpx.get(URL + "/users").json())\n')
    item = _code_items(service)["testing.contract"]
    assert item["status"] == "pass"
    assert item["evidence"] == ['tests/test_spec.py:7: Draft202012Validator(schema).validate(httpx.get(URL + '
                                '"/users").json()) (live responses checked against the OpenAPI document)']
    (service / "tests" / "test_spec.py").unlink()
    (service / "Makefile").write_text("contracts:\n\tgolive verify $(URL) --pact pacts/web-svc.json\n")
    item = _code_items(service)["testing.contract"]
    assert item["status"] == "pass"
    assert item["evidence"] == ["Makefile:2: golive verify $(URL) --pact pacts/web-svc.json (contract verification "
                                "in CI)"]


def test_the_pipeline_item_wants_a_gate_before_and_a_check_after_each_deploy(tmp_path):
    service = copy_service("users_multi", tmp_path)
    assert _code_items(service)["testing.pipeline"]["status"] == "fail"
    workflows = service / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "deploy.yml").write_text(
        "jobs:\n  deploy:\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n"
        "          aws-access-key-id: ${{ secrets.KEY }}\n      - run: sam deploy --stack-name svc\n")
    item = _code_items(service)["testing.pipeline"]
    assert item["status"] == "fail"
    assert item["evidence"][:3] == [
        ".github/workflows/deploy.yml:6: aws-access-key-id: ${{ secrets.KEY }}: long-lived AWS keys; assume a role "
        "through OIDC (configure-aws-credentials role-to-assume)",
        ".github/workflows/deploy.yml deploys (.github/workflows/deploy.yml:7: - run: sam deploy --stack-name svc) "
        "with no test or golive check before it",
        ".github/workflows/deploy.yml deploys with nothing checking the deployed stage (golive verify)"]
    (workflows / "deploy.yml").unlink()
    assert golive("ci", str(service), "-o", str(workflows / "golive.yml")).returncode == 0
    item = _code_items(service)["testing.pipeline"]
    assert item["status"] == "pass"
    assert [e.rpartition(" (")[2] for e in item["evidence"]] == ["gate)", "deploy)", "deployed stage checked)"]


def test_a_published_spec_must_describe_the_route_table(tmp_path):
    service = copy_service("users_multi", tmp_path)
    spec = service / "openapi.json"
    assert golive("openapi", str(service), "-o", str(spec)).returncode == 0
    item = _code_items(service)["documentation.openapi"]
    assert item["status"] == "pass" and item["evidence"] == ["openapi.json (describes every route)"]
    document = json.loads(spec.read_text())
    del document["paths"]["/health"]  # a hand-written spec may leave the health check out
    spec.write_text(json.dumps(document))
    assert _code_items(service)["documentation.openapi"]["status"] == "pass"
    removed = document["paths"].pop("/catalog")
    document["paths"]["/legacy/{key}"] = removed
    spec.write_text(json.dumps(document))
    item = _code_items(service)["documentation.openapi"]
    assert item["status"] == "fail" and item["reason"] == "the published spec no longer describes the API"
    assert item["evidence"][0] == (f"openapi.json is out of date with the route table (missing GET /catalog; no "
                                   f"longer served: GET /legacy/{{}}); regenerate it with `golive openapi "
                                   f"{os.path.relpath(service)} -o {os.path.relpath(spec)}`")
