"""The API in front of the functions: a REST API (default) or an HTTP API, with access logs, per-method metrics and
throttling, tracing, request validation from the route schemas, authorizers, API keys and CORS."""

from __future__ import annotations

import json
from typing import Any

from golive.deploy.auth import AuthPlan
from golive.deploy.builder import Builder
from golive.deploy.cfn import checkov_skip, get_att, logical_id, ref, sub, tag_list
from golive.deploy.functions import add_log_group
from golive.deploy.schemas import to_draft4
from golive.deploy.service import DeployRoute, function_id
from golive.service.capacity import overload
from golive.service.config import ConfigError
from golive.service.names import STACK_VARIABLE, access_log_group
from golive.service.responses import gateway_responses
from golive.service.settings import api_settings, integration_timeout_s, number

REST_API = "Api"
HTTP_API = "HttpApi"
ACCESS_LOGS = "ApiAccessLogGroup"
API_NAME = "${AWS::StackName}-api"  # the ApiName dimension alarms and the dashboard filter on

# API Gateway's access-log variables, as JSON. Every value is quoted: absent ones render as "-".
REST_ACCESS_LOG = {
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime", "requestTimeEpoch": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath", "path": "$context.path",
    "protocol": "$context.protocol", "status": "$context.status", "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency", "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "integrationRequestId": "$context.integration.requestId",  # the Lambda request id: joins REPORT lines
    "errorMessage": "$context.error.message", "errorResponseType": "$context.error.responseType",
    "authorizerError": "$context.authorizer.error", "authorizerLatency": "$context.authorizer.integrationLatency",
    "authorizerStatus": "$context.authorizer.status", "principalId": "$context.authorizer.principalId",
    "sourceIp": "$context.identity.sourceIp", "userAgent": "$context.identity.userAgent",
    "apiKeyId": "$context.identity.apiKeyId", "wafResponseCode": "$context.wafResponseCode",
    "webAclArn": "$context.webaclArn", "xrayTraceId": "$context.xrayTraceId", "domainName": "$context.domainName",
    "stage": "$context.stage",
}
HTTP_ACCESS_LOG = {
    "requestId": "$context.requestId", "requestTime": "$context.requestTime",
    "requestTimeEpoch": "$context.requestTimeEpoch", "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey", "path": "$context.path", "protocol": "$context.protocol",
    "status": "$context.status", "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency", "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "integrationRequestId": "$context.integration.requestId",
    "errorMessage": "$context.error.message", "errorResponseType": "$context.error.responseType",
    "authorizerError": "$context.authorizer.error", "principalId": "$context.authorizer.principalId",
    "sourceIp": "$context.identity.sourceIp", "userAgent": "$context.identity.userAgent",
    "domainName": "$context.domainName", "stage": "$context.stage",
}
CACHE_REASON = ("no stage cache: the gateway cache key ignores the caller, so caching authenticated responses would "
                "serve one caller's data to another; routes set Cache-Control for clients, and [api] cache enables "
                "the stage cache for public GET routes")
VALIDATORS = {
    "params-only": {"validateRequestBody": False, "validateRequestParameters": True},
    "body-and-params": {"validateRequestBody": True, "validateRequestParameters": True},
    "body-only": {"validateRequestBody": True, "validateRequestParameters": False},
}


def api_id(b: Builder) -> str:
    return REST_API if b.service.api_type == "rest" else HTTP_API


def model_name(route: DeployRoute) -> str:
    return f"{route.logical}Request"


def method_settings_path(path: str) -> str:
    """MethodSettings ResourcePath: slashes are written ~1 ("/users/{id}" -> "/~1users~1{id}")."""
    return "/" + path.replace("~", "~0").replace("/", "~1")


def route_throttle(b: Builder, route: DeployRoute) -> tuple[float, int]:
    settings = api_settings(b.service.config)
    configured = settings["route_throttling"].get(route.key)  # [api.route_throttling] wins over the code's throttle=
    if configured is not None:
        return configured["rate"], int(configured["burst"])
    throttle = route.route.throttle or {}
    where = f"route {route.key} throttle"
    rate = number(where, throttle, "rate", settings["rate"], 1, 1_000_000)
    burst = int(number(where, throttle, "burst", settings["burst"], 1, 1_000_000))
    function = b.service.config.functions.get(route.function)
    if function is not None:
        problem = overload(rate, burst, function.reserved_concurrency or function.concurrency, function.timeout)
        note = f"function {route.function}: {problem}"
        if problem and note not in b.notes:
            b.notes.append(note)
    return rate, burst


def add_api(b: Builder, auth: AuthPlan) -> None:
    settings = api_settings(b.service.config)
    add_log_group(b, ACCESS_LOGS, sub(access_log_group(STACK_VARIABLE)), "API access")
    if b.service.api_type == "rest":
        _rest_api(b, auth, settings)
    else:
        _http_api(b, auth, settings)


# -- REST API ----------------------------------------------------------------------------------------------------

def _rest_api(b: Builder, auth: AuthPlan, settings: dict[str, Any]) -> None:
    service = b.service
    method_settings: list[dict[str, Any]] = [{
        "ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True, "DataTraceEnabled": False,
        "ThrottlingRateLimit": settings["rate"], "ThrottlingBurstLimit": settings["burst"],
    }]
    cache = _cache(settings)
    models: dict[str, Any] = {}
    dropped: dict[str, list[str]] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in service.routes:
        rate, burst = route_throttle(b, route)
        verb = "*" if route.method == "ANY" else route.method  # MethodSettings spell ANY as *
        setting: dict[str, Any] = {"ResourcePath": method_settings_path(route.path), "HttpMethod": verb,
                                   "MetricsEnabled": True, "DataTraceEnabled": False,
                                   "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
        if cache and route.method == "GET" and route.route.public and "no-store" not in (
                route.route.cache_control or ""):
            setting.update({"CachingEnabled": True, "CacheTtlInSeconds": cache["ttl"], "CacheDataEncrypted": True})
        method_settings.append(setting)
        event = _rest_event(b, route, auth, settings)
        validator = _validator(settings["request_validation"], bool(route.route.body))
        paths.setdefault(route.path, {})[route.method.lower()] = (
            {"x-amazon-apigateway-request-validator": validator} if validator else {})
        if route.route.body and settings["request_validation"] in ("full", "body"):
            model, lost = to_draft4(route.route.body, title=model_name(route))
            models[model_name(route)] = model
            if lost:
                dropped[route.key] = lost
                b.notes.append(f"{route.key}: the gateway model leaves to the function: {'; '.join(lost)}")
        _add_event(b, route, event)
    properties: dict[str, Any] = {
        "Name": sub(API_NAME),
        "Description": f"{service.name} {service.config.version}, written by golive",
        "StageName": service.stage,
        "EndpointConfiguration": {"Type": "REGIONAL"},
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": get_att(ACCESS_LOGS, "Arn"),
                             "Format": json.dumps(REST_ACCESS_LOG, separators=(",", ":"))},
        "MethodSettings": method_settings,
        # SAM merges the events' paths into this document; it only contributes the request validators.
        "MergeDefinitions": True,
        "DefinitionBody": {
            "swagger": "2.0",  # the dialect SAM merges events in (its models then land in definitions)
            "info": {"title": sub(API_NAME), "version": service.config.version},
            # Each method names its validator; SAM merges its integration and auth into these entries.
            "paths": paths,
            "x-amazon-apigateway-request-validators": VALIDATORS,
        },
        "Tags": b.tag_map,
    }
    if service.config.api.get("gateway_responses", "golive") != "aws":
        # "aws" keeps API Gateway's plain default answers (the local gateway follows the same setting).
        properties["GatewayResponses"] = gateway_responses(settings)
    if settings["request_validation"] in ("full", "params"):
        # Every method checks its declared parameters; methods with a body also check it against its model.
        properties["DefinitionBody"]["x-amazon-apigateway-request-validator"] = "params-only"
    if models:
        properties["Models"] = models
    if settings["binary_media_types"]:
        properties["BinaryMediaTypes"] = [t.replace("/", "~1") for t in settings["binary_media_types"]]
    if settings["stage_variables"]:
        properties["Variables"] = dict(settings["stage_variables"])
    if any(route.method == "ANY" for route in service.routes):
        # SAM's definition merge files ANY under "any", which API Gateway ignores: let SAM write the whole
        # definition (a proxy route has no schemas to validate anyway).
        del properties["MergeDefinitions"], properties["DefinitionBody"]
    if cache:
        properties.update({"CacheClusterEnabled": True, "CacheClusterSize": cache["size"]})
    _add_domain(b, properties)
    api_auth = _rest_auth(b, auth, settings)
    if api_auth:
        properties["Auth"] = api_auth
    cors = settings["cors"]
    if cors and len(cors["origins"]) == 1:
        properties["Cors"] = {
            "AllowOrigin": f"'{cors['origins'][0]}'", "AllowHeaders": "'" + ",".join(cors["headers"]) + "'",
            "AllowMethods": "'" + ",".join(cors["methods"] or sorted({r.method for r in service.routes} | {"OPTIONS"}))
                            + "'",
            "MaxAge": f"'{cors['max_age']}'", **({"AllowCredentials": True} if cors["credentials"] else {}),
        }
    elif cors:
        _preflight_to_function(b, settings)
    skips = [] if cache else [("CKV_AWS_120", CACHE_REASON)]
    b.add(REST_API, "AWS::Serverless::Api", properties, Metadata=checkov_skip(*skips) if skips else None)
    b.metadata["dropped_model_keywords"] = dropped
    b.output("ApiUrl", sub(f"https://${{{REST_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
                           f"{service.stage}"), "Invoke URL of the stage")


def _validator(mode: str, has_body: bool) -> str | None:
    """The request validator a method names for [api] request_validation (None: the gateway checks nothing)."""
    if mode == "full":
        return "body-and-params" if has_body else "params-only"
    if mode == "params":
        return "params-only"
    if mode == "body" and has_body:
        return "body-only"
    return None


def _cache(settings: dict[str, Any]) -> dict[str, Any] | None:
    cache = settings["cache"]
    if not cache:
        return None
    if not isinstance(cache, dict):
        raise ConfigError('golive.toml: [api] cache must look like cache = { size = "0.5", ttl = 300 }')
    size = str(cache.get("size", "0.5"))
    if size not in ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"):
        raise ConfigError("golive.toml: [api] cache size must be one of API Gateway's sizes (0.5, 1.6, 6.1 ... GB)")
    return {"size": size, "ttl": int(number("[api] cache", cache, "ttl", 300, 0, 3600))}


def _rest_event(b: Builder, route: DeployRoute, auth: AuthPlan, settings: dict[str, Any]) -> dict[str, Any]:
    function = b.service.functions[route.function]
    properties: dict[str, Any] = {"RestApiId": ref(REST_API), "Path": route.path, "Method": route.method,
                                  "TimeoutInMillis": round(1000 * integration_timeout_s(settings, route.key,
                                                                                        function))}
    method_auth: dict[str, Any] = {}
    if auth.kind != "none" and not auth.guards(route.key, route.route.public):
        method_auth["Authorizer"] = "NONE"
    if route.route.public and settings["usage_plan"]:
        method_auth["ApiKeyRequired"] = False
    elif auth.kind == "cognito" and route.route.scopes:
        method_auth["AuthorizationScopes"] = list(route.route.scopes)
    if method_auth:
        properties["Auth"] = method_auth
    parameters = _request_parameters(route)
    if parameters:
        properties["RequestParameters"] = parameters
    mode = settings["request_validation"]
    if route.route.body and mode in ("full", "body"):
        properties["RequestModel"] = {"Model": model_name(route), "Required": True, "ValidateBody": True,
                                      "ValidateParameters": mode == "full"}
    return {"Type": "Api", "Properties": properties}


def _request_parameters(route: DeployRoute) -> list[dict[str, Any]]:
    """Declared query and header parameters (required ones are checked by the gateway's validator)."""
    parameters: list[dict[str, Any]] = []
    for where, schema in (("querystring", route.route.query), ("header", route.route.headers)):
        if not schema:
            continue
        required = set(schema.get("required") or [])
        for name in (schema.get("properties") or {}):
            parameters.append({f"method.request.{where}.{name}": {"Required": name in required, "Caching": False}})
    for name in route.route.param_names:
        parameters.append({f"method.request.path.{name}": {"Required": True, "Caching": False}})
    return parameters


def _rest_auth(b: Builder, auth: AuthPlan, settings: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if auth.kind == "iam":
        result["DefaultAuthorizer"] = "AWS_IAM"
    elif auth.kind != "none":
        result["Authorizers"] = {auth.name: auth.rest}
        result["DefaultAuthorizer"] = auth.name
    if auth.kind != "none":
        result["AddDefaultAuthorizerToCorsPreflight"] = False
    plan = settings["usage_plan"]  # checked once by api_settings
    if plan:
        usage: dict[str, Any] = {"CreateUsagePlan": "PER_API", "Description": f"{b.service.name} API clients",
                                 "Tags": tag_list(b.tags)}
        if plan["quota"]:
            usage["Quota"] = {"Limit": plan["quota"], "Period": plan["period"]}
        if plan["rate"] is not None or plan["burst"] is not None:
            usage["Throttle"] = {"RateLimit": plan["rate"] if plan["rate"] is not None else settings["rate"],
                                 "BurstLimit": plan["burst"] if plan["burst"] is not None else settings["burst"]}
        result["ApiKeyRequired"] = True
        result["UsagePlan"] = usage
        result["AddApiKeyRequiredToCorsPreflight"] = False
    return result


def _preflight_to_function(b: Builder, settings: dict[str, Any]) -> None:
    """Several CORS origins: API Gateway's mock preflight takes only one, so OPTIONS goes to the app's CORS."""
    seen: set[str] = set()
    for route in b.service.routes:
        if route.path in seen:
            continue
        seen.add(route.path)
        auth: dict[str, Any] = {"Authorizer": "NONE"}
        if settings["usage_plan"]:
            auth["ApiKeyRequired"] = False
        event = {"Type": "Api", "Properties": {"RestApiId": ref(REST_API), "Path": route.path, "Method": "OPTIONS",
                                               "Auth": auth}}
        _add_event(b, DeployRoute(route.route, route.function, logical_id("Options", route.path)), event)


def _add_event(b: Builder, route: DeployRoute, event: dict[str, Any]) -> None:
    function = b.resources[function_id(route.function)]["Properties"]
    function.setdefault("Events", {})[route.logical] = event


def _add_domain(b: Builder, properties: dict[str, Any]) -> None:
    """[api] domain (often set per stage): a custom domain on TLS 1.2, with its Route 53 alias when a zone is given."""
    domain = b.service.config.api.get("domain")
    if not domain:
        return
    example = ('domain = { name = "api.example.com", certificate_arn = "arn:aws:acm:...", '
               'hosted_zone_id = "Z123..." }')
    if not isinstance(domain, dict) or not isinstance(domain.get("name"), str) or not str(
            domain.get("certificate_arn", "")).startswith("arn:"):
        raise ConfigError(f"golive.toml: [api] domain needs a name and an ACM certificate_arn, e.g. {example}")
    unknown = set(domain) - {"name", "certificate_arn", "hosted_zone_id", "base_path"}
    if unknown:
        raise ConfigError(f"golive.toml: [api] domain has unknown key {', '.join(sorted(unknown))}; e.g. {example}")
    spec: dict[str, Any] = {"DomainName": domain["name"], "CertificateArn": domain["certificate_arn"],
                            "EndpointConfiguration": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
    if domain.get("base_path"):
        spec["BasePath"] = [str(domain["base_path"])]
    if domain.get("hosted_zone_id"):
        spec["Route53"] = {"HostedZoneId": str(domain["hosted_zone_id"])}
    properties["Domain"] = spec
    b.output("DomainUrl", f"https://{domain['name']}", "The API's custom domain")


# -- HTTP API ----------------------------------------------------------------------------------------------------

def _http_api(b: Builder, auth: AuthPlan, settings: dict[str, Any]) -> None:
    service = b.service
    if settings["usage_plan"]:
        raise ConfigError("golive.toml: [api] usage_plan needs a REST API (type = \"rest\"): HTTP APIs have no API "
                          "keys or usage plans")
    if settings["cache"]:
        raise ConfigError("golive.toml: [api] cache needs a REST API (type = \"rest\"): HTTP APIs have no cache")
    route_settings: dict[str, Any] = {}
    for route in service.routes:
        rate, burst = route_throttle(b, route)
        route_settings[route.key] = {"DetailedMetricsEnabled": True, "ThrottlingRateLimit": rate,
                                     "ThrottlingBurstLimit": burst}
        function = service.functions[route.function]
        properties: dict[str, Any] = {"ApiId": ref(HTTP_API), "Path": route.path, "Method": route.method,
                                      "PayloadFormatVersion": "2.0",
                                      "TimeoutInMillis": round(1000 * integration_timeout_s(settings, route.key,
                                                                                            function))}
        if auth.kind != "none" and not auth.guards(route.key, route.route.public):
            properties["Auth"] = {"Authorizer": "NONE"}
        elif auth.kind in ("cognito", "jwt") and route.route.scopes:
            properties["Auth"] = {"AuthorizationScopes": list(route.route.scopes)}
        _add_event(b, route, {"Type": "HttpApi", "Properties": properties})
    properties = {
        "Name": sub(API_NAME),
        "Description": f"{service.name} {service.config.version}, written by golive",
        "StageName": service.stage,
        "AccessLogSettings": {"DestinationArn": get_att(ACCESS_LOGS, "Arn"),
                              "Format": json.dumps(HTTP_ACCESS_LOG, separators=(",", ":"))},
        "DefaultRouteSettings": {"DetailedMetricsEnabled": True, "ThrottlingRateLimit": settings["rate"],
                                 "ThrottlingBurstLimit": settings["burst"]},
        "RouteSettings": route_settings,
        "FailOnWarnings": True,
        "Tags": b.tag_map,
    }
    if settings["stage_variables"]:
        properties["StageVariables"] = dict(settings["stage_variables"])
    if auth.kind == "iam":
        properties["Auth"] = {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}
    elif auth.kind != "none":
        properties["Auth"] = {"Authorizers": {auth.name: auth.http}, "DefaultAuthorizer": auth.name}
    cors = settings["cors"]
    if cors:
        properties["CorsConfiguration"] = {
            "AllowOrigins": cors["origins"], "AllowHeaders": cors["headers"], "ExposeHeaders": cors["expose"],
            "AllowMethods": cors["methods"] or sorted({r.method for r in service.routes} | {"OPTIONS"}),
            "MaxAge": cors["max_age"],
            "AllowCredentials": cors["credentials"],
        }
    _add_domain(b, properties)
    b.add(HTTP_API, "AWS::Serverless::HttpApi", properties)
    b.notes.append("HTTP API: no WAF association, no request validation and no X-Ray tracing at the gateway "
                   "(the function still validates and traces); use type = \"rest\" to get them")
    stage_path = "" if service.stage == "$default" else f"/{service.stage}"
    b.output("ApiUrl", sub(f"https://${{{HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{stage_path}"),
             "Invoke URL of the stage")
