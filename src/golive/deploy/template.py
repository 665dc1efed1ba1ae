"""`golive template`'s engine: golive.toml + the route table -> one AWS SAM template with every guard in it."""

from __future__ import annotations

import re
from typing import Any

from golive.deploy.alarms import add_alarms
from golive.deploy.api import add_api
from golive.deploy.auth import plan_auth
from golive.deploy.builder import Builder
from golive.deploy.cfn import TRANSFORM
from golive.deploy.dashboard import add_dashboard
from golive.deploy.functions import add_functions
from golive.deploy.kms import add_key
from golive.deploy.release import add_release
from golive.deploy.service import Service, load_service
from golive.deploy.tables import add_tables
from golive.deploy.waf import add_waf
from golive.service.config import ConfigError, ServiceConfig
from golive.service.settings import section

GENERATOR = "golive"


def zip_name(config: ServiceConfig) -> str:
    return f"{config.service}.zip"


def build(config: ServiceConfig, stage: str | None = None, code_uri: str | None = None) -> tuple[dict[str, Any],
                                                                                                 Builder]:
    """The template as a dict, and the builder (notes on what it could not express)."""
    service = load_service(config, stage)
    _check_stage(service)
    b = Builder(service, code_uri or f"dist/{zip_name(config)}")
    auth = plan_auth(b)
    add_key(b)
    add_tables(b)
    add_functions(b, auth)
    add_api(b, auth)
    add_waf(b)
    add_alarms(b)
    add_release(b)
    add_dashboard(b)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": TRANSFORM,
        "Description": f"{service.name} {config.version} ({service.stage}): written by golive template; "
                       f"regenerate rather than edit",
        "Metadata": {"golive": _metadata(b)},
        "Resources": b.resources,
        "Outputs": b.outputs,
    }
    return template, b


def _check_stage(service: Service) -> None:
    if service.api_type == "rest" and not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", service.stage):
        raise ConfigError(f"stage {service.stage!r} is not a REST API stage name; use letters, digits, - and _ "
                          f"(e.g. --stage prod)")
    if service.api_type == "http" and not re.fullmatch(r"\$default|[A-Za-z0-9_-]{1,128}", service.stage):
        raise ConfigError(f"stage {service.stage!r} is not an HTTP API stage name; use $default or letters, digits, "
                          f"- and _")


def route_facts(service: Service) -> dict[str, dict[str, Any]]:
    """Per route, what the code decides and a template cannot show: public or not, caching, response schemas."""
    from golive.deploy.service import is_proxy

    facts = {}
    for route in service.routes:
        r = route.route
        if is_proxy(r):
            continue  # a handler golive cannot see into: no facts to record
        facts[route.key] = {
            "function": route.function,
            "public": bool(r.public),
            "health": type(getattr(r.handler, "__self__", None)).__name__ == "HealthChecks",
            "scopes": list(r.scopes),
            "roles": list(r.roles),
            "body_schema": bool(r.body),
            "cache_control": r.cache_control or "no-store",
            "validated_responses": sorted(status for status, schema in r.responses.items() if schema),
            "declared_responses": sorted(r.responses),
        }
    return facts


def _metadata(b: Builder) -> dict[str, Any]:
    """Facts from the route table that live in code, recorded so `golive check --template` can cite them."""
    service = b.service
    routes = route_facts(service)
    accept = section(service.config, "check").get("accept") or {}
    if not isinstance(accept, dict) or not all(isinstance(v, str) and v.strip() for v in accept.values()):
        raise ConfigError('golive.toml: [check] accept must map an item id to the written reason it is accepted, '
                          'e.g. accept = { "resilience.multi_region" = "single region: RTO 4 h agreed" }')
    return {
        "generator": GENERATOR,
        "service": service.name,
        "version": service.config.version,
        "stage": service.stage,
        "api": service.api_type,
        "validate_responses": service.validate_responses,
        "custom_metrics": service.custom_metrics,
        "routes": routes,
        "dropped_model_keywords": b.metadata.get("dropped_model_keywords", {}),
        "accept": dict(accept),
    }
