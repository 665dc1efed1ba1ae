"""Gradual deployment: every function ships behind a live alias that CodeDeploy shifts (canary on prod, all at once
elsewhere), rolled back by the generated alarms, after a generated pre-traffic hook. Checked on the real SAM
transform's output."""

from __future__ import annotations

import json
import re

import pytest
from deploy_helpers import EXAMPLE_USERS, FIXTURES, golive, render, resources_of
from test_deploy_sam import transform
from test_deploy_stages import service_with


def test_prod_shifts_traffic_by_canary_rolled_back_by_the_generated_alarms(monkeypatch):
    template = render(EXAMPLE_USERS, "prod")
    function = template["Resources"]["ApiFunction"]["Properties"]
    assert function["AutoPublishAlias"] == "live"
    preference = function["DeploymentPreference"]
    assert preference["Type"] == "Canary10Percent5Minutes"
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "ApiPreTrafficHook"}}
    resources = transform(template, monkeypatch)["Resources"]
    group = next(iter(resources_of({"Resources": resources}, "AWS::CodeDeploy::DeploymentGroup").values()))
    properties = group["Properties"]
    assert properties["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == "Canary10Percent5Minutes"
    assert "DEPLOYMENT_STOP_ON_ALARM" in properties["AutoRollbackConfiguration"]["Events"]
    watched = [alarm["Name"]["Ref"] for alarm in properties["AlarmConfiguration"]["Alarms"]]
    assert watched[:2] == ["ApiFunctionErrorRateAlarm", "ApiFunctionThrottlesAlarm"]
    assert len(watched) <= 10  # CodeDeploy's limit per deployment group
    for alarm in watched:
        assert resources[alarm]["Type"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
    # Users has more routes than CodeDeploy takes alarms: their 5xx-rate and p99 alarms fold into one composite.
    rule = json.dumps(resources["ApiRoutesReleaseAlarm"]["Properties"]["AlarmRule"])
    route_alarms = re.findall(r"\$\{(\w+)\.Arn\}", rule)
    routes = [k for k in template["Resources"] if k.endswith("5XXRateAlarm")]
    assert sorted(a for a in route_alarms if a.endswith("5XXRateAlarm")) == sorted(routes)
    assert len([a for a in route_alarms if a.endswith("LatencyP99Alarm")]) == len(routes)
    # The API calls the alias, so shifting the alias shifts the API's traffic.
    body = resources["Api"]["Properties"]["Body"]
    uris = {json.dumps(op["x-amazon-apigateway-integration"]["uri"]) for ops in body["paths"].values()
            for verb, op in ops.items() if verb != "options"}
    assert uris and all("ApiFunctionAliaslive" in uri for uri in uris)
    assert resources["ApiFunctionAliaslive"]["Type"] == "AWS::Lambda::Alias"


def test_a_service_with_few_routes_lists_each_route_alarm_directly(monkeypatch):
    template = render(FIXTURES / "users_http")
    alarms = [a["Ref"] for a in template["Resources"]["ApiFunction"]["Properties"]["DeploymentPreference"]["Alarms"]]
    routes = [k[: -len("5XXRateAlarm")] for k in template["Resources"] if k.endswith("5XXRateAlarm")]
    if len(routes) * 2 + 2 <= 10:
        assert alarms == ["ApiFunctionErrorRateAlarm", "ApiFunctionThrottlesAlarm",
                          *[a for r in routes for a in (f"{r}5XXRateAlarm", f"{r}LatencyP99Alarm")]]
    else:
        assert alarms[2] == "ApiRoutesReleaseAlarm"


def test_dev_releases_at_once_and_the_type_and_provisioned_concurrency_are_configurable(tmp_path, monkeypatch):
    assert render(FIXTURES / "users_like", "qa")["Resources"]["ApiFunction"]["Properties"][
        "DeploymentPreference"]["Type"] == "AllAtOnce"
    service = service_with(tmp_path, """
[deployment]
type = "Linear10PercentEvery1Minute"

[stages.prod]
provisioned_concurrency = 3
""")
    template = render(service, "prod")
    function = template["Resources"]["ApiFunction"]["Properties"]
    assert function["DeploymentPreference"]["Type"] == "Linear10PercentEvery1Minute"
    resources = transform(template, monkeypatch)["Resources"]
    alias = resources["ApiFunctionAliaslive"]["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 3}


@pytest.mark.parametrize(("extra", "message"), [
    ('[deployment]\ntype = "Canary50Percent"\n', "[deployment] type 'Canary50Percent' is not a CodeDeploy Lambda"),
    ("[stages.prod]\nprovisioned_concurrency = 500\n", "provisioned_concurrency must be a whole number from 1 to"),
])
def test_bad_release_settings_are_one_line(tmp_path, extra, message):
    service = service_with(tmp_path, extra)
    result = golive("template", str(service))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_the_hook_smokes_public_routes_and_health_of_the_version_being_deployed(monkeypatch):
    template = render(EXAMPLE_USERS, "prod")
    hook = template["Resources"]["ApiPreTrafficHook"]["Properties"]
    variables = hook["Environment"]["Variables"]
    assert json.loads(variables["GOLIVE_HOOK_REQUESTS"])[0] == ["GET", "/health"]
    assert hook["Handler"] == "golive.deploy.pretraffic.handler"
    resources = transform(template, monkeypatch)["Resources"]
    target = resources["ApiPreTrafficHook"]["Properties"]["Environment"]["Variables"]["GOLIVE_HOOK_TARGET"]
    assert resources[target["Ref"]]["Type"] == "AWS::Lambda::Version"  # the new version, not $LATEST
    name = resources["ApiPreTrafficHook"]["Properties"]["FunctionName"]["Fn::Sub"]
    assert name.startswith("CodeDeployHook_")  # the only names CodeDeploy's Lambda role may invoke
