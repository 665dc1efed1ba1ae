"""WAFv2 web ACL on the REST API stage: AWS common, SQL-injection and known-bad-inputs rule sets, a per-IP rate
limit, and logs of what it blocked (blocked and counted requests only, so logging stays cheap)."""

from __future__ import annotations

from typing import Any

from golive.deploy.api import REST_API
from golive.deploy.builder import Builder
from golive.deploy.cfn import get_att, logical_id, sub
from golive.deploy.functions import add_log_group
from golive.service.names import STACK_VARIABLE, waf_log_group
from golive.service.settings import waf_settings

WEB_ACL = "WebAcl"
WEB_ACL_NAME = "${AWS::StackName}-web-acl"  # named, so the dashboard can chart it (WAF metrics use the name)
MANAGED_RULE_SETS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                     "AWSManagedRulesSQLiRuleSet")


def _visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def add_waf(b: Builder) -> None:
    settings = waf_settings(b.service.config)
    if not settings["enabled"]:
        b.notes.append("WAF disabled by [waf] enabled = false: `golive check` will fail the WAF items")
        return
    if b.service.api_type != "rest":
        return  # HTTP APIs cannot be associated with a web ACL (see docs/deploy.md: front them with CloudFront)
    rules: list[dict[str, Any]] = [{
        "Name": "ip-rate-limit", "Priority": 0, "Action": {"Block": {}},
        "Statement": {"RateBasedStatement": {"Limit": settings["rate_limit"], "AggregateKeyType": "IP",
                                             "EvaluationWindowSec": settings["rate_window"]}},
        "VisibilityConfig": _visibility("ip-rate-limit"),
    }]
    for priority, rule_set in enumerate(MANAGED_RULE_SETS, start=1):
        statement: dict[str, Any] = {"VendorName": "AWS", "Name": rule_set}
        overrides = [name for name in settings["count_rules"] if rule_set == "AWSManagedRulesCommonRuleSet"]
        if overrides:  # e.g. SizeRestrictions_BODY for APIs that accept bodies over 8 KB
            statement["RuleActionOverrides"] = [{"Name": name, "ActionToUse": {"Count": {}}} for name in overrides]
        rules.append({"Name": rule_set, "Priority": priority, "OverrideAction": {"None": {}},
                      "Statement": {"ManagedRuleGroupStatement": statement}, "VisibilityConfig": _visibility(rule_set)})
    b.add(WEB_ACL, "AWS::WAFv2::WebACL", {
        "Name": sub(WEB_ACL_NAME),
        "Description": sub("${AWS::StackName} managed rules and per-IP rate limit, by golive"),
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "Rules": rules,
        "VisibilityConfig": _visibility(logical_id(b.service.name, "web-acl")),
        "Tags": b.tag_list,
    })
    b.add("WebAclAssociation", "AWS::WAFv2::WebACLAssociation", {
        "ResourceArn": sub(f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{REST_API}}}"
                           f"/stages/${{{REST_API}.Stage}}"),
        "WebACLArn": get_att(WEB_ACL, "Arn"),
    })
    if settings["logging"]:
        # WAF requires the log group's name to start with aws-waf-logs-.
        add_log_group(b, "WafLogGroup", sub(waf_log_group(STACK_VARIABLE)), "WAF")
        b.add("WafLogging", "AWS::WAFv2::LoggingConfiguration", {
            "ResourceArn": get_att(WEB_ACL, "Arn"),
            "LogDestinationConfigs": [sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${WafLogGroup}")],
            "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}],
            "LoggingFilter": {"DefaultBehavior": "DROP", "Filters": [{
                "Behavior": "KEEP", "Requirement": "MEETS_ANY",
                "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}, {"ActionCondition": {"Action": "COUNT"}}],
            }]},
        })
    b.output("WebAclArn", get_att(WEB_ACL, "Arn"), "WAF web ACL on the stage")
