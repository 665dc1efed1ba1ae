"""Reads any SAM or CloudFormation template into what the audit asks about: APIs, stages, methods, functions,
alarms, web ACLs. Plain AWS::ApiGateway*, AWS::Lambda and AWS::Serverless resources, Globals and OpenAPI bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

HTTP_VERBS = ("get", "put", "post", "delete", "patch", "head", "options", "any", "x-amazon-apigateway-any-method")
IMPLICIT_REST = "ServerlessRestApi"
IMPLICIT_HTTP = "ServerlessHttpApi"


def text(value: Any) -> str:
    """A property as comparable text: literals as is, Ref X as ${X}, Fn::Sub as its string, GetAtt as ${X.Y}."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "Ref":
            return "${" + str(inner) + "}"
        if key == "Fn::Sub":
            return inner if isinstance(inner, str) else str(inner[0])
        if key == "Fn::GetAtt":
            parts = inner if isinstance(inner, list) else str(inner).split(".")
            return "${" + ".".join(map(str, parts)) + "}"
        if key == "Fn::Join" and isinstance(inner, list) and len(inner) == 2:
            return str(inner[0]).join(text(v) for v in inner[1])
    return str(value)


def references(value: Any) -> set[str]:
    """Logical ids a property points at (Ref, GetAtt, ${X} in Fn::Sub), anywhere inside it."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                parts = inner if isinstance(inner, list) else str(inner).split(".")
                found.add(str(parts[0]))
            elif key == "Fn::Sub":
                template = inner if isinstance(inner, str) else inner[0]
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", str(template)))
                if isinstance(inner, list) and len(inner) > 1:
                    found.update(references(inner[1]))
            else:
                found.update(references(inner))
    elif isinstance(value, list):
        for item in value:
            found.update(references(item))
    return {f for f in found if not f.startswith("AWS::")}


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass
class Method:
    """One method of one API, wherever it was declared."""

    api: str  # logical id of the API (implicit SAM APIs included)
    kind: str  # rest | http
    method: str  # upper case
    path: str
    where: str  # evidence: which resource/property declared it
    authorizer: str | None = None  # NONE, a name, AWS_IAM, COGNITO_USER_POOLS, CUSTOM, JWT...
    api_key: bool = False
    validator: dict[str, bool] | None = None  # {"body": bool, "params": bool}
    has_model: bool = False
    function: str | None = None
    timeout_ms: int | None = None  # integration timeout

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def authenticated(self) -> bool:
        return self.api_key or (self.authorizer not in (None, "NONE"))


@dataclass
class Api:
    logical: str
    kind: str  # rest | http
    properties: dict[str, Any]
    sam: bool
    stages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (evidence id, stage properties)


@dataclass
class Function:
    logical: str
    properties: dict[str, Any]
    sam: bool

    @property
    def timeout(self) -> float | None:
        """Seconds (Lambda's default is 3); None when it is a parameter or another intrinsic."""
        try:
            return float(self.properties.get("Timeout", 3))
        except (TypeError, ValueError):
            return None

    @property
    def tracing_active(self) -> bool:
        if self.sam:
            return text(self.properties.get("Tracing", "")) == "Active"
        return text((self.properties.get("TracingConfig") or {}).get("Mode", "")) == "Active"


@dataclass
class Alarm:
    logical: str
    properties: dict[str, Any]
    metrics: list[dict[str, Any]]  # {"id", "namespace", "name", "dims": {name: text}, "stat"}
    expressions: list[dict[str, str]]  # {"id", "expression"}

    @property
    def comparison(self) -> str:
        return str(self.properties.get("ComparisonOperator", ""))


class TemplateModel:
    """The audit's view of one template."""

    def __init__(self, template: dict[str, Any]) -> None:
        if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
            raise ValueError("not a CloudFormation template: no Resources section")
        self.template = template
        self.resources: dict[str, dict[str, Any]] = {
            k: v for k, v in template["Resources"].items() if isinstance(v, dict)}
        self.globals: dict[str, Any] = template.get("Globals") or {}
        self.metadata: dict[str, Any] = template.get("Metadata") or {}
        self.golive: dict[str, Any] = self.metadata.get("golive") or {}
        self.functions = self._functions()
        self.apis = self._apis()
        self.methods = self._methods()
        self.alarms = self._alarms()

    # -- helpers ---------------------------------------------------------------------------------------------------
    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def props(self, logical: str) -> dict[str, Any]:
        return (self.resources.get(logical) or {}).get("Properties") or {}

    def _with_globals(self, section: str, properties: dict[str, Any]) -> dict[str, Any]:
        merged = dict(self.globals.get(section) or {})
        for key, value in properties.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    # -- functions -------------------------------------------------------------------------------------------------
    def _functions(self) -> dict[str, Function]:
        found: dict[str, Function] = {}
        for logical, resource in self.of_type("AWS::Serverless::Function").items():
            found[logical] = Function(logical, self._with_globals("Function", resource.get("Properties") or {}), True)
        for logical, resource in self.of_type("AWS::Lambda::Function").items():
            found[logical] = Function(logical, resource.get("Properties") or {}, False)
        return found

    # -- APIs and stages -------------------------------------------------------------------------------------------
    def _apis(self) -> dict[str, Api]:
        apis: dict[str, Api] = {}
        for logical, resource in self.of_type("AWS::Serverless::Api").items():
            properties = self._with_globals("Api", resource.get("Properties") or {})
            apis[logical] = Api(logical, "rest", properties, True, [(logical, properties)])
        for logical, resource in self.of_type("AWS::Serverless::HttpApi").items():
            properties = self._with_globals("HttpApi", resource.get("Properties") or {})
            apis[logical] = Api(logical, "http", properties, True, [(logical, properties)])
        for logical, resource in self.of_type("AWS::ApiGateway::RestApi").items():
            apis[logical] = Api(logical, "rest", resource.get("Properties") or {}, False)
        for logical, resource in self.of_type("AWS::ApiGatewayV2::Api").items():
            properties = resource.get("Properties") or {}
            if text(properties.get("ProtocolType", "HTTP")) == "HTTP":
                apis[logical] = Api(logical, "http", properties, False)
        for logical, resource in self.of_type("AWS::ApiGateway::Stage").items():
            properties = resource.get("Properties") or {}
            for target in references(properties.get("RestApiId")):
                if target in apis:
                    apis[target].stages.append((logical, properties))
        for logical, resource in self.of_type("AWS::ApiGateway::Deployment").items():
            properties = resource.get("Properties") or {}
            if properties.get("StageDescription"):
                for target in references(properties.get("RestApiId")):
                    if target in apis:
                        apis[target].stages.append((f"{logical}.StageDescription", properties["StageDescription"]))
        for logical, resource in self.of_type("AWS::ApiGatewayV2::Stage").items():
            properties = resource.get("Properties") or {}
            for target in references(properties.get("ApiId")):
                if target in apis:
                    apis[target].stages.append((logical, properties))
        # Function events without RestApiId/ApiId make SAM create an implicit API configured by Globals.
        for function in self.functions.values():
            for event in (function.properties.get("Events") or {}).values():
                kind = (event or {}).get("Type")
                props = (event or {}).get("Properties") or {}
                if kind == "Api" and not props.get("RestApiId") and IMPLICIT_REST not in apis:
                    properties = dict(self.globals.get("Api") or {})
                    apis[IMPLICIT_REST] = Api(IMPLICIT_REST, "rest", properties, True, [(IMPLICIT_REST, properties)])
                if kind == "HttpApi" and not props.get("ApiId") and IMPLICIT_HTTP not in apis:
                    properties = dict(self.globals.get("HttpApi") or {})
                    apis[IMPLICIT_HTTP] = Api(IMPLICIT_HTTP, "http", properties, True, [(IMPLICIT_HTTP, properties)])
        return apis

    # -- methods ---------------------------------------------------------------------------------------------------
    def _methods(self) -> list[Method]:
        methods: dict[tuple[str, str, str], Method] = {}

        def put(method: Method) -> None:
            key = (method.api, method.method, method.path)
            existing = methods.get(key)
            if existing is None:
                methods[key] = method
                return
            # The same method seen twice (SAM event + OpenAPI body): keep what either says.
            existing.authorizer = existing.authorizer if existing.authorizer is not None else method.authorizer
            existing.api_key = existing.api_key or method.api_key
            existing.validator = existing.validator or method.validator
            existing.has_model = existing.has_model or method.has_model
            existing.function = existing.function or method.function
            existing.timeout_ms = existing.timeout_ms or method.timeout_ms

        for api in self.apis.values():
            body = api.properties.get("DefinitionBody") or api.properties.get("Body")
            if isinstance(body, dict):
                for method in self._body_methods(api, body):
                    put(method)
        for function in self.functions.values():
            for name, event in (function.properties.get("Events") or {}).items():
                from_event = self._event_method(function, name, event or {})
                if from_event is not None:
                    put(from_event)
        for method in self._plain_rest_methods():
            put(method)
        for method in self._plain_http_routes():
            put(method)
        return sorted(methods.values(), key=lambda m: (m.api, m.path, m.method))

    def _event_method(self, function: Function, name: str, event: dict[str, Any]) -> Method | None:
        kind = event.get("Type")
        props = event.get("Properties") or {}
        where = f"{function.logical}.Events.{name}"
        if kind == "Api":
            api_id = next(iter(references(props.get("RestApiId"))), IMPLICIT_REST)
            api = self.apis.get(api_id)
            api_auth = (api.properties.get("Auth") if api else None) or {}
            event_auth = props.get("Auth") or {}
            authorizer = event_auth.get("Authorizer") or api_auth.get("DefaultAuthorizer")
            api_key = event_auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired", False))
            model = props.get("RequestModel") or {}
            validator = None
            if model.get("ValidateBody") is not None or model.get("ValidateParameters") is not None:
                validator = {"body": truthy(model.get("ValidateBody")),
                             "params": truthy(model.get("ValidateParameters"))}
            elif api is not None:
                validator = self._default_validator(api)
            return Method(api_id, "rest", str(props.get("Method", "")).upper(), str(props.get("Path", "")), where,
                          text(authorizer) if authorizer else None, truthy(api_key), validator,
                          bool(model.get("Model")), function.logical, _int(props.get("TimeoutInMillis")))
        if kind == "HttpApi":
            api_id = next(iter(references(props.get("ApiId"))), IMPLICIT_HTTP)
            api = self.apis.get(api_id)
            api_auth = (api.properties.get("Auth") if api else None) or {}
            event_auth = props.get("Auth") or {}
            authorizer = event_auth.get("Authorizer") or api_auth.get("DefaultAuthorizer")
            method = str(props.get("Method", "ANY")).upper()
            path = str(props.get("Path", "$default"))
            return Method(api_id, "http", method, path, where, text(authorizer) if authorizer else None,
                          function=function.logical, timeout_ms=_int(props.get("TimeoutInMillis")))
        return None

    def _default_validator(self, api: Api) -> dict[str, bool] | None:
        body = api.properties.get("DefinitionBody") or api.properties.get("Body") or {}
        if not isinstance(body, dict):
            return None
        return _validator(body, body.get("x-amazon-apigateway-request-validator"))

    def _body_methods(self, api: Api, body: dict[str, Any]) -> list[Method]:
        found: list[Method] = []
        root_security = body.get("security")
        for path, operations in (body.get("paths") or {}).items():
            if not isinstance(operations, dict):
                continue
            for verb, operation in operations.items():
                if verb.lower() not in HTTP_VERBS or not isinstance(operation, dict):
                    continue
                security = operation.get("security", root_security)
                authorizer = None
                api_key = False
                if security is not None:
                    names = {name for requirement in security for name in (requirement or {})}
                    api_key = "api_key" in names
                    names.discard("api_key")
                    authorizer = ",".join(sorted(names)) if names else "NONE"
                validator_name = operation.get("x-amazon-apigateway-request-validator",
                                               body.get("x-amazon-apigateway-request-validator"))
                has_model = bool(operation.get("requestBody")) or any(
                    (p or {}).get("in") == "body" for p in operation.get("parameters") or [])
                method = "ANY" if "any" in verb.lower() else verb.upper()
                found.append(Method(api.logical, api.kind, method, path,
                                    f"{api.logical}.{'DefinitionBody' if api.sam else 'Body'}.paths.{path}.{verb}",
                                    authorizer, api_key, _validator(body, validator_name), has_model))
        return found

    def _plain_rest_methods(self) -> list[Method]:
        paths = self._resource_paths()
        validators = {k: (v.get("Properties") or {}) for k, v in self.of_type(
            "AWS::ApiGateway::RequestValidator").items()}
        found: list[Method] = []
        for logical, resource in self.of_type("AWS::ApiGateway::Method").items():
            props = resource.get("Properties") or {}
            api_id = next(iter(references(props.get("RestApiId"))), "")
            resource_ids = references(props.get("ResourceId"))
            path = next((paths[r] for r in resource_ids if r in paths), "/")
            validator = None
            for target in references(props.get("RequestValidatorId")):
                if target in validators:
                    validator = {"body": truthy(validators[target].get("ValidateRequestBody")),
                                 "params": truthy(validators[target].get("ValidateRequestParameters"))}
            integration = props.get("Integration") or {}
            found.append(Method(api_id, "rest", text(props.get("HttpMethod", "")).upper(), path, logical,
                                text(props.get("AuthorizationType", "NONE")), truthy(props.get("ApiKeyRequired")),
                                validator, bool(props.get("RequestModels")),
                                next(iter(references(integration.get("Uri"))), None),
                                _int(integration.get("TimeoutInMillis"))))
        return found

    def _resource_paths(self) -> dict[str, str]:
        resources = self.of_type("AWS::ApiGateway::Resource")
        paths: dict[str, str] = {}

        def resolve(logical: str, depth: int = 0) -> str:
            if logical in paths:
                return paths[logical]
            props = (resources.get(logical) or {}).get("Properties") or {}
            parents = references(props.get("ParentId")) & set(resources)
            parent = resolve(next(iter(parents)), depth + 1) if parents and depth < 50 else ""
            paths[logical] = f"{parent.rstrip('/')}/{text(props.get('PathPart', ''))}"
            return paths[logical]

        for logical in resources:
            resolve(logical)
        return paths

    def _plain_http_routes(self) -> list[Method]:
        found: list[Method] = []
        for logical, resource in self.of_type("AWS::ApiGatewayV2::Route").items():
            props = resource.get("Properties") or {}
            api_id = next(iter(references(props.get("ApiId"))), "")
            method, _, path = text(props.get("RouteKey", "")).partition(" ")
            found.append(Method(api_id, "http", method.upper(), path or method, logical,
                                text(props.get("AuthorizationType", "NONE")), truthy(props.get("ApiKeyRequired"))))
        return found

    # -- alarms ----------------------------------------------------------------------------------------------------
    def _alarms(self) -> list[Alarm]:
        found: list[Alarm] = []
        for logical, resource in self.of_type("AWS::CloudWatch::Alarm").items():
            props = resource.get("Properties") or {}
            metrics: list[dict[str, Any]] = []
            expressions: list[dict[str, str]] = []
            if props.get("MetricName"):
                metrics.append({"id": "m", "namespace": text(props.get("Namespace", "")),
                                "name": text(props["MetricName"]), "dims": _dims(props.get("Dimensions")),
                                "stat": text(props.get("ExtendedStatistic") or props.get("Statistic") or "")})
            for entry in props.get("Metrics") or []:
                if entry.get("Expression"):
                    expressions.append({"id": str(entry.get("Id", "")), "expression": text(entry["Expression"])})
                stat = entry.get("MetricStat") or {}
                metric = stat.get("Metric") or {}
                if metric:
                    metrics.append({"id": str(entry.get("Id", "")), "namespace": text(metric.get("Namespace", "")),
                                    "name": text(metric.get("MetricName", "")), "dims": _dims(metric.get("Dimensions")),
                                    "stat": text(stat.get("Stat", ""))})
            found.append(Alarm(logical, props, metrics, expressions))
        return found


def _validator(body: dict[str, Any], name: Any) -> dict[str, bool] | None:
    if not name:
        return None
    spec = (body.get("x-amazon-apigateway-request-validators") or {}).get(name) or {}
    return {"body": truthy(spec.get("validateRequestBody")), "params": truthy(spec.get("validateRequestParameters"))}


def _dims(dimensions: Any) -> dict[str, str]:
    return {text(d.get("Name", "")): text(d.get("Value", "")) for d in dimensions or [] if isinstance(d, dict)}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
