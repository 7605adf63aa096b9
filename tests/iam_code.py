"""What the app's Lambda functions' code can call, derived from the code (tests/unit/test_policies.py's steps 1
to 4): the app names its functions and handlers, the route code is followed to the container members it asks
for, the composition root is read for the adapters those members build and their settings, and each adapter is
read for its boto3 client calls. tests/iam_needs.py turns the calls into IAM actions and checks policies."""


from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHALICE_DIR = ROOT / ".chalice"
ADAPTERS = ROOT / "chalicelib" / "adapters"
CONTAINER = ROOT / "chalicelib" / "container.py"
COMPOSITION = ROOT / "chalicelib" / "composition"
REGION, ACCOUNT, WEBSOCKET_API_ID = "eu-west-1", "123456789012", "a1b2c3d4e5"

NOT_AWS = {"cache_memcached"}  # pymemcache's client, not boto3
CLIENT_RECEIVERS = {"client", "_client", "ssm"}  # how the adapters name their boto3 clients
# Client methods that are not API operations: what they call underneath.
CLIENT_HELPERS = {"download_file": ("s3", "GetObject")}
# TransactWriteItems has no IAM action of its own: each item needs its operation's action.
_TRANSACT_ITEMS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                   "ConditionCheck": "dynamodb:ConditionCheckItem"}


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
