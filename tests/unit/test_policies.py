"""Least privilege, checked mechanically: every Lambda function has its own IAM policy file per stage, no policy
has a wildcard action, and each grants exactly what the function's code can call.

"What the code can call" is derived, not listed:

1. the app (imported in a subprocess) names its Lambda functions and their handlers, as Chalice packages them;
2. from each handler, the route code is followed (same module, imported chalicelib.routes modules, app.py) to the
   container members it asks for (`get_container().x`, `container.x`);
3. chalicelib/container.py and its parts (chalicelib/composition) are read with `ast`: which members use which
   members, which adapters they build and with
   which settings (tables, buckets, queues, the SSM parameter);
4. each adapter module is read with `ast` for boto3 client calls (`self._client.put_item(...)`, `client.query(...)`,
   presigned URLs and paginators by their operation name);
5. botocore's service models turn method names into operations; IAM action = service prefix + operation, with the
   documented exceptions in `_EXCEPTIONS` (S3's HeadObject is s3:GetObject, SendMessageBatch is sqs:SendMessage,
   TransactWriteItems is the per-item actions, ...).

Adapters are taken whole (every client call of a class counts once the class is built), so a function may be granted
an action that one of its adapters' other methods uses; the policies are checked to grant nothing beyond that.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
ADAPTERS = ROOT / "chalicelib" / "adapters"
CONTAINER = ROOT / "chalicelib" / "container.py"
COMPOSITION = ROOT / "chalicelib" / "composition"
REGION, ACCOUNT, WEBSOCKET_API_ID = "eu-west-1", "123456789012", "a1b2c3d4e5"

NOT_AWS = {"cache_memcached"}  # pymemcache's client, not boto3
CLIENT_RECEIVERS = {"client", "_client", "ssm"}  # how the adapters name their boto3 clients
# Client methods that are not API operations: what they call underneath.
CLIENT_HELPERS = {"download_file": ("s3", "GetObject")}
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
# TransactWriteItems has no IAM action of its own: each item needs its operation's action.
_TRANSACT_ITEMS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                   "ConditionCheck": "dynamodb:ConditionCheckItem"}
_BUCKET_LEVEL = {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}
# What Lambda itself does with the function's role.
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")  # the one Resource "*": X-Ray has no resources
SQS_EVENT_SOURCE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


# ---- 1. the app's functions -------------------------------------------------------------------------------------

def stage_config(stage: str) -> dict[str, Any]:
    config = json.loads((CHALICE_DIR / "config.json").read_text())
    body: dict[str, Any] = config["stages"][stage]
    return body


STAGES = sorted(json.loads((CHALICE_DIR / "config.json").read_text())["stages"])

_LIST_FUNCTIONS = """
import json, sys, app
from chalice.deploy import models
from tests.chalice_graph import resources

stage = sys.argv[1]
a = app.app
views = []
for methods in a.routes.values():
    for route in methods.values():
        fn = route.view_function
        views.append([fn.__module__, fn.__qualname__])
        for cell in fn.__closure__ or ():
            if callable(cell.cell_contents) and hasattr(cell.cell_contents, "__module__"):
                views.append([cell.cell_contents.__module__, cell.cell_contents.__qualname__])
queues = {e.name: getattr(e, "queue", None) for e in a.event_sources}
# Chalice's own model of the deployment: function names, handlers, resolved policy files and layers.
functions = {}
for r in resources(a, stage):
    if isinstance(r, models.LambdaFunction):
        roots = views if r.handler == "app.app" else [r.handler.rsplit(".", 1)]
        functions[r.resource_name] = {"roots": roots, "queue": queues.get(r.resource_name),
                                      "function_name": r.function_name, "layers": list(r.layers),
                                      "policy_file": r.role.policy.filename}
print(json.dumps(functions))
"""


@cache
def app_functions(stage: str) -> dict[str, dict[str, Any]]:
    """Chalice's name for each function -> handlers, SQS queue, Lambda function name, layers, policy file."""
    env = {**stage_config(stage)["environment_variables"], "KALEXO_JWT_SECRET": "x", "PATH": os.environ["PATH"],
           "AWS_DEFAULT_REGION": REGION}
    out = subprocess.run([sys.executable, "-c", _LIST_FUNCTIONS, stage], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    functions: dict[str, dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return functions


# ---- 2. route code -> container members -------------------------------------------------------------------------

@cache
def _module_ast(module: str) -> ast.Module:
    path = ROOT / (module.replace(".", "/") + ".py")
    return ast.parse(path.read_text())


def _top_defs(module: str) -> dict[str, ast.AST]:
    return {n.name: n for n in _module_ast(module).body
            if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)}


def _chalicelib_imports(module: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Names imported from chalicelib.routes / app: name -> (module, name); and module aliases -> module."""
    names: dict[str, tuple[str, str]] = {}
    modules: dict[str, str] = {}
    for node in ast.walk(_module_ast(module)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib.routes"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if (ROOT / (target.replace(".", "/") + ".py")).exists():
                    modules[alias.asname or alias.name] = target
                else:
                    names[alias.asname or alias.name] = (node.module, alias.name)
    return names, modules


def container_members_used(roots: list[list[str]]) -> set[str]:
    """Follow handlers through route code; collect `get_container().x` / `container.x` attribute names."""
    members = container_graph()[0]
    seen: set[tuple[str, str]] = set()
    todo = [(m, q.split(".")[0]) for m, q in roots] + [("app", "<module>")]
    used: set[str] = set()
    while todo:
        module, name = todo.pop()
        if (module, name) in seen or not (module == "app" or module.startswith("chalicelib.routes")):
            continue
        seen.add((module, name))
        tree = _module_ast(module)
        if name == "<module>":
            nodes: list[ast.AST] = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)]
        elif name in _top_defs(module):
            nodes = [_top_defs(module)[name]]
        else:
            continue  # a constant, not code
        defs = _top_defs(module)
        imported, modules = _chalicelib_imports(module)
        for top in nodes:
            for node in ast.walk(top):
                if isinstance(node, ast.Attribute) and node.attr in members:
                    receiver = node.value
                    if (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
                            and receiver.func.id == "get_container") or (
                            isinstance(receiver, ast.Name) and receiver.id == "container"):
                        used.add(node.attr)
                if isinstance(node, ast.Name):
                    if node.id in defs:
                        todo.append((module, node.id))
                    elif node.id in imported:
                        todo.append(imported[node.id])
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id in modules:
                    todo.append((modules[node.value.id], node.attr))
    return used


# ---- 3. container.py: members, adapters, settings ---------------------------------------------------------------

def resource_settings() -> set[str]:
    from chalicelib.settings import Settings

    return {f for f in Settings.__dataclass_fields__
            if f.endswith(("_table", "_bucket", "_queue", "_dlq")) or f == "jwt_secret_parameter"}


def _settings_in(node: ast.AST) -> set[str]:
    names = resource_settings()
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr in names}


@dataclass
class Member:
    uses: set[str] = field(default_factory=set)
    adapters: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)  # (module, name, settings)


@cache
def container_graph() -> tuple[dict[str, Member], dict[str, tuple[str, str]]]:
    """Members of the container and of every part it is assembled from (chalicelib/composition)."""
    adapter_names: dict[str, tuple[str, str]] = {}
    defs: list[ast.FunctionDef] = []
    for path in [CONTAINER, *sorted(COMPOSITION.glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib.adapters."):
                for alias in node.names:
                    adapter_names[alias.asname or alias.name] = (node.module.rsplit(".", 1)[1], alias.name)
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            defs += [n for n in cls.body if isinstance(n, ast.FunctionDef)]
    names = [d.name for d in defs if d.name != "__init__"]
    assert len(names) == len(set(names)), "container parts define a member twice"
    members = {d.name: Member() for d in defs}
    units = adapter_units()
    for d in defs:
        member = members[d.name]
        fallback = frozenset(_settings_in(d))
        for node in ast.walk(d):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                    and node.attr in members:
                member.uses.add(node.attr)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in adapter_names:
                module, name = adapter_names[node.func.id]
                own = _settings_in(node) | units.get((module, name), Unit()).settings
                member.adapters.append((module, name, frozenset(own) or fallback))
    return members, adapter_names


def adapters_reached(entry: set[str]) -> list[tuple[str, str, frozenset[str]]]:
    members = container_graph()[0]
    seen: set[str] = set()
    todo = list(entry)
    found: list[tuple[str, str, frozenset[str]]] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found.extend(members[name].adapters)
        todo.extend(members[name].uses)
    return found


# ---- 4. adapters: boto3 client calls ----------------------------------------------------------------------------

@dataclass
class Unit:
    calls: set[str] = field(default_factory=set)
    refs: set[tuple[str, str]] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)
    text: str = ""


@cache
def adapter_units() -> dict[tuple[str, str], Unit]:
    """(module, top-level class or function) -> its client calls and what else of the adapters it uses."""
    units: dict[tuple[str, str], Unit] = {}
    for path in sorted(ADAPTERS.glob("*.py")):
        module = path.stem
        source = path.read_text()
        tree = ast.parse(source)
        imported = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib.adapters."):
                for alias in node.names:
                    imported[alias.asname or alias.name] = (node.module.rsplit(".", 1)[1], alias.name)
        tops = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        transact_kinds = {k.value for n in ast.walk(tree) if isinstance(n, ast.Dict)
                          for k in n.keys if isinstance(k, ast.Constant) and k.value in _TRANSACT_ITEMS}
        for name, top in tops.items():
            unit = Unit(text=ast.get_source_segment(source, top) or "", settings=_settings_in(top))
            if module in NOT_AWS:
                units[(module, name)] = unit
                continue
            for node in ast.walk(top):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    receiver = node.func.value
                    terminal = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
                    if terminal in CLIENT_RECEIVERS:
                        method = node.func.attr
                        if method in ("generate_presigned_url", "get_paginator"):
                            first = node.args[0]
                            assert isinstance(first, ast.Constant), f"{module}.{name}: {method} of a variable"
                            method = str(first.value)
                        unit.calls.add(method)
                if isinstance(node, ast.Name) and node.id in tops and node.id != name:
                    unit.refs.add((module, node.id))
                if isinstance(node, ast.Name) and node.id in imported:
                    unit.refs.add(imported[node.id])
            if "transact_write_items" in unit.calls:
                unit.calls |= {f"transact:{k}" for k in transact_kinds}
            units[(module, name)] = unit
    return units


def unit_closure(module: str, name: str) -> list[Unit]:
    units = adapter_units()
    seen: set[tuple[str, str]] = set()
    todo = [(module, name)]
    found = []
    while todo:
        key = todo.pop()
        if key in seen or key not in units:
            continue
        seen.add(key)
        found.append(units[key])
        todo.extend(units[key].refs)
    return found


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


# ---- tests ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_its_own_policy_file(stage):
    assert stage_config(stage).get("autogen_policy") is False
    functions = app_functions(stage)
    assert {"api_handler", "websocket_connect", "websocket_message", "websocket_disconnect", "ingest_uploads",
            "tile_pages", "failed_tiles", "purge_expired_events"} <= set(functions)
    files = {name: Path(info["policy_file"]).name for name, info in functions.items()}  # as Chalice resolves them
    assert all(f == f"policy-{stage}-{name}.json" for name, f in files.items()), files
    assert len(set(files.values())) == len(files), "two functions share a policy file"
    for name, f in files.items():
        assert (CHALICE_DIR / f).exists(), name
        assert "autogen_policy" not in stage_config(stage)["lambda_functions"][name]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("function", ["api_handler", "websocket_connect", "websocket_message", "websocket_disconnect",
                                      "ingest_uploads", "tile_pages", "failed_tiles", "purge_expired_events",
                                      "deliver_fanout"])
def test_policy_grants_what_the_code_uses_and_nothing_else(stage, function):
    assert problems(_policy(stage, function), required(stage, function)) == []
    assert over_broad(_policy(stage, function), required(stage, function), stage) == []


def test_every_adapter_client_call_maps_to_an_aws_operation():
    """A new boto3 call (or a client helper the table doesn't know) must be understood before it is counted."""
    count = 0
    for (module, name), unit in adapter_units().items():
        for method in unit.calls:
            assert actions_of(method, unit) is not None, f"{module}.{name}.{method}"
            count += 1
    assert count >= 30


def test_every_adapter_class_built_by_the_container_is_scanned():
    members, adapter_names = container_graph()
    built = {(m, n) for member in members.values() for m, n, _ in member.adapters}
    units = adapter_units()
    assert built <= set(units)
    assert {v for v in adapter_names.values() if not v[1].isupper()} <= set(units)  # constants aside
    aws = {k for k in built if k[0] not in NOT_AWS}
    assert all(any(u.calls for u in unit_closure(*k)) for k in aws if not k[1].startswith(("Local", "Cached")))


def test_the_derivation_finds_what_a_reader_would():
    """Spot checks of the derivation against the code, so a broken scanner cannot pass vacuously."""
    tiler = {n.action for n in required("dev", "tile_pages")}
    assert {"s3:GetObjectVersion", "s3:PutObject", "sqs:SendMessage", "dynamodb:PutItem", "dynamodb:UpdateItem",
            "sqs:ReceiveMessage", "execute-api:ManageConnections"} <= tiler
    assert "ssm:GetParameter" not in tiler  # workers never authenticate a token
    message = {n.action for n in required("dev", "websocket_message")}
    assert {"ssm:GetParameter", "execute-api:ManageConnections", "s3:ListBucket"} <= message
    purge = {n.action for n in required("dev", "purge_expired_events")}
    assert {"dynamodb:Query", "dynamodb:BatchWriteItem"} <= purge
    assert not any(a.startswith(("s3:", "sqs:", "execute-api:")) for a in purge)
    rest = {n.action for n in required("dev", "api_handler")}
    assert {"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "dynamodb:DescribeTable",
            "sqs:GetQueueAttributes", "dynamodb:DeleteItem"} <= rest


def test_the_checker_reports_a_missing_action_and_a_wildcard():
    policy = _policy("dev", "tile_pages")
    needs = required("dev", "tile_pages")
    assert problems(policy, needs) == []
    without = copy.deepcopy(policy)
    for st in without["Statement"]:
        if "s3:GetObjectVersion" in st["Action"]:
            st["Action"].remove("s3:GetObjectVersion")
    assert any(p.startswith("missing s3:GetObjectVersion") for p in problems(without, needs))
    wild = copy.deepcopy(policy)
    wild["Statement"][-1]["Action"] = ["s3:*"]
    assert any("wildcard action s3:*" in p for p in problems(wild, needs))
    extra = copy.deepcopy(policy)
    extra["Statement"].append({"Sid": "Extra", "Effect": "Allow", "Action": ["dynamodb:Scan"],
                               "Resource": "arn:aws:dynamodb:*:*:table/kalexo-dev-main"})
    assert any("dynamodb:Scan is granted but nothing uses it" in p for p in problems(extra, needs))
    other_table = copy.deepcopy(policy)
    for st in other_table["Statement"]:
        st["Resource"] = [r.replace("kalexo-dev-main", "kalexo-prod-main") for r in _as_list(st["Resource"])]
    assert any("missing dynamodb:GetItem on arn:aws:dynamodb" in p for p in problems(other_table, needs))


def test_the_checker_reports_a_grant_broader_than_the_keys_the_code_touches():
    policy = _policy("dev", "websocket_message")
    needs = required("dev", "websocket_message")
    assert over_broad(policy, needs, "dev") == []
    broad = copy.deepcopy(policy)
    for st in broad["Statement"]:
        st["Resource"] = [r.replace("/snapshots/*", "/*") for r in _as_list(st["Resource"])]
    assert any("s3:PutObject on arn:aws:s3:::kalexo-dev-documents-*/* reaches "
               "arn:aws:s3:::kalexo-dev-documents-000000000000/workspaces/w1/document.pdf" in p
               for p in over_broad(broad, needs, "dev"))
    tables = copy.deepcopy(policy)
    for st in tables["Statement"]:
        st["Resource"] = [r.replace("table/kalexo-dev-main", "table/kalexo-dev-*") for r in _as_list(st["Resource"])]
    assert any("reaches arn:aws:dynamodb:" in p and "kalexo-dev-ops" in p for p in over_broad(tables, needs, "dev"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_default_policy_grants_only_logs_and_tracing(stage):
    """Any function left out of lambda_functions would fall back to this: it must not open anything."""
    policy = json.loads((CHALICE_DIR / stage_config(stage)["iam_policy_file"]).read_text())
    actions = {a for st in policy["Statement"] for a in _as_list(st["Action"])}
    assert actions <= set(LOG_ACTIONS) | set(XRAY_ACTIONS)
