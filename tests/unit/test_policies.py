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

import copy
import json
from pathlib import Path

import pytest

from tests.iam_code import (
    CHALICE_DIR,
    NOT_AWS,
    STAGES,
    adapter_units,
    app_functions,
    container_graph,
    stage_config,
    unit_closure,
)
from tests.iam_needs import (
    LOG_ACTIONS,
    XRAY_ACTIONS,
    _as_list,
    _policy,
    actions_of,
    over_broad,
    problems,
    required,
)

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
