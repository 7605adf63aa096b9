"""What people put in the local stack survives a restart (local/emulator_persistence.py): a clean stop (Ctrl-C)
and a kill of the whole process tree, each followed by a start on the same state directory. Tokens issued
before, the op log (a resumed client's view and every history page), workspaces, documents with their
versions, and the tiles' bytes are all still there; a new version of a ready document replaces its pages. The
websocket connections open at a stop or a kill get their $disconnect at the next start, so their connection time
and routed messages reach the account's usage (an outside tester found them missing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kalexo_client import Op, WorkspaceClient
from websockets.sync.client import connect

from chalicelib.domain.principal import Role
from tests.e2e.api_client import Api
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.stack import LocalStack, alive, start_stack, stop_stack

pytestmark = pytest.mark.e2e
WS = "ws-demo"


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[LocalStack]]:
    """The stacks a test starts, one after another on one state directory; each stopped whatever happens."""
    started: list[LocalStack] = []
    yield started
    for stack in started:
        stop_stack(stack)


def _start(stacks: list[LocalStack], state: Path) -> LocalStack:
    stack = start_stack(state)
    stacks.append(stack)
    return stack


def _in_workspace[T](stack: LocalStack, token: str, work: Callable[[WorkspaceClient], Awaitable[T]]) -> T:
    """`work` with a kalexo_client replica of the workspace, joined (and closed after it)."""
    async def session() -> T:
        async with WorkspaceClient(stack.ws, token, WS) as client:
            return await work(client)

    return asyncio.run(asyncio.wait_for(session(), 300))


async def _notes(client: WorkspaceClient) -> None:
    for n in range(5):
        await client.create_item(f"note-{n}", "note", {"text": f"note {n}"})


async def _log_then_chat(client: WorkspaceClient) -> tuple[list[Op], Op]:
    return await client.read_log(), await client.chat("after the restart")


def _upload(api: Api, body: bytes, document_id: str | None = None) -> str:
    grant = api.ok("POST", f"/workspaces/{WS}/uploads", {
        "filename": "plan.pdf", "size": len(body), "content_type": "application/pdf",
        **({"document_id": document_id} if document_id else {})}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    return str(grant["document_id"])


def _ready(api: Api, document_id: str, pages: int, timeout: float = 180) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        document = api.ok("GET", f"/workspaces/{WS}/documents/{document_id}")
        assert document["status"] != "failed", document
        if document["status"] == "ready" and document["page_count"] == pages:
            return dict(document)
        time.sleep(0.5)
    pytest.fail(f"document {document_id} not ready with {pages} pages in {timeout} s: {document}")


def _tile(document: dict[str, Any]) -> bytes:
    page = document["pages"][0]
    files = page["dzi"].removesuffix(".dzi") + "_files"
    response = requests.get(f"{files}/0/0_0.jpeg", timeout=10)
    assert response.status_code == 200
    return response.content


def _without_urls(value: Any) -> Any:
    """A document as the API shows it, less its links (they name the REST server's port, new at each start)."""
    if isinstance(value, dict):
        return {k: _without_urls(v) for k, v in value.items() if not (isinstance(v, str) and "://" in v)}
    if isinstance(value, list):
        return [_without_urls(v) for v in value]
    return value


def _left_open(stack: LocalStack, token: str, held: contextlib.ExitStack) -> str:
    """A member's websocket (closed by `held`) that routes a message and is then left open, as a tab is; its id."""
    client = held.enter_context(connect(f"{stack.ws}/?token={token}&workspace={WS}"))
    client.send(json.dumps({"action": "chat", "id": "c", "op_id": f"left-{time.time_ns()}", "workspace": WS,
                            "text": "typed before the restart"}))
    while json.loads(client.recv(timeout=60)).get("action") != "ack":
        pass
    events = Api(stack, stack.token("alice", (Role.ACCOUNT_ADMIN,))).ok("GET", "/admin/events", type="ws.connected",
                                                                       workspace_id=WS, limit=1)["items"]
    return str(events[0]["detail"]["connection_id"])


def _ended(stack: LocalStack, connection_id: str, timeout: float = 120) -> dict[str, Any]:
    admin = Api(stack, stack.token("alice", (Role.ACCOUNT_ADMIN,)))
    deadline = time.time() + timeout
    while time.time() < deadline:
        for event in admin.ok("GET", "/admin/events", type="ws.disconnected", limit=100)["items"]:
            if event["detail"]["connection_id"] == connection_id:
                return dict(event)
        time.sleep(0.5)
    pytest.fail(f"no ws.disconnected for {connection_id} after the restart")


def _kill_tree(stack: LocalStack) -> None:
    """As a crash or `kill -9` of `make run` would: the supervisor dies at once; its children follow."""
    pids = [stack.process.pid, *json.loads((stack.state_dir / "runtime.json").read_text())["pids"].values()]
    os.kill(stack.process.pid, signal.SIGKILL)
    stack.process.wait()
    deadline = time.time() + 60
    while any(alive(pid) for pid in pids):
        assert time.time() < deadline, [pid for pid in pids if alive(pid)]
        time.sleep(0.1)


def test_everything_survives_a_stop_and_a_kill(stacks: list[LocalStack], tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _start(stacks, state)
    alice_token = first.token("alice", (Role.ACCOUNT_ADMIN,))
    alice = Api(first, alice_token)
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Kept"}, status=201)
    _in_workspace(first, alice_token, _notes)
    document_id = _upload(alice, letter_pdf(pages=1, text="first version"))
    one_page = _ready(alice, document_id, pages=1)
    # A new version of a ready document replaces it (S3's versionId tells the versions apart).
    _upload(alice, letter_pdf(pages=2, text="second version"), document_id)
    document = _ready(alice, document_id, pages=2)
    assert document["version_id"] != one_page["version_id"]
    tile = _tile(document)
    held = contextlib.ExitStack()  # websockets left open across the stop and the kill, closed at the end
    routed_before = alice.ok("GET", "/admin/accounts/acc-demo/usage")["usage"].get("messages_routed", 0)
    stopped_id = _left_open(first, first.token("bob"), held)
    log = _in_workspace(first, alice_token, lambda client: client.read_log())

    assert stop_stack(first) == 0  # Ctrl-C
    second = _start(stacks, state)
    assert "restored" in second.log(None)
    alice = Api(second, alice_token)  # the token issued before the restart
    assert alice.ok("GET", f"/workspaces/{workspace['workspace_id']}")["name"] == "Kept"
    assert _without_urls(alice.ok("GET", f"/workspaces/{WS}/documents/{document_id}")) == _without_urls(document)
    assert _tile(alice.ok("GET", f"/workspaces/{WS}/documents/{document_id}")) == tile
    after_stop, acked = _in_workspace(second, alice_token, _log_then_chat)
    assert after_stop == log
    assert acked.seq == log[-1].seq + 1

    assert _ended(second, stopped_id)["detail"]["status_code"] == 1006
    killed_id = _left_open(second, second.token("bob"), held)
    _kill_tree(second)
    third = _start(stacks, state)
    assert _ended(third, killed_id)["detail"]["status_code"] == 1006
    held.close()
    routed = Api(third, alice_token).ok("GET", "/admin/accounts/acc-demo/usage")["usage"]["messages_routed"]
    assert routed >= routed_before + 2  # each left-open connection's chat, metered at its $disconnect
    after_kill = _in_workspace(third, alice_token, lambda client: client.read_log())
    assert after_kill[:-1] == [*log, acked]  # what was acknowledged before the kill is there
    assert (after_kill[-1].by, after_kill[-1].data["text"]) == ("bob", "typed before the restart")
    assert Api(third, alice_token).ok("GET", f"/workspaces/{WS}/documents/{document_id}")["status"] == "ready"
