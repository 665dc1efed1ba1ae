"""What `golive template` writes: alarms per method, metric math, models, least-privilege IAM, WAF, logs, tags."""

from __future__ import annotations

import json
import re

import pytest
from deploy_helpers import FIXTURES, copy_service, golive, render, resources_of

from golive.check.model import references
from golive.deploy.cfn import load_yaml
from golive.local.apigw.throttling import Throttler
from golive.service.config import load_config
from golive.service.settings import api_settings

USERS_ROUTES = ["GET /health", "POST /users", "GET /users", "GET /users/{id}", "PUT /users/{id}",
                "DELETE /users/{id}"]


@pytest.fixture(scope="module")
def users(templates):
    return templates["users_like"]


def _alarms_for(template, method, path):
    found = {}
    for logical, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        dims = [props.get("Dimensions") or []] + [m["MetricStat"]["Metric"]["Dimensions"]
                                                   for m in props.get("Metrics") or [] if "MetricStat" in m]
        for dimension_set in dims:
            values = {d["Name"]: d["Value"] for d in dimension_set}
            if values.get("Resource") == path and values.get("Method") == method:
                found[logical] = props
                break
    return found


def test_one_alarm_set_per_method_on_latency_percentiles_and_rates(users):
    for key in USERS_ROUTES:
        method, path = key.split(" ")
        alarms = _alarms_for(users, method, path)
        assert len(alarms) == 6, (key, sorted(alarms))
        latency = [a for a in alarms.values() if a.get("MetricName") == "Latency"]
        assert sorted(a["ExtendedStatistic"] for a in latency) == ["p90", "p95", "p99"]
        for alarm in latency:
            assert alarm["Namespace"] == "AWS/ApiGateway"
            assert [d["Name"] for d in alarm["Dimensions"]] == ["ApiName", "Stage", "Resource", "Method"]
            assert alarm["Dimensions"][0]["Value"] == {"Fn::Sub": "${AWS::StackName}-api"}
            assert alarm["Dimensions"][1]["Value"] == "prod"
        assert not [a for a in alarms.values() if a.get("MetricName") == "IntegrationLatency"]


def test_error_and_success_rates_use_metric_math_with_a_minimum_traffic_guard(users):
    alarms = _alarms_for(users, "GET", "/users/{id}")
    math = {logical: a for logical, a in alarms.items() if a.get("Metrics")}
    assert len(math) == 3  # 4xx rate, 5xx rate, success rate
    for alarm in math.values():
        expressions = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
        assert len(expressions) == 1
        assert re.match(r"IF\(FILL\(requests, 0\) >= 20, 100 \* .+ / requests, (0|100)\)", expressions[0])
        names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
        assert "Count" in names
        assert alarm["TreatMissingData"] == "notBreaching"
    success = next(a for a in math.values() if a["ComparisonOperator"] == "LessThanThreshold")
    assert success["Threshold"] == 95
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in success["Metrics"] if "MetricStat" in m} == {
        "Count", "4XXError", "5XXError"}
    server = next(a for a in math.values() if "5xx" in a["AlarmName"]["Fn::Sub"])
    assert server["Threshold"] == 1 and server["AlarmActions"] == [{"Ref": "CriticalAlarmTopic"}]


def test_route_threshold_overrides_apply_to_that_route_only(users):
    p99 = {a["Dimensions"][2]["Value"] + " " + a["Dimensions"][3]["Value"]: a["Threshold"]
           for a in resources_of(users, "AWS::CloudWatch::Alarm").values()
           if a["Properties"].get("ExtendedStatistic") == "p99" and a["Properties"].get("Namespace") == "AWS/ApiGateway"
           for a in [a["Properties"]]}
    assert p99["/users GET"] == 2500  # [alarms.routes."GET /users"]
    assert p99["/users/{id} GET"] == 2000  # [alarms] latency_p99_ms


def test_function_and_table_alarms(users):
    alarms = resources_of(users, "AWS::CloudWatch::Alarm")
    api = {k: a["Properties"] for k, a in alarms.items() if k.startswith("ApiFunction")}
    assert sorted(api) == ["ApiFunctionConcurrencyAlarm", "ApiFunctionDurationAlarm", "ApiFunctionErrorRateAlarm",
                           "ApiFunctionThrottlesAlarm"]
    assert api["ApiFunctionDurationAlarm"]["Threshold"] == 2400  # 80 % of the 3 s timeout
    assert api["ApiFunctionDurationAlarm"]["ExtendedStatistic"] == "p99"
    assert api["ApiFunctionConcurrencyAlarm"]["Threshold"] == 40  # 80 % of the reserve of 50
    assert "IF(FILL(invocations, 0) >= 20" in api["ApiFunctionErrorRateAlarm"]["Metrics"][2]["Expression"]
    table = {k: a["Properties"] for k, a in alarms.items() if k.startswith("UsersTable")}
    assert sorted(table) == ["UsersTableSystemErrorsAlarm", "UsersTableThrottlesAlarm"]
    operations = {d["Value"] for m in table["UsersTableSystemErrorsAlarm"]["Metrics"] if "MetricStat" in m
                  for d in m["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "Operation"}
    assert {"GetItem", "PutItem", "Query", "DeleteItem"} <= operations


def test_alarm_topics_are_encrypted_and_mail_oncall(users):
    topics = resources_of(users, "AWS::SNS::Topic")
    assert sorted(topics) == ["CriticalAlarmTopic", "WarningAlarmTopic"]
    assert all(t["Properties"]["KmsMasterKeyId"] == {"Ref": "ServiceKey"} for t in topics.values())
    subscriptions = resources_of(users, "AWS::SNS::Subscription").values()
    assert {(s["Properties"]["TopicArn"]["Ref"], s["Properties"]["Endpoint"]) for s in subscriptions} == {
        ("CriticalAlarmTopic", "oncall@example.com"), ("WarningAlarmTopic", "oncall@example.com")}
    policy = users["Resources"]["ServiceKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in policy)


def test_functions_are_arm64_short_traced_reserved_and_log_to_their_own_encrypted_group(users):
    function = users["Resources"]["ApiFunction"]["Properties"]
    assert function["Architectures"] == ["arm64"] and function["Runtime"] in ("python3.12", "python3.13")
    assert function["Timeout"] == 3 and function["MemorySize"] == 512
    assert function["ReservedConcurrentExecutions"] == 50
    assert function["Tracing"] == "Active"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "ApiLogGroup"}
    log_group = users["Resources"]["ApiLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == 365
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": ["ServiceKey", "Arn"]}
    for event in function["Events"].values():
        if event["Type"] == "Api":
            assert event["Properties"]["TimeoutInMillis"] == 4000  # above the function's 3 s, below 29 s
    skips = users["Resources"]["ApiFunction"]["Metadata"]["checkov"]["skip"]
    assert all(len(s["comment"]) > 40 for s in skips)


def test_iam_allows_only_the_tables_actions_on_its_arn_and_indexes(users):
    role = users["Resources"]["ApiRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert dynamo[0]["Resource"] == {"Fn::GetAtt": ["UsersTable", "Arn"]}
    assert dynamo[1]["Resource"] == [{"Fn::Sub": "${UsersTable.Arn}/index/by_email"}]
    assert set(dynamo[1]["Action"]) == {"dynamodb:Query", "dynamodb:Scan"}
    for statement in statements:
        assert all("*" not in action for action in statement["Action"])
        if statement["Resource"] == "*":
            assert statement["Action"] == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_multi_function_roles_only_reach_their_own_tables(templates):
    template = templates["users_multi"]
    def actions(role):
        statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        return {(a, next(iter(references(s["Resource"])), "")) for s in statements for a in s["Action"]
                if a.startswith("dynamodb:")}
    assert actions("ApiRole") == {("dynamodb:DeleteItem", "UsersTable"), ("dynamodb:GetItem", "UsersTable"),
                                  ("dynamodb:PutItem", "UsersTable"), ("dynamodb:Query", "UsersTable")}
    assert ("dynamodb:PutItem", "AuditTable") in actions("AdminRole")
    assert not any(t == "AuditTable" for _, t in actions("ApiRole"))
    admin = template["Resources"]["AdminFunction"]["Properties"]
    assert admin["Environment"]["Variables"]["AUDIT_TABLE"] == {"Ref": "AuditTable"}
    assert "AUDIT_TABLE" not in template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    routes = {e["Properties"]["Path"] + " " + e["Properties"]["Method"]: f
              for f in ("ApiFunction", "AdminFunction")
              for e in template["Resources"][f]["Properties"]["Events"].values()}
    assert routes["/users/{id}/ban POST"] == "AdminFunction" and routes["/catalog GET"] == "ApiFunction"
    assert routes["/users/{id} OPTIONS"]  # several CORS origins: preflight goes to the app


def test_table_is_on_demand_recoverable_encrypted_and_retained(users):
    table = users["Resources"]["UsersTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["GlobalSecondaryIndexes"][0]["IndexName"] == "by_email"
    assert users["Resources"]["ServiceKey"]["DeletionPolicy"] == "Retain"  # the retained table stays readable
    assert users["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]["USERS_TABLE"] == {
        "Ref": "UsersTable"}


def test_rest_api_stage_logs_metrics_throttles_and_traces_every_method(users):
    api = users["Resources"]["Api"]["Properties"]
    assert api["TracingEnabled"] is True and api["StageName"] == "prod"
    log_format = json.loads(api["AccessLogSetting"]["Format"])
    for field in ("requestId", "status", "responseLatency", "integrationLatency", "integrationStatus",
                  "integrationErrorMessage", "authorizerError", "authorizerLatency", "errorResponseType",
                  "sourceIp", "userAgent", "xrayTraceId", "wafResponseCode"):
        assert field in log_format
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    assert settings[("/*", "*")]["MetricsEnabled"] is True
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == 200
    assert settings[("/~1users", "POST")]["ThrottlingRateLimit"] == 20  # the route's own throttle
    assert settings[("/~1users~1{id}", "GET")]["ThrottlingBurstLimit"] == 50
    assert len(settings) == 1 + len(USERS_ROUTES)


def test_request_validators_and_models_match_the_route_schemas(users):
    api = users["Resources"]["Api"]["Properties"]
    body = api["DefinitionBody"]
    assert body["paths"]["/users"]["post"]["x-amazon-apigateway-request-validator"] == "body-and-params"
    assert body["paths"]["/users"]["get"]["x-amazon-apigateway-request-validator"] == "params-only"
    assert body["x-amazon-apigateway-request-validators"]["body-and-params"]["validateRequestBody"] is True
    model = api["Models"]["PostUsersRequest"]
    assert model["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert model["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 100}  # $ref inlined
    assert model["properties"]["age"] == {"type": "integer", "minimum": 0, "maximum": 151, "exclusiveMaximum": True}
    assert model["properties"]["kind"] == {"enum": ["person"]}
    assert model["additionalProperties"] is False and model["required"] == ["name", "email"]
    events = users["Resources"]["ApiFunction"]["Properties"]["Events"]
    post = events["PostUsers"]["Properties"]
    assert post["RequestModel"] == {"Model": "PostUsersRequest", "Required": True, "ValidateBody": True,
                                    "ValidateParameters": True}
    put = events["PutUsersId"]["Properties"]
    assert {"method.request.header.if-match": {"Required": True, "Caching": False}} in put["RequestParameters"]
    listing = events["GetUsers"]["Properties"]["RequestParameters"]
    assert {"method.request.querystring.limit": {"Required": False, "Caching": False}} in listing


def test_authorizer_api_keys_and_cors(users):
    api = users["Resources"]["Api"]["Properties"]
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "JwtAuthorizer"
    assert auth["Authorizers"]["JwtAuthorizer"]["FunctionPayloadType"] == "TOKEN"
    assert auth["ApiKeyRequired"] is True
    assert auth["UsagePlan"]["Quota"] == {"Limit": 100000, "Period": "MONTH"}
    assert api["Cors"]["AllowOrigin"] == "'https://app.example.com'"
    health = users["Resources"]["ApiFunction"]["Properties"]["Events"]["GetHealth"]["Properties"]
    assert health["Auth"] == {"Authorizer": "NONE", "ApiKeyRequired": False}
    authorizer = users["Resources"]["AuthorizerFunction"]["Properties"]
    assert authorizer["Handler"] == "golive.security.authorizer.handler"
    assert authorizer["Environment"]["Variables"]["GOLIVE_JWKS_URL"].endswith("/jwks.json")
    problem = api["GatewayResponses"]["BAD_REQUEST_BODY"]
    assert problem["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"


def test_waf_is_associated_with_the_stage(users):
    acl = users["Resources"]["WebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL"
    names = [r["Name"] for r in acl["Rules"]]
    assert names == ["ip-rate-limit", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                     "AWSManagedRulesSQLiRuleSet"]
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"] == {"Limit": 1000, "AggregateKeyType": "IP",
                                                                   "EvaluationWindowSec": 300}
    association = users["Resources"]["WebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    assert "/restapis/${Api}/stages/${Api.Stage}" in association["ResourceArn"]["Fn::Sub"]
    logging = users["Resources"]["WafLogging"]["Properties"]
    assert logging["LoggingFilter"]["DefaultBehavior"] == "DROP"  # only blocked/counted requests: cheap


def test_dashboard_charts_routes_cold_starts_and_business_metrics(users):
    body = json.loads(users["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    for key in USERS_ROUTES:
        assert f"{key}: latency (ms)" in titles and f"{key}: error rates (%)" in titles
    metrics = [row for w in body["widgets"] for row in w["properties"].get("metrics", [])]
    assert ["userslike", "ColdStart", "service", "userslike", "route", "GET /users/{id}",
            {"label": "cold starts", "yAxis": "right"}] in metrics
    custom = [row for row in metrics if row[:2] == ["userslike", "UserCreated"]]
    assert custom and custom[0][2:4] == ["service", "userslike"]
    latency = next(w for w in body["widgets"] if w["properties"].get("title") == "GET /users: latency (ms)")
    assert [row[-1]["stat"] for row in latency["properties"]["metrics"]] == ["p50", "p90", "p95", "p99"]
    assert any("Throttles" in str(row) for row in metrics)


def test_secrets_are_references_never_values(users):
    variables = users["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PEPPER"] == "{{resolve:ssm:/userslike/pepper}}"
    assert variables["PARTNER_TOKEN"] == "{{resolve:secretsmanager:userslike/partner:SecretString:token}}"
    assert "GOLIVE_JWT_SECRET" not in variables  # the dev secret never leaves the laptop


def test_an_inline_secret_is_refused_with_one_line(tmp_path):
    service = tmp_path / "leaky"
    service.mkdir()
    (service / "handler.py").write_text("from golive import App\napp = App('leaky')\nhandler = app.handler\n")
    (service / "golive.toml").write_text('service = "leaky"\n[functions.api]\nhandler = "handler.handler"\n'
                                         'environment = { DB_PASSWORD = "hunter2" }\n')
    result = golive("template", str(service))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "DB_PASSWORD looks like a secret" in result.stderr and "ssm:/path" in result.stderr


def test_every_taggable_resource_carries_the_service_tags(templates):
    from golive.check.checklist import TAGGABLE

    for name, template in templates.items():
        for logical, resource in template["Resources"].items():
            if resource["Type"] not in TAGGABLE:
                continue
            tags = resource["Properties"]["Tags"]
            keys = set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags}
            assert {"service", "stage"} <= keys, (name, logical)
    assert {t["Key"]: t["Value"] for t in templates["users_like"]["Resources"]["UsersTable"]["Properties"]["Tags"]
            } == {"service": "userslike", "stage": "prod", "team": "identity", "cost-centre": "cc-1234",
                  "feature": "users"}


def test_http_api_variant_has_route_metrics_and_jwt_but_no_waf_or_models(templates):
    template = templates["users_http"]
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert api["RouteSettings"]["POST /users"]["ThrottlingRateLimit"] == 50
    jwt = api["Auth"]["Authorizers"]["CognitoAuthorizer"]["JwtConfiguration"]
    assert jwt["issuer"].startswith("https://cognito-idp.eu-west-1.amazonaws.com/")
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://app.example.com"]
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::WAFv2::WebACL" not in kinds and "AWS::WAFv2::WebACLAssociation" not in kinds
    assert "Models" not in api and "TracingEnabled" not in api
    latency = [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == "Latency"]
    assert {d["Name"] for d in latency[0]["Dimensions"]} == {"ApiId", "Stage", "Route"}
    assert {d["Value"] for a in latency for d in a["Dimensions"] if d["Name"] == "Route"} == {
        "GET /health", "POST /users", "GET /users/{id}"}
    assert template["Resources"]["ApiFunction"]["Properties"]["Tracing"] == "Active"


def test_golive_template_cli_writes_yaml_that_reads_back(tmp_path):
    output = tmp_path / "out" / "template.yaml"
    result = golive("template", str(FIXTURES / "users_like"), "-o", str(output), "--stage", "beta")
    assert result.returncode == 0, result.stderr
    assert "46 alarms" in result.stderr and "stage beta" in result.stderr
    template = load_yaml(output.read_text())
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["Api"]["Properties"]["StageName"] == "beta"
    code_uri = template["Resources"]["ApiFunction"]["Properties"]["CodeUri"]
    assert (output.parent / code_uri).resolve() == (FIXTURES / "users_like" / "dist" / "userslike.zip").resolve()
    assert "!" not in output.read_text().split("Resources:")[1].split("\n")[0]  # plain YAML, no custom tags


def test_route_table_facts_are_recorded_for_the_audit(users):
    facts = users["Metadata"]["golive"]["routes"]
    assert facts["GET /health"]["public"] is True and facts["GET /health"]["health"] is True
    assert facts["GET /users/{id}"]["cache_control"] == "private, max-age=60"
    assert facts["DELETE /users/{id}"]["roles"] == ["admin"]


def test_gateway_errors_are_problem_json_echoing_x_request_id_unless_aws_defaults_are_asked_for(users, tmp_path):

    responses = users["Resources"]["Api"]["Properties"]["GatewayResponses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED"):
        headers = responses[kind]["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'"
        assert headers["X-Request-ID"] == "method.request.header.X-Request-ID"
        assert '"requestId":"$context.requestId"' in responses[kind]["ResponseTemplates"]["application/json"]
    service = copy_service("users_like", tmp_path / "svc")
    config = service / "golive.toml"
    config.write_text(config.read_text().replace("[api]\n", '[api]\ngateway_responses = "aws"\n', 1))
    assert "GatewayResponses" not in render(service)["Resources"]["Api"]["Properties"]


def test_functions_get_the_cors_origins_in_aws_as_they_do_locally(tmp_path):
    from golive.service.config import load_config

    service = copy_service("users_like", tmp_path / "svc")
    config = service / "golive.toml"
    text = config.read_text()
    text = "\n".join(line for line in text.splitlines() if "cors" not in line.lower())  # drop any CORS setting
    config.write_text(text.replace("[api]\n", '[api]\ncors = { origins = ["https://a.example.com", '
                                               '"https://b.example.com"] }\n', 1) + "\n")
    template = render(service)
    expected = "https://a.example.com,https://b.example.com"
    for function in resources_of(template, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["GOLIVE_CORS_ALLOW_ORIGINS"] == expected
    loaded = load_config(service)
    assert loaded.local_environment(loaded.functions["api"])["GOLIVE_CORS_ALLOW_ORIGINS"] == expected


def test_aliases_mean_the_same_in_the_template_as_in_the_local_gateway(tmp_path):
    service = copy_service("users_like", tmp_path)
    text = (service / "golive.toml").read_text()
    assert "throttling = { rate = 200, burst = 50 }" in text and '[auth]\ntype = "jwt"' in text
    (service / "golive.toml").write_text(text.replace("throttling = {", "throttle = {")
                                         .replace('[auth]\ntype = "jwt"', '[auth]\ntype = "jwt"\nttl = 60'))
    config = load_config(service)
    assert config.api["throttling"] == {"rate": 200, "burst": 50} and "throttle" not in config.api
    assert config.auth["cache_ttl"] == 60
    rendered = json.dumps(render(service))
    assert re.findall(r'"ReauthorizeEvery": (\d+)', rendered) == ["60"]  # the alias no longer falls back to 300
    assert Throttler(api_settings(config)).stage == (200.0, 50)  # the local gateway reads the same limits


def test_a_key_and_its_alias_with_different_values_are_refused_with_one_line(tmp_path):
    service = copy_service("users_like", tmp_path)
    text = (service / "golive.toml").read_text()
    (service / "golive.toml").write_text(text.replace("throttling = {", "throttle = { rate = 5, burst = 5 }\n"
                                                                        "throttling = {"))
    result = golive("template", str(service))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "[api] sets both throttling and its alias throttle; keep throttling" in result.stderr
