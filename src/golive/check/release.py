"""Go-live items for releasing safely: gradual deployment rolled back by alarms, and a pipeline that gates each
deploy and checks the deployed stage."""

from __future__ import annotations

from typing import Any

from golive.check.model import references, text

PASS, FAIL, NA = "pass", "fail", "n/a"
Outcome = tuple[str, list[str], str]


def gradual_deployment(ctx: Any) -> Outcome:
    """Every function behind the API ships behind an alias that CodeDeploy shifts and an alarm rolls back."""
    model = ctx.model
    behind_api = sorted({m.function for m in model.methods if m.function and m.function in model.functions})
    if not behind_api:
        return NA, [], "no function serves an API route"
    groups = _deployment_groups(model)
    evidence: list[str] = []
    problems: list[str] = []
    for logical in behind_api:
        function = model.functions[logical]
        if not function.sam:
            (evidence if groups else problems).append(
                f"{logical}: " + (f"CodeDeploy group {', '.join(groups)} rolls back on alarm" if groups else
                                  "no CodeDeploy deployment group with alarm rollback"))
            continue
        alias = function.properties.get("AutoPublishAlias")
        preference = function.properties.get("DeploymentPreference") or {}
        if not alias or not isinstance(preference, dict) or not preference.get("Type"):
            problems.append(f"{logical}: no AutoPublishAlias and DeploymentPreference: a bad version takes all "
                            f"traffic at once")
            continue
        if preference.get("Enabled") is False:
            problems.append(f"{logical}.DeploymentPreference.Enabled is false")
            continue
        alarms = sorted(references(preference.get("Alarms") or []))
        missing = [a for a in alarms if a not in model.resources]
        if not preference.get("Alarms"):
            problems.append(f"{logical}.DeploymentPreference has no Alarms: nothing rolls a bad version back")
        elif missing:
            problems.append(f"{logical}.DeploymentPreference names alarms the template lacks: {', '.join(missing)}")
        else:
            hook = " after a pre-traffic hook" if (preference.get("Hooks") or {}).get("PreTraffic") else ""
            shown = ", ".join(alarms) if alarms else f"{len(preference['Alarms'])} alarms"
            evidence.append(f"{logical}: {text(preference['Type'])} on alias {text(alias)}{hook}, rolled back by "
                            f"{shown}")
    if problems:
        return FAIL, problems + evidence, "a broken release reaches every caller before anyone can react"
    return PASS, evidence, ""


def _deployment_groups(model: Any) -> list[str]:
    groups = []
    for logical, resource in model.of_type("AWS::CodeDeploy::DeploymentGroup").items():
        props = resource.get("Properties") or {}
        alarms = props.get("AlarmConfiguration") or {}
        rollback = props.get("AutoRollbackConfiguration") or {}
        if alarms.get("Alarms") and alarms.get("Enabled", True) and rollback.get("Enabled") and (
                "DEPLOYMENT_STOP_ON_ALARM" in (rollback.get("Events") or [])):
            groups.append(logical)
    return groups


def pipeline(ctx: Any) -> Outcome:
    if ctx.evidence is None:
        return NA, [], "the pipeline lives in the repository; pass the service directory to look for it"
    evidence, problems = ctx.evidence.pipeline()
    if problems:
        return FAIL, problems + evidence, "releases depend on someone remembering every step"
    if not evidence:
        return FAIL, [], "no CI pipeline deploys the service (sam deploy, cdk deploy, ...)"
    return PASS, evidence[:9], ""
