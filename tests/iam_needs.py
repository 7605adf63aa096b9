"""From boto3 client calls to IAM actions and resources (tests/unit/test_policies.py's step 5), and the checker
that compares a function's policy with what its code needs: missing actions, wildcards, grants broader than the
keys the code touches. The calls come from tests/iam_code.py."""


from __future__ import annotations

import ast
import fnmatch
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name

from tests.iam_code import (
    _TRANSACT_ITEMS,
    ACCOUNT,
    ADAPTERS,
    CLIENT_HELPERS,
    REGION,
    ROOT,
    WEBSOCKET_API_ID,
    Unit,
    adapters_reached,
    app_functions,
    container_graph,
    container_members_used,
    stage_config,
    unit_closure,
)

# Services the app talks to, and their IAM prefixes.
IAM_PREFIX = {"dynamodb": "dynamodb", "s3": "s3", "sqs": "sqs", "ssm": "ssm", "sts": "sts",
              "apigatewaymanagementapi": "execute-api"}
# Where the IAM action is not prefix:Operation (AWS Service Authorization Reference; S3 and DynamoDB guides).
_EXCEPTIONS: dict[tuple[str, str], list[str]] = {
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "HeadBucket"): ["s3:ListBucket"],
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    ("s3", "ListObjectVersions"): ["s3:ListBucketVersions"],
    ("s3", "ListParts"): ["s3:ListMultipartUploadParts"],
    ("s3", "CreateMultipartUpload"): ["s3:PutObject"],
    ("s3", "UploadPart"): ["s3:PutObject"],
    ("s3", "CompleteMultipartUpload"): ["s3:PutObject"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject"],  # authorised key by key
    ("sqs", "SendMessageBatch"): ["sqs:SendMessage"],
    ("sts", "GetCallerIdentity"): [],  # needs no permission
}
_BUCKET_LEVEL = {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}
# What Lambda itself does with the function's role.
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")  # the one Resource "*": X-Ray has no resources
SQS_EVENT_SOURCE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


# ---- 5. methods -> IAM actions -----------------------------------------------------------------------------------

@cache
def _operations() -> dict[str, list[tuple[str, Any]]]:
    session = botocore.session.get_session()
    index: dict[str, list[tuple[str, Any]]] = {}
    for service in IAM_PREFIX:
        model = session.get_service_model(service)
        for op in model.operation_names:
            index.setdefault(xform_name(op), []).append((service, model.operation_model(op)))
    return index


@dataclass(frozen=True)
class Need:
    action: str
    resource: str  # a concrete ARN the action must be allowed on
    why: str


def actions_of(method: str, unit: Unit) -> list[tuple[str, str]]:
    """(IAM action, target) for one client method; target: table/index/bucket/object/queue/parameter/METHOD."""
    if method.startswith("transact:"):
        return [(_TRANSACT_ITEMS[method.split(":", 1)[1]], "table")]
    if method == "transact_write_items":
        return []
    if method in CLIENT_HELPERS:
        service, op_name = CLIENT_HELPERS[method]
        http_method = ""
    else:
        candidates = _operations().get(method, [])
        assert len(candidates) == 1, f"client method {method!r}: not exactly one AWS operation ({candidates})"
        service, op = candidates[0]
        op_name, http_method = op.name, op.http.get("method", "")
    if service == "apigatewaymanagementapi":
        return [("execute-api:ManageConnections", http_method)]
    actions = _EXCEPTIONS.get((service, op_name), [f"{IAM_PREFIX[service]}:{op_name}"])
    found: list[tuple[str, str]] = []
    for action in actions:
        if service == "s3":
            if op_name == "DeleteObject" and "VersionId" in unit.text:  # a version deleted for good
                found.append(("s3:DeleteObjectVersion", "object"))
                continue
            found.append((action, "bucket" if action in _BUCKET_LEVEL else "object"))
            if op_name in ("GetObject", "HeadObject") and "VersionId" in unit.text:
                found.append(("s3:GetObjectVersion", "object"))
            # A missing key answers 404 only to a caller with s3:ListBucket (403 otherwise): code that tells
            # "not there" from an error needs it.
            if op_name in ("GetObject", "HeadObject") and any(c in unit.text for c in ('"404"', "NoSuchKey")):
                found.append(("s3:ListBucket", "bucket"))
        elif service == "dynamodb":
            found.append((action, "table"))
            if op_name in ("Query", "Scan") and "IndexName" in unit.text:
                found.append((action, "index"))
        elif service == "sqs":
            found.append((action, "queue"))
        elif service == "ssm":
            found.append((action, "parameter"))
    return found


@cache
def key_prefix(module: str) -> str:
    """An adapter module's KEY_PREFIX (the only keys it touches, e.g. snapshots/), or any document key."""
    tree = ast.parse((ADAPTERS / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["KEY_PREFIX"]:
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str), \
                f"{module}.KEY_PREFIX must be a string literal"
            return f"{node.value.value}x"
    return "workspaces/w1/document.pdf"


def _arn(stage: str, setting: str, target: str, key: str = "workspaces/w1/document.pdf") -> str | None:
    env = stage_config(stage)["environment_variables"]
    value = env[f"KALEXO_{setting.upper()}"]
    if target in ("table", "index") and setting.endswith("_table"):
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{value}" + ("/index/gsi1" if target == "index" else "")
    if target == "bucket" and setting.endswith("_bucket"):
        return f"arn:aws:s3:::{value}"
    if target == "object" and setting.endswith("_bucket"):
        return f"arn:aws:s3:::{value}/{key}"
    if target == "queue" and setting.endswith(("_queue", "_dlq")):
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{value}"
    if target == "parameter" and setting == "jwt_secret_parameter":
        return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{value.lstrip('/')}"
    return None


def required(stage: str, function: str) -> set[Need]:
    info = app_functions(stage)[function]
    needs: set[Need] = set()
    for module, name, settings in adapters_reached(container_members_used(info["roots"])):
        closure = unit_closure(module, name)
        # Arguments such as IndexName or VersionId may be written by the caller of a shared helper.
        whole = Unit(text="\n".join(u.text for u in closure))
        for unit in closure:
            for method in sorted(unit.calls):
                for action, target in actions_of(method, whole):
                    why = f"{module}.{name}: {method}"
                    if action == "execute-api:ManageConnections":
                        api_stage = stage_config(stage)["api_gateway_stage"]  # Chalice's websocket stage too
                        connections = (f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{WEBSOCKET_API_ID}/{api_stage}"
                                       f"/{target}/@connections/conn1=")
                        needs.add(Need(action, connections, why))
                        continue
                    for setting in sorted(settings):
                        resource = _arn(stage, setting, target, key_prefix(module))
                        if resource:
                            needs.add(Need(action, resource, why))
    # The REST handler's Lambda function is named <app>-<stage> (Chalice keeps its old deployer's name).
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{info['function_name']}"
    needs.add(Need("logs:CreateLogGroup", log_group, "Lambda runtime"))
    for action in LOG_ACTIONS[1:]:
        needs.add(Need(action, f"{log_group}:log-stream:2026/01/01/[$LATEST]abc", "Lambda runtime"))
    if stage_config(stage).get("xray"):
        needs.update(Need(a, "*", "X-Ray tracing") for a in XRAY_ACTIONS)
    if info.get("queue"):
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{info['queue']}"
        needs.update(Need(a, queue, "SQS event source mapping") for a in SQS_EVENT_SOURCE)
    return needs


# ---- the checker ------------------------------------------------------------------------------------------------

def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    allowed = False
    for st in policy["Statement"]:
        if not any(a.lower() == action.lower() for a in _as_list(st.get("Action", []))):
            continue
        if not any(r == resource or fnmatch.fnmatchcase(resource, r) for r in _as_list(st.get("Resource", []))):
            continue
        if st["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


@cache
def bucket_keys() -> dict[str, set[str]]:
    """Bucket setting -> the key families written to it: a document key, and each KEY_PREFIX of an adapter the
    container builds with that bucket."""
    keys: dict[str, set[str]] = {}
    for member in container_graph()[0].values():
        for module, _, settings in member.adapters:
            for setting in settings:
                if setting.endswith("_bucket"):
                    keys.setdefault(setting, {"workspaces/w1/document.pdf"}).add(key_prefix(module))
    return keys


@cache
def probes(stage: str) -> frozenset[tuple[str, str]]:
    """(kind, ARN) of every resource of the stage a policy could reach: each table, index, bucket, queue and
    the parameter, and in each bucket every key family written to it."""
    found = set()
    for name in stage_config(stage)["environment_variables"]:
        if not name.startswith("KALEXO_"):
            continue
        setting = name.removeprefix("KALEXO_").lower()
        for target in ("table", "index", "bucket", "object", "queue", "parameter"):
            for key in bucket_keys().get(setting, {"-"}) if target == "object" else {"-"}:
                arn = _arn(stage, setting, target, key)
                if arn:
                    found.add((target, arn))
    return frozenset(found)


INDEX_ACTIONS = {"dynamodb:query", "dynamodb:scan"}


def over_broad(policy: dict[str, Any], needs: set[Need], stage: str) -> list[str]:
    """A pattern that also matches a resource of the stack which the code never touches with that action (the
    websocket function's role writing any document, where it writes only snapshots/)."""
    found = []
    needed = {(n.action.lower(), n.resource) for n in needs}
    for st in policy["Statement"]:
        for action in _as_list(st.get("Action", [])):
            for pattern in _as_list(st.get("Resource", [])):
                if pattern == "*":
                    continue
                for target, arn in sorted(probes(stage)):
                    if target == "index" and action.lower() not in INDEX_ACTIONS:
                        continue  # IAM checks only reads against an index ARN; a write there reaches nothing
                    if action.startswith("s3:") and (target == "bucket") != (action in _BUCKET_LEVEL):
                        continue  # bucket actions are checked against the bucket's ARN, object actions an object's
                    if fnmatch.fnmatchcase(arn, pattern) and (action.lower(), arn) not in needed:
                        found.append(f"{st.get('Sid', '?')}: {action} on {pattern} reaches {arn}, which nothing uses")
    return found


def problems(policy: dict[str, Any], needs: set[Need]) -> list[str]:
    found = []
    for st in policy["Statement"]:
        sid = st.get("Sid", "?")
        for key in ("NotAction", "NotResource", "Condition"):
            if key in st:
                found.append(f"{sid}: {key} is not used by these policies")
        for action in _as_list(st.get("Action", [])):
            if "*" in action or "?" in action:
                found.append(f"{sid}: wildcard action {action}")
        resources = _as_list(st.get("Resource", []))
        if "*" in resources and set(_as_list(st["Action"])) - set(XRAY_ACTIONS):
            found.append(f"{sid}: Resource '*' is only for X-Ray")
        if "${" in json.dumps(st):
            found.append(f"{sid}: '${{' (a policy variable) breaks chalice's Terraform output")
        # Nothing beyond what the code uses: every action and resource pattern in a statement serves a need.
        actions = _as_list(st.get("Action", []))

        def serves(action: str, pattern: str) -> bool:
            return any(n.action.lower() == action.lower() and fnmatch.fnmatchcase(n.resource, pattern) for n in needs)

        for action in actions:
            if not any(serves(action, pattern) for pattern in resources):
                found.append(f"{sid}: {action} is granted but nothing uses it")
        for pattern in resources:
            if not any(serves(action, pattern) for action in actions):
                found.append(f"{sid}: {pattern} is granted but nothing uses it")
    for need in sorted(needs, key=lambda n: (n.action, n.resource)):
        if not allows(policy, need.action, need.resource):
            found.append(f"missing {need.action} on {need.resource} ({need.why})")
    return found


def _policy(stage: str, function: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads((ROOT / app_functions(stage)[function]["policy_file"]).read_text())
    return policy
