"""The infrastructure stack (infra/template.yaml as CloudFormation stack kalexo-<stage>): create or update it,
wait as long as CloudFront takes, and on failure say why with the stack's own events.

A stack still being created or updated (an earlier deploy interrupted, or a second one started) is waited for
first rather than answered with `update_stack`'s ValidationError. A parameter not given keeps its previous
value on update when it is one an operator sets (`UploadOrigins` is not reset to `*`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra.outputs import stack_name

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
# What an operator (or a later step of make deploy: TilesOrigin) sets and a deploy without it must keep; the
# others take the template's defaults (so a changed default reaches the stack).
KEPT = ("UploadOrigins", "TilesOrigin")
# A CloudFront distribution takes 5-25 minutes to create or change; four tables with PITR a few more.
WAIT_SECONDS = 75 * 60
POLL_SECONDS = 10
SETTLED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
           "IMPORT_ROLLBACK_COMPLETE")
FAILED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED",
          "UPDATE_FAILED")


class StackError(RuntimeError):
    pass


def check_stage(stage: str) -> str:
    """The stage name as the template allows it (its Stage parameter's AllowedPattern), checked before anything
    is created: every resource name is kalexo-<stage>-..., and S3 refuses upper case and underscores late,
    inside CloudFormation. SystemExit naming the rule otherwise."""
    import yaml

    rule = yaml.safe_load(TEMPLATE.read_text())["Parameters"]["Stage"]["AllowedPattern"]
    if not re.fullmatch(rule, stage):
        raise SystemExit(f"STAGE={stage!r} is not a stage name: it must match {rule} (lower-case letters, digits "
                         f"and hyphens, at most 20), since it starts every resource name")
    return stage


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except cfn.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0] if stacks else None


def failure_events(cfn: Any, name: str, limit: int = 12) -> list[str]:
    """The stack's most recent failed resource events, oldest first: what went wrong, in CloudFormation's words."""
    events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")][:limit]
    return [f"{e.get('LogicalResourceId')} {e.get('ResourceStatus')}: {e.get('ResourceStatusReason', '')}"
            for e in reversed(failed)]


def wait_settled(cfn: Any, name: str, say: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep, deadline_s: float = WAIT_SECONDS) -> dict[str, Any]:
    """Poll until the stack is in no *_IN_PROGRESS state; StackError with its failure events when it failed."""
    began, last = time.monotonic(), ""
    while True:
        stack = describe(cfn, name)
        if stack is None:
            raise StackError(f"stack {name} does not exist (deleted while waiting?)")
        status = stack["StackStatus"]
        if status != last:
            say(f"  stack {name}: {status}")
            last = status
        if not status.endswith("_IN_PROGRESS"):
            if status in SETTLED and status != "UPDATE_ROLLBACK_COMPLETE":
                return stack
            reasons = "\n    ".join(failure_events(cfn, name)) or stack.get("StackStatusReason", "")
            raise StackError(f"stack {name} is {status}:\n    {reasons}")
        if time.monotonic() - began > deadline_s:
            raise StackError(f"stack {name} still {status} after {deadline_s / 60:.0f} minutes")
        sleep(POLL_SECONDS)


def _parameters(given: Mapping[str, str], existing: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The given values, and the previous value of each KEPT one not given. Written out rather than as
    UsePreviousValue, which moto refuses for a parameter that was left at its default."""
    values = dict(given)
    for key in KEPT:
        previous = parameter_value(existing or {}, key)
        if key not in values and previous is not None:
            values[key] = previous
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def deploy_stack(cfn: Any, stage: str, parameters: Mapping[str, str], say: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, str]:
    """Create or update kalexo-<stage>; its outputs."""
    name = stack_name(stage)
    body = TEMPLATE.read_text()
    existing = describe(cfn, name)
    if existing and existing["StackStatus"].endswith("_IN_PROGRESS"):
        say(f"  stack {name} is {existing['StackStatus']}: waiting for it first")
        existing = wait_settled(cfn, name, say, sleep)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        # A first create that failed leaves a stack that can only be deleted.
        raise StackError(f"stack {name} failed to create earlier (ROLLBACK_COMPLETE): "
                         f"{'; '.join(failure_events(cfn, name)) or 'see its events'}; "
                         f"run `make destroy STAGE={stage}` and deploy again")
    given = {"Stage": stage, **parameters}
    capabilities = ["CAPABILITY_NAMED_IAM"]
    if existing is None:
        say(f"  creating stack {name}")
        cfn.create_stack(StackName=name, TemplateBody=body, Parameters=_parameters(given, None),
                         Capabilities=capabilities)
    else:
        try:
            cfn.update_stack(StackName=name, TemplateBody=body, Parameters=_parameters(given, existing),
                             Capabilities=capabilities)
            say(f"  updating stack {name}")
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            say(f"  stack {name}: no changes")
    stack = wait_settled(cfn, name, say, sleep)
    return outputs_of(stack)


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def parameter_value(stack: dict[str, Any], key: str) -> str | None:
    for p in stack.get("Parameters", []):
        if p["ParameterKey"] == key:
            return str(p.get("ParameterValue"))
    return None
