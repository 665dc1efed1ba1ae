"""The go-live checklist (seed 003, plus releasing safely): 23 items, each pass / fail / n/a with evidence (resource,
property) and a fix."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from golive.check.evidence import ServiceEvidence
from golive.check.model import Alarm, Api, Method, TemplateModel, references, text, truthy
from golive.check.release import gradual_deployment, pipeline

PASS, FAIL, NA = "pass", "fail", "n/a"
CATEGORIES = ("observability", "security", "performance", "resilience", "testing", "documentation")
BODY_METHODS = ("POST", "PUT", "PATCH")
HEALTH_PATH = re.compile(r"^/(health|healthz|ping|status|ready|readiness|live|liveness)(/.*)?$|^/\.well-known/")
TAGGABLE = {
    "AWS::Serverless::Function", "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::Serverless::SimpleTable",
    "AWS::Serverless::StateMachine", "AWS::Lambda::Function", "AWS::DynamoDB::Table", "AWS::SNS::Topic",
    "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard",
    "AWS::WAFv2::WebACL", "AWS::WAFv2::RuleGroup", "AWS::IAM::Role", "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey", "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage", "AWS::S3::Bucket", "AWS::StepFunctions::StateMachine", "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus", "AWS::CloudFront::Distribution",
}
TEAM_KEYS = {"team", "owner", "squad", "owningteam"}
COST_KEYS = {"costcentre", "costcenter", "costcode", "billing", "costallocation"}


@dataclass
class Context:
    model: TemplateModel
    evidence: ServiceEvidence | None = None  # None: a bare template
    facts: dict[str, dict[str, Any]] | None = None  # route facts from code (service dir or golive metadata)
    validate_responses: bool | None = None
    accept: dict[str, str] = field(default_factory=dict)  # item id -> written reason it is accepted
    max_timeout: float = 3.0


@dataclass
class Result:
    id: str
    category: str
    title: str
    status: str
    evidence: list[str]
    fix: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "title": self.title, "status": self.status,
                "evidence": self.evidence, "reason": self.reason, "fix": self.fix if self.status == FAIL else ""}


Outcome = tuple[str, list[str], str]  # status, evidence, reason


@dataclass
class Item:
    id: str
    title: str
    fix: str
    evaluate: Callable[[Context], Outcome]

    @property
    def category(self) -> str:
        return self.id.split(".")[0]


# -- shared helpers ----------------------------------------------------------------------------------------------

def _methods(ctx: Context, kind: str | None = None) -> list[Method]:
    return [m for m in ctx.model.methods if m.method != "OPTIONS" and (kind is None or m.kind == kind)]


def _no_api(ctx: Context) -> Outcome | None:
    if not ctx.model.apis and not ctx.model.methods:
        return NA, [], "the template has no API Gateway API"
    return None


def _on_method(dims: dict[str, str], method: Method) -> bool:
    """Whether metric dimensions are this method's (REST: Resource + Method; HTTP: Route)."""
    if method.kind == "rest":
        return dims.get("Resource") == method.path and dims.get("Method") == method.method
    return dims.get("Route") == method.key


def _route_alarms(ctx: Context, method: Method, names: set[str]) -> list[tuple[Alarm, dict[str, Any]]]:
    """Alarms with an AWS/ApiGateway metric in `names` on this very method (its per-method dimensions)."""
    found = []
    for alarm in ctx.model.alarms:
        for metric in alarm.metrics:
            if metric["namespace"] != "AWS/ApiGateway" or metric["name"] not in names:
                continue
            if _on_method(metric["dims"], method):
                found.append((alarm, metric))
    return found


def _per_method(ctx: Context, check: Callable[[Method], str | None], missing_label: str) -> Outcome:
    """pass when `check` finds evidence on every method; fail listing the methods without."""
    methods = _methods(ctx)
    if not methods:
        return _no_api(ctx) or (NA, [], "no API methods found")
    evidence, missing = [], []
    for method in methods:
        found = check(method)
        if found:
            evidence.append(f"{method.key}: {found}")
        else:
            missing.append(method.key)
    if missing:
        return FAIL, [f"{missing_label}: {', '.join(missing)}", *evidence], f"{len(missing)} of {len(methods)} " \
                                                                            f"methods lack it"
    return PASS, evidence, ""


def _guard(alarm: Alarm) -> str:
    expression = " ".join(e["expression"] for e in alarm.expressions)
    return " (minimum-traffic guard)" if "IF(" in expression.upper() else ""


def _count_ids(alarm: Alarm, method: Method) -> set[str]:
    return {m["id"] for m in alarm.metrics if m["name"] == "Count" and _on_method(m["dims"], method)}


def _expression_uses(alarm: Alarm, *ids: str) -> bool:
    return any(all(re.search(rf"\b{re.escape(i)}\b", e["expression"]) for i in ids) for e in alarm.expressions)


def _stages(api: Api) -> list[tuple[str, dict[str, Any]]]:
    return [(where, stage) for where, stage in api.stages if isinstance(stage, dict)]


def _method_settings(stage: dict[str, Any]) -> list[dict[str, Any]]:
    settings = stage.get("MethodSettings")
    return [s for s in settings if isinstance(s, dict)] if isinstance(settings, list) else []


# -- observability -----------------------------------------------------------------------------------------------

def detailed_metrics(ctx: Context) -> Outcome:
    if (outcome := _no_api(ctx)) is not None:
        return outcome
    evidence, missing = [], []
    for api in ctx.model.apis.values():
        stage_found = False
        for where, stage in _stages(api):
            if api.kind == "rest":
                for index, setting in enumerate(_method_settings(stage)):
                    if truthy(setting.get("MetricsEnabled")) and text(setting.get("HttpMethod")) == "*":
                        evidence.append(f"{where}.MethodSettings[{index}].MetricsEnabled = true on "
                                        f"{text(setting.get('ResourcePath'))} *")
                        stage_found = True
                        break
            else:
                if truthy((stage.get("DefaultRouteSettings") or {}).get("DetailedMetricsEnabled")):
                    evidence.append(f"{where}.DefaultRouteSettings.DetailedMetricsEnabled = true")
                    stage_found = True
        if not stage_found:
            missing.append(api.logical)
    if missing:
        return FAIL, [f"no detailed metrics on: {', '.join(missing)}", *evidence], \
            "without them CloudWatch only has API-wide figures"
    return PASS, evidence, ""


def latency_alarms(ctx: Context) -> Outcome:
    def check(method: Method) -> str | None:
        matches = _route_alarms(ctx, method, {"Latency"})
        tail = [f"{a.logical} ({m['stat']} > {text(a.properties.get('Threshold'))} ms)" for a, m in matches
                if re.fullmatch(r"(p|tm|wm|tc)\d+(\.\d+)?", m["stat"].lower())]
        return ", ".join(tail) or None

    status, evidence, reason = _per_method(ctx, check, "no tail-latency (pNN on Latency) alarm")
    if status == FAIL and any(m["name"] == "IntegrationLatency" for a in ctx.model.alarms for m in a.metrics):
        evidence.insert(0, "IntegrationLatency alarms found: they miss gateway time (authorizers, throttling); use "
                           "Latency")
    return status, evidence, reason


def error_rate_alarms(ctx: Context) -> Outcome:
    def rate(method: Method, names: set[str]) -> str | None:
        for alarm, metric in _route_alarms(ctx, method, names):
            if not alarm.comparison.startswith("GreaterThan"):
                continue  # a success-rate alarm uses the same metrics, the other way round
            if metric["stat"] == "Average" and not alarm.expressions:
                return f"{alarm.logical} (Average)"
            counts = _count_ids(alarm, method)
            if any(_expression_uses(alarm, metric["id"], c) for c in counts):
                return f"{alarm.logical} (metric math{_guard(alarm)})"
        return None

    def check(method: Method) -> str | None:
        client = rate(method, {"4XXError", "4xx"})
        server = rate(method, {"5XXError", "5xx"})
        return f"4xx {client}; 5xx {server}" if client and server else None

    return _per_method(ctx, check, "no 4xx and 5xx rate alarms (Average or errors/Count)")


def success_rate_alarms(ctx: Context) -> Outcome:
    def check(method: Method) -> str | None:
        for alarm in ctx.model.alarms:
            if not alarm.comparison.startswith("LessThan") or not alarm.expressions:
                continue
            counts = _count_ids(alarm, method)
            if counts and any(_expression_uses(alarm, c) for c in counts):
                return f"{alarm.logical} (< {text(alarm.properties.get('Threshold'))}%{_guard(alarm)})"
        return None

    return _per_method(ctx, check, "no low-success-rate alarm (metric math on Count)")


def tracing(ctx: Context) -> Outcome:
    evidence, failing, gaps = [], [], []
    for function in ctx.model.functions.values():
        if function.tracing_active:
            evidence.append(f"{function.logical}.{'Tracing' if function.sam else 'TracingConfig.Mode'} = Active")
        else:
            failing.append(function.logical)
    for api in ctx.model.apis.values():
        if api.kind == "http":
            gaps.append(f"{api.logical}: HTTP APIs cannot trace with X-Ray at the gateway (the functions still do)")
            continue
        stages = _stages(api)
        traced = [where for where, stage in stages if truthy(stage.get("TracingEnabled"))]
        if traced:
            evidence.extend(f"{where}.TracingEnabled = true" for where in traced)
        else:
            failing.append(f"{api.logical} (stage)")
    if not ctx.model.functions and not any(a.kind == "rest" for a in ctx.model.apis.values()):
        return NA, gaps, "nothing in the template can be traced"
    if failing:
        return FAIL, [f"X-Ray tracing off on: {', '.join(failing)}", *evidence, *gaps], "traces stop at those hops"
    return PASS, evidence + gaps, ""


def custom_metrics(ctx: Context) -> Outcome:
    from golive.observability.metrics import ROUTE_METRICS  # golive's own per-route EMF: not business metrics

    evidence: list[str] = []
    for alarm in ctx.model.alarms:
        evidence.extend(f"{alarm.logical} alarms on {m['namespace']}/{m['name']}" for m in alarm.metrics
                        if m["namespace"] and not m["namespace"].startswith("AWS/") and m["name"] not in ROUTE_METRICS)
    for logical in ctx.model.of_type("AWS::Logs::MetricFilter"):
        evidence.append(f"{logical}: metric filter on logs")
    for logical, resource in ctx.model.of_type("AWS::CloudWatch::Dashboard").items():
        body = text((resource.get("Properties") or {}).get("DashboardBody", ""))
        spaces = sorted(set(re.findall(r'\[\s*"([^"/\]][^"\]]*)"\s*,\s*"([^"]+)"', body)) - {("AWS", "")})
        spaces = [s for s in spaces if not s[0].startswith(("AWS/", "{", "$")) and s[1] not in ROUTE_METRICS]
        evidence.extend(f"{logical} charts {ns}/{name}" for ns, name in spaces[:10])
    if ctx.evidence is not None:
        names = ctx.evidence.custom_metrics()
        evidence.extend(f"code emits {name} (EMF via stdout)" for name in names)
        if not names and not evidence:
            return FAIL, [], "the code emits no business metrics"
    elif ctx.model.golive.get("custom_metrics"):
        evidence.append(f"Metadata.golive.custom_metrics = {', '.join(ctx.model.golive['custom_metrics'])}")
    if evidence:
        return PASS, evidence, ""
    return NA, [], "custom metrics are emitted by code; pass the service directory to look for them"


def tags(ctx: Context) -> Outcome:
    untagged, keys_seen = [], set()
    for logical, resource in ctx.model.resources.items():
        kind = resource.get("Type")
        if kind not in TAGGABLE:
            continue
        props = resource.get("Properties") or {}
        if kind.startswith("AWS::Serverless::"):
            section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api",
                       "AWS::Serverless::HttpApi": "HttpApi"}.get(kind, "")
            value = props.get("Tags") or (ctx.model.globals.get(section) or {}).get("Tags")
        else:
            value = props.get("Tags")
        names = set(value) if isinstance(value, dict) else {text(t.get("Key")) for t in value or []
                                                            if isinstance(t, dict)}
        if not names:
            untagged.append(logical)
        keys_seen |= {re.sub(r"[^a-z]", "", n.lower()) for n in names}
    if not any(r.get("Type") in TAGGABLE for r in ctx.model.resources.values()):
        return NA, [], "no taggable resources"
    evidence = [f"tag keys: {', '.join(sorted(keys_seen))}"] if keys_seen else []
    problems = []
    if untagged:
        problems.append(f"untagged: {', '.join(untagged)}")
    if not keys_seen & TEAM_KEYS:
        problems.append("no team/owner tag")
    if not keys_seen & COST_KEYS:
        problems.append("no cost-centre tag")
    if problems:
        return FAIL, problems + evidence, "cost and ownership cannot be traced in billing"
    return PASS, evidence, ""


# -- security ----------------------------------------------------------------------------------------------------

def _encode(path: str) -> str:
    return "/" + path.replace("~", "~0").replace("/", "~1")


def throttling(ctx: Context) -> Outcome:
    methods = _methods(ctx)
    if not methods:
        return _no_api(ctx) or (NA, [], "no API methods found")
    evidence, missing, overloads = [], [], []
    for method in methods:
        api = ctx.model.apis.get(method.api)
        found, limits = None, None
        for where, stage in _stages(api) if api else []:
            if method.kind == "rest":
                for index, s in enumerate(_method_settings(stage)):
                    path, verb = text(s.get("ResourcePath")), text(s.get("HttpMethod"))
                    if s.get("ThrottlingRateLimit") is None or s.get("ThrottlingBurstLimit") is None:
                        continue
                    if (path, verb) in (("/*", "*"), (_encode(method.path), method.method)):
                        found = (f"{where}.MethodSettings[{index}] {text(s['ThrottlingRateLimit'])} rps, burst "
                                 f"{text(s['ThrottlingBurstLimit'])}")
                        limits = s
                        if path != "/*":
                            break
            else:
                route = (stage.get("RouteSettings") or {}).get(method.key) or {}
                default = stage.get("DefaultRouteSettings") or {}
                for label, s in ((f"RouteSettings[{method.key}]", route), ("DefaultRouteSettings", default)):
                    if s.get("ThrottlingRateLimit") is not None and s.get("ThrottlingBurstLimit") is not None:
                        found = f"{where}.{label} {text(s['ThrottlingRateLimit'])} rps, burst " \
                                f"{text(s['ThrottlingBurstLimit'])}"
                        limits = s
                        break
        if found:
            evidence.append(f"{method.key}: {found}")
            problem = _overload(ctx, method, limits or {})
            if problem and problem not in overloads:
                overloads.append(problem)
        else:
            missing.append(method.key)
    if missing:
        return FAIL, [f"no throttle (the account-wide 10,000 rps default applies): {', '.join(missing)}", *evidence], \
            "one client can exhaust the whole region's limit"
    if overloads:
        return FAIL, [*overloads, *evidence], "overload would be answered 500 (Lambda throttled), not 429"
    return PASS, evidence, ""


def _overload(ctx: Context, method: Method, limits: dict[str, Any]) -> str | None:
    """The throttle against the reserved concurrency of the function behind the method (when both are numbers)."""
    from golive.service.capacity import overload

    function = ctx.model.functions.get(method.function or "")
    if function is None:
        return None
    try:
        rate, burst = float(limits["ThrottlingRateLimit"]), int(limits["ThrottlingBurstLimit"])
        reserve = int(function.properties["ReservedConcurrentExecutions"])
    except (KeyError, TypeError, ValueError):
        return None  # no reserve (the unreserved pool) or a parameter: nothing to compare
    problem = overload(rate, burst, reserve, function.timeout or 3.0)
    return f"{function.logical}: {problem}" if problem else None


def _web_acls(ctx: Context) -> dict[str, dict[str, Any]]:
    return {k: (v.get("Properties") or {}) for k, v in ctx.model.of_type("AWS::WAFv2::WebACL").items()}


def _rule_groups(ctx: Context) -> dict[str, dict[str, Any]]:
    return {k: (v.get("Properties") or {}) for k, v in ctx.model.of_type("AWS::WAFv2::RuleGroup").items()}


def _protected(ctx: Context) -> tuple[dict[str, str], list[str]]:
    """REST API logical id -> the web ACL protecting it, plus notes (edge WAF, external ACLs)."""
    acls = _web_acls(ctx)
    stage_owner = {where: api.logical for api in ctx.model.apis.values() for where, _ in api.stages}
    protected: dict[str, str] = {}
    notes: list[str] = []
    for logical, resource in ctx.model.of_type("AWS::WAFv2::WebACLAssociation").items():
        props = resource.get("Properties") or {}
        acl = next((r for r in references(props.get("WebACLArn")) if r in acls), None)
        if acl is None:
            notes.append(f"{logical}: associates an ACL outside this template ({text(props.get('WebACLArn'))})")
            continue
        for target in references(props.get("ResourceArn")):
            api = target if target in ctx.model.apis else stage_owner.get(target)
            if api:
                protected[api] = f"{acl} via {logical}"
    for logical, resource in ctx.model.of_type("AWS::CloudFront::Distribution").items():
        config = (resource.get("Properties") or {}).get("DistributionConfig") or {}
        acl = next((r for r in references(config.get("WebACLId")) if r in acls), None)
        if acl:
            for api in ctx.model.apis:
                protected.setdefault(api, f"{acl} at the edge via {logical}")
    return protected, notes


def _statements(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_statements(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_statements(value))
    return found


def _rule_matches(ctx: Context, acl: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> str | None:
    groups = _rule_groups(ctx)
    for rule in acl.get("Rules") or []:
        blocking = "Block" in (rule.get("Action") or {}) or "None" in (rule.get("OverrideAction") or {}) or \
            "Challenge" in (rule.get("Action") or {}) or "Captcha" in (rule.get("Action") or {})
        nodes = _statements(rule.get("Statement"))
        for node in list(nodes):
            reference = node.get("RuleGroupReferenceStatement")
            if isinstance(reference, dict):
                for group in references(reference.get("Arn")) & set(groups):
                    nodes.extend(_statements(groups[group].get("Rules")))
        if any(predicate(n) for n in nodes):
            return f"rule {text(rule.get('Name'))}" + ("" if blocking else " (COUNT only: it blocks nothing)")
    return None


def _waf_item(ctx: Context, predicate: Callable[[dict[str, Any]], bool], what: str) -> Outcome:
    rest = [a for a in ctx.model.apis.values() if a.kind == "rest"]
    http = [a for a in ctx.model.apis.values() if a.kind == "http"]
    protected, notes = _protected(ctx)
    gaps = [f"{a.logical}: HTTP APIs cannot be associated with WAF (gap): front them with CloudFront and a "
            f"CLOUDFRONT-scope web ACL" for a in http if a.logical not in protected]
    if not rest and not [a for a in http if a.logical in protected]:
        if http:
            return NA, gaps, "HTTP APIs cannot be associated with a web ACL"
        return _no_api(ctx) or (NA, [], "no REST API")
    acls = _web_acls(ctx)
    evidence, missing = [], []
    for api in [*rest, *[a for a in http if a.logical in protected]]:
        via = protected.get(api.logical)
        if via is None:
            missing.append(f"{api.logical} has no web ACL")
            continue
        acl = via.split(" ")[0]
        rule = _rule_matches(ctx, acls[acl], predicate)
        if rule is None:
            missing.append(f"{acl} (on {api.logical}) has no {what}")
        elif "COUNT only" in rule:
            missing.append(f"{acl}: {rule}")
        else:
            evidence.append(f"{api.logical}: {acl}.Rules {rule} ({via})")
    if missing:
        return FAIL, missing + evidence + notes + gaps, f"no {what} in front of the API"
    return PASS, evidence + notes + gaps, ""


def waf_rate_limit(ctx: Context) -> Outcome:
    return _waf_item(ctx, lambda n: "RateBasedStatement" in n, "IP rate-based rule")


def waf_sqli(ctx: Context) -> Outcome:
    return _waf_item(ctx, lambda n: "SqliMatchStatement" in n or (
        isinstance(n.get("ManagedRuleGroupStatement"), dict)
        and text(n["ManagedRuleGroupStatement"].get("Name")) == "AWSManagedRulesSQLiRuleSet"), "SQL-injection rule")


def authentication(ctx: Context) -> Outcome:
    facts = ctx.facts or {}

    def check(method: Method) -> str | None:
        if method.authenticated:
            what = method.authorizer if method.authorizer not in (None, "NONE") else ""
            return " + ".join(filter(None, [what, "API key" if method.api_key else ""]))
        fact = facts.get(method.key) or {}
        if fact.get("public"):
            return "public by declaration (route public=True)"
        if HEALTH_PATH.match(method.path) and method.method in ("GET", "HEAD"):
            return "public health check"
        return None

    return _per_method(ctx, check, "open to anyone (no authorizer, IAM or API key)")


def request_validation(ctx: Context) -> Outcome:
    rest = _methods(ctx, "rest")
    http = _methods(ctx, "http")
    gaps = [f"{m.key} ({m.api}): HTTP APIs cannot validate requests at the gateway (gap; the function still does)"
            for m in http]
    if not rest:
        if http:
            return NA, gaps, "HTTP APIs have no request validation"
        return _no_api(ctx) or (NA, [], "no API methods found")
    facts = ctx.facts or {}
    evidence, missing = [], []
    for method in rest:
        validator = method.validator or {}
        if method.method in BODY_METHODS:
            if facts.get(method.key, {}).get("body_schema") is False:
                evidence.append(f"{method.key}: declares no body")
            elif validator.get("body") and method.has_model:
                evidence.append(f"{method.key}: body checked against its model ({method.where})")
            else:
                missing.append(method.key)
        elif validator.get("params"):
            evidence.append(f"{method.key}: parameters validated")
        else:
            evidence.append(f"{method.key}: no body to validate")
    if missing:
        return FAIL, [f"bodies not validated at the gateway: {', '.join(missing)}", *evidence, *gaps], \
            "invalid requests reach (and bill) the function"
    return PASS, evidence + gaps, ""


def response_validation(ctx: Context) -> Outcome:
    if ctx.facts is None:
        return NA, [], "response validation happens in code; pass the service directory (or a golive template)"
    if ctx.validate_responses is False:
        return FAIL, ["App(validate_responses=False)"], "responses are never checked"
    evidence, missing = [], []
    for key, fact in sorted(ctx.facts.items()):
        if fact.get("health"):
            continue
        if fact.get("validated_responses"):
            evidence.append(f"{key}: responses {', '.join(map(str, fact['validated_responses']))} validated")
        elif fact.get("declared_responses"):
            statuses = ", ".join(map(str, fact["declared_responses"]))
            evidence.append(f"{key}: declares bodiless responses only ({statuses})")
        else:
            missing.append(key)
    if missing:
        return FAIL, [f"no response schema: {', '.join(missing)}", *evidence], "those responses can leak any field"
    return PASS, evidence, ""


# -- performance -------------------------------------------------------------------------------------------------

def caching(ctx: Context) -> Outcome:
    evidence = []
    for api in ctx.model.apis.values():
        for where, stage in _stages(api):
            cached = [s for s in _method_settings(stage) if truthy(s.get("CachingEnabled"))]
            if truthy(stage.get("CacheClusterEnabled")) and cached:
                evidence.append(f"{where}.CacheClusterEnabled = true, {len(cached)} cached method setting(s)")
    for logical in ctx.model.of_type("AWS::CloudFront::Distribution"):
        evidence.append(f"{logical}: CloudFront in front")
    if ctx.facts is not None:
        # Only no-store forbids caching; no-cache (revalidate with ETag) is still a cache layer.
        cacheable = [f"{key}: Cache-Control {fact['cache_control']}" for key, fact in sorted(ctx.facts.items())
                     if key.startswith("GET ") and "no-store" not in (fact.get("cache_control") or "no-store")]
        evidence.extend(cacheable)
        if not evidence:
            return FAIL, ["every GET route answers Cache-Control: no-store, and there is no gateway or edge cache"], \
                "every read goes to the function"
    if evidence:
        return PASS, evidence, ""
    return NA, [], "no gateway or edge cache; Cache-Control is decided in code: pass the service directory"


def timeouts(ctx: Context) -> Outcome:
    behind_api: dict[str, list[Method]] = {}
    for method in ctx.model.methods:
        if method.function:
            behind_api.setdefault(method.function, []).append(method)
    if not behind_api:
        return NA, [], "no function serves an API route"
    evidence, problems, checked = [], [], 0
    for logical, methods in sorted(behind_api.items()):
        function = ctx.model.functions.get(logical)
        if function is None:
            continue
        timeout = function.timeout
        if timeout is None:
            evidence.append(f"{logical}.Timeout is {json.dumps(function.properties.get('Timeout'))}: not checked")
            continue
        limit_ms = min((m.timeout_ms or (29_000 if m.kind == "rest" else 30_000)) for m in methods)
        where = f"{logical}.Timeout = {timeout:g} s"
        checked += 1
        if timeout * 1000 >= limit_ms:
            problems.append(f"{where} is not below the {limit_ms / 1000:g} s integration timeout")
        elif timeout > ctx.max_timeout:
            problems.append(f"{where} exceeds {ctx.max_timeout:g} s for a user-facing route")
        else:
            evidence.append(f"{where} (integration waits {limit_ms / 1000:g} s)")
    if problems:
        return FAIL, problems + evidence, "callers wait on work that should be asynchronous"
    if not checked:
        return NA, evidence, "no function timeout is a literal number"
    return PASS, evidence, ""


# -- resilience --------------------------------------------------------------------------------------------------

def multi_region(ctx: Context) -> Outcome:
    evidence: list[str] = []
    problems: list[str] = []
    for logical, resource in ctx.model.of_type("AWS::DynamoDB::GlobalTable").items():
        replicas = (resource.get("Properties") or {}).get("Replicas") or []
        (evidence if len(replicas) >= 2 else problems).append(f"{logical}: global table, {len(replicas)} replicas")
    tables = list(ctx.model.of_type("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"))
    if tables:
        problems.append(f"single-region tables: {', '.join(tables)}")
    routed = []
    for logical, resource in ctx.model.of_type("AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup").items():
        props = resource.get("Properties") or {}
        records = props.get("RecordSets") or [props]
        if any(r.get("Region") or r.get("Failover") for r in records):
            routed.append(f"{logical}: latency/failover routing")
    evidence.extend(routed)
    if not routed:
        problems.append("no Route 53 latency or failover record across regions")
    if problems:
        return FAIL, problems + evidence, "a regional outage takes the API down"
    return PASS, evidence, ""


def circuit_breakers(ctx: Context) -> Outcome:
    if ctx.evidence is None:
        return NA, [], "circuit breakers live in code; pass the service directory"
    found = ctx.evidence.circuit_breakers()
    if found:
        return PASS, found, ""
    return FAIL, [], "a slow dependency can hold every request until the timeout"


# -- testing and documentation -----------------------------------------------------------------------------------

def _code_item(ctx: Context, finder: str, missing: str) -> Outcome:
    if ctx.evidence is None:
        return NA, [], "tests live in the service directory; pass it to check them"
    found = getattr(ctx.evidence, finder)()
    if found:
        return PASS, found[:10], ""
    return FAIL, [], missing


def end_to_end(ctx: Context) -> Outcome:
    return _code_item(ctx, "end_to_end_tests", "no test talks to the API over HTTP")


def contract_tests(ctx: Context) -> Outcome:
    return _code_item(ctx, "contract_tests", "nothing verifies the API against a contract (a Pact tool imported or a "
                                             "pact written down is not a verification)")


def load_tests(ctx: Context) -> Outcome:
    return _code_item(ctx, "load_tests", "no load test script (Locust, k6, Artillery...)")


def published_spec(ctx: Context) -> Outcome:
    evidence = [f"{logical}: documentation version published with the API"
                for logical in ctx.model.of_type("AWS::ApiGateway::DocumentationVersion")]
    if ctx.evidence is None:
        if evidence:
            return PASS, evidence, ""
        return NA, [], "publishing the spec is a CI step; pass the service directory to look for it"
    found, stale = ctx.evidence.published_spec(ctx.facts or {})
    evidence.extend(found)
    if stale:
        return FAIL, stale + evidence, "the published spec no longer describes the API"
    if evidence:
        return PASS, evidence[:10], ""
    return FAIL, [], "consumers have no contract to read"


ITEMS: list[Item] = [
    Item("observability.detailed_metrics", "Detailed per-method metrics",
         "set MethodSettings MetricsEnabled: true on /* * (REST) or DefaultRouteSettings.DetailedMetricsEnabled (HTTP)",
         detailed_metrics),
    Item("observability.latency_alarms", "Per-method alarms on tail latency (Latency p90/p95/p99)",
         "alarm on AWS/ApiGateway Latency with ExtendedStatistic p99 and ApiName/Stage/Resource/Method dimensions",
         latency_alarms),
    Item("observability.error_rate_alarms", "Per-method alarms on 4xx and 5xx error rates",
         "alarm on 4XXError/5XXError Average, or errors / Count via metric math, per method", error_rate_alarms),
    Item("observability.success_rate_alarms", "Per-method alarms on low success rate",
         "metric math (Count - 4XXError - 5XXError) / Count with LessThanThreshold, per method", success_rate_alarms),
    Item("observability.tracing", "X-Ray active tracing",
         "Tracing: Active on functions, TracingEnabled: true on stages", tracing),
    Item("observability.custom_metrics", "Custom metrics published asynchronously (EMF via stdout)",
         "emit business metrics with golive.metrics.add(...) (EMF to stdout) and chart them", custom_metrics),
    Item("observability.tags", "Tags for team, feature and cost centre",
         "tag every taggable resource with team and cost-centre keys ([tags] in golive.toml)", tags),
    Item("security.throttling", "A sensible rate limit on every method",
         "set ThrottlingRateLimit/ThrottlingBurstLimit in MethodSettings (/* * and per method) or route throttle=, "
         "with a burst no larger than the function's reserved concurrency ([api.throttling] burst in golive.toml)",
         throttling),
    Item("security.waf_rate_limit", "WAF with an IP rate-based rule",
         "associate a WAFv2 web ACL with a RateBasedStatement (AggregateKeyType IP) to the stage", waf_rate_limit),
    Item("security.waf_sqli", "WAF with an SQL-injection rule",
         "add AWSManagedRulesSQLiRuleSet (or a SqliMatchStatement rule) to the stage's web ACL", waf_sqli),
    Item("security.authentication", "Endpoints protected by authentication",
         "set an authorizer (Cognito, JWT, Lambda, AWS_IAM) or API key on every non-public method", authentication),
    Item("security.request_validation", "API Gateway request validation",
         "give body methods a RequestModel with ValidateBody: true (golive derives them from route schemas)",
         request_validation),
    Item("security.response_validation", "Response validation in the function",
         "declare responses={status: schema} on every route and keep App(validate_responses=True)",
         response_validation),
    Item("performance.caching", "Cache as much as you can",
         "set cache_control on cacheable GET routes, [api] cache for public ones, or put CloudFront in front", caching),
    Item("performance.timeouts", "Short Lambda timeouts, below the integration timeout",
         "set the function Timeout to 3 s or less for user-facing routes, below the integration timeout "
         "([functions.*] timeout in golive.toml)",
         timeouts),
    Item("resilience.multi_region", "Multi-region, active-active",
         "deploy to a second region behind Route 53 latency records with global tables, or accept it in [check] "
         "accept with a reason", multi_region),
    Item("resilience.circuit_breakers", "Circuit breakers with fallbacks",
         "wrap calls to dependencies in golive.resilience.CircuitBreaker(name, fallback=...)", circuit_breakers),
    Item("resilience.gradual_deployment", "Gradual deployment rolled back by alarms",
         "ship each function behind AutoPublishAlias with a DeploymentPreference (canary or linear) whose Alarms are "
         "its error and latency alarms (golive template writes them)", gradual_deployment),
    Item("testing.end_to_end", "End-to-end tests through the HTTP interface",
         "add tests that call the deployed (or golive dev) API over HTTP", end_to_end),
    Item("testing.contract", "Consumer-driven contract tests",
         "verify the API against its contracts: golive verify --pact FILE (or --spec) in CI, a Pact Verifier or "
         "schemathesis run, or tests validating live answers against the OpenAPI document", contract_tests),
    Item("testing.load", "Load tests with realistic user journeys",
         "add a Locust/k6/Artillery script (or a loadtest.py of your own) that walks a real user journey", load_tests),
    Item("testing.pipeline", "A CI pipeline that gates each deploy and verifies the deployed stage",
         "run `golive ci` (tests and golive check before sam deploy, OIDC credentials, golive verify after)",
         pipeline),
    Item("documentation.openapi", "Published OpenAPI spec",
         "publish `golive openapi` output (or API Gateway get-export) from CI", published_spec),
]


def run_checklist(ctx: Context) -> list[Result]:
    results = []
    for item in ITEMS:
        if item.id in ctx.accept:
            results.append(Result(item.id, item.category, item.title, NA, [], item.fix,
                                  f"accepted: {ctx.accept[item.id]}"))
            continue
        status, evidence, reason = item.evaluate(ctx)
        results.append(Result(item.id, item.category, item.title, status, evidence, item.fix, reason))
    return results


def score(results: list[Result]) -> int:
    applicable = [r for r in results if r.status != NA]
    if not applicable:
        return 100
    return round(100 * sum(r.status == PASS for r in applicable) / len(applicable))


def as_json(results: list[Result], **summary: Any) -> str:
    return json.dumps({**summary, "score": score(results), "items": [r.as_dict() for r in results]}, indent=2)
