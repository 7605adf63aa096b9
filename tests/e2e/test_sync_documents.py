"""Documents travel with the op log, through the real stack: a member who was offline while documents were
added, processed and removed gets all of it by resuming (no reload), in order with chat; each document's place
on the landscape is assigned once and is the same for everyone, whatever order uploads finish in."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import requests
from kalexo_client import DocumentChanged, OpRefused, Synced, WorkspaceClient

from chalicelib.domain.document_items import LANDSCAPE_ROW
from tests.e2e.api_client import Api
from tests.e2e.documents_samples import letter_pdf, pdf_failing_at_page
from tests.e2e.stack import LocalStack

pytestmark = pytest.mark.e2e
CEILING = 60.0  # a join or an ack, with both cores busy
PROCESSING = 180.0  # a document analysed and tiled


def upload(api: Api, workspace: str, name: str, body: bytes) -> str:
    grant = api.ok("POST", f"/workspaces/{workspace}/uploads", {"filename": name, "size": len(body),
                                                                 "content_type": "application/pdf"}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    return str(grant["document_id"])


def documents(client: WorkspaceClient) -> dict[str, dict[str, Any]]:
    return {i.fields["document_id"]: i.fields for i in client.items.values() if i.kind == "document"}


def placements(client: WorkspaceClient) -> dict[str, tuple[int, int]]:
    return {i.fields["document_id"]: (i.fields["x"], i.fields["y"]) for i in client.items.values()
            if i.kind == "placement"}


def ready(client: WorkspaceClient, *document_ids: str) -> Callable[[], bool]:
    return lambda: all(documents(client).get(d, {}).get("status") == "ready" for d in document_ids)


def test_documents_added_while_offline_arrive_by_resuming_in_order_with_fixed_places(stack):
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"Docs {uuid.uuid4().hex[:4]}"},
                         status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/vera", {"role": "viewer"})
    asyncio.run(asyncio.wait_for(_offline_and_back(stack, alice, workspace), 900))


async def _offline_and_back(stack: LocalStack, alice: Api, workspace: str) -> None:
    def client(user: str, **options: Any) -> WorkspaceClient:
        made = WorkspaceClient(stack.ws, stack.token(user), workspace, **options)
        clients.append(made)
        return made

    clients: list[WorkspaceClient] = []
    vera_synced: list[Synced] = []
    vera = client("vera", on_event=lambda e: vera_synced.append(e) if isinstance(e, Synced) else None)
    try:
        await vera.start(CEILING)
        await vera.chat("going offline")
        await vera.close()  # offline from here

        first = await asyncio.to_thread(upload, alice, workspace, "first.pdf", letter_pdf(pages=3, text="First"))
        second = await asyncio.to_thread(upload, alice, workspace, "second.pdf", letter_pdf(pages=1, text="Second"))
        observer = client("alice")
        await observer.start(CEILING)
        await observer.wait_for(ready(observer, first, second), PROCESSING)  # both ready in the shared state
        docs = documents(observer)
        assert docs[first]["page_count"] == 3 and docs[first]["name"] == "first.pdf"
        await asyncio.to_thread(alice.ok, "DELETE", f"/workspaces/{workspace}/documents/{second}", status=204)
        said = await observer.chat("removed the second")

        await vera.start(CEILING)  # back: the resume brings what changed, without a fresh join
        await vera.wait_applied(said.seq, CEILING)
        assert vera_synced[0].fresh and not any(s.fresh for s in vera_synced[1:])  # no second state: it resumed
        assert set(documents(vera)) == {first} and documents(vera)[first]["status"] == "ready"
        assert set(placements(vera)) == {first}
        log = await observer.read_log()
        statuses = [o.data["fields"].get("status") for o in log if o.kind == "item.update"
                    and o.item_id == f"doc:{first}" and "status" in o.data["fields"]]
        assert statuses[-1] == "ready" and "tiling" in statuses  # in order, ready last
        kinds = [(o.kind, o.item_id) for o in log]
        assert kinds.index(("item.create", f"doc:{first}")) < kinds.index(("item.create", f"place:{first}"))
        assert ("item.delete", f"doc:{second}") in kinds and ("item.delete", f"place:{second}") in kinds

        # Places are assigned once, below every document placed before, and are the same for everyone.
        fresh = client("alice")
        await fresh.start(CEILING)
        assert placements(fresh) == placements(vera)
        third = await asyncio.to_thread(upload, alice, workspace, "third.pdf", letter_pdf(pages=1, text="Third"))
        await observer.wait_for(ready(observer, third), PROCESSING)
        places = placements(observer)
        ys = sorted(y for _, y in places.values())
        assert ys == sorted(set(ys)) and ys[-1] == places[third][1]  # distinct rows, the newest lowest
        assert places[third][1] - max(y for d, (_, y) in places.items() if d != third) >= LANDSCAPE_ROW
        with pytest.raises(OpRefused) as moved:
            await vera.update_item(f"place:{first}", {"x": 50})
        assert moved.value.code == "role_too_low"  # vera is a viewer
        await asyncio.to_thread(alice.ok, "PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
        bob = client("bob")
        await bob.start(CEILING)
        assert (await bob.update_item(f"place:{first}", {"x": 50})).kind == "item.update"  # acknowledged
        with pytest.raises(OpRefused) as refused:
            await bob.update_item(f"doc:{first}", {"status": "failed"})
        assert refused.value.code == "forbidden"
        # The REST function wrote the last op it knows of (the second's removal); the worker has written the
        # third's items since. Removing the third still deletes them: whether there is anything to delete is
        # read from the log, not from a kept state (they once stayed for good, and nobody could delete them).
        await asyncio.to_thread(alice.ok, "DELETE", f"/workspaces/{workspace}/documents/{third}", status=204)
        gone = {f"doc:{third}", f"place:{third}"}
        await observer.wait_for(lambda: not gone & set(observer.items), CEILING)
        await fresh.wait_for(lambda: not gone & set(fresh.items), CEILING)
    finally:
        for made in clients:
            await made.close()



Scenario = Callable[[Api, Api, str, str, WorkspaceClient, list[dict[str, Any]], dict[str, Any]], Awaitable[None]]


def on_a_ready_document(stack: LocalStack, name: str, scenario: Scenario) -> None:
    """Bob's two-page document, ready, in a new workspace where he is an editor, watched by alice: `scenario` gets
    alice's and bob's REST clients, the workspace and document ids, the watcher, every change of the document's
    item as members saw it (filled as they come), and the ready record."""
    alice, bob = Api(stack, stack.token("alice")), Api(stack, stack.token("bob"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"{name} {uuid.uuid4().hex[:4]}"},
                         status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
    asyncio.run(asyncio.wait_for(_watched(stack, alice, bob, workspace, scenario), 900))


async def _watched(stack: LocalStack, alice: Api, bob: Api, workspace: str, scenario: Scenario) -> None:
    document_id = await asyncio.to_thread(upload, bob, workspace, "plan.pdf", letter_pdf(pages=2, text="Kept"))
    seen: list[dict[str, Any]] = []
    watcher = WorkspaceClient(stack.ws, stack.token("alice"), workspace, on_event=lambda e: seen.append(
        dict(e.item.fields)) if isinstance(e, DocumentChanged) and e.document_id == document_id and e.item else None)
    try:
        await watcher.start(CEILING)
        await watcher.wait_for(ready(watcher, document_id), PROCESSING)
        kept = await asyncio.to_thread(bob.ok, "GET", f"/workspaces/{workspace}/documents/{document_id}")
        await scenario(alice, bob, workspace, document_id, watcher, seen, kept)
    finally:
        await watcher.close()


def test_a_refused_new_version_is_told_to_members_and_the_earlier_one_stays(stack):
    on_a_ready_document(stack, "Refused", _refused_version)


async def _refused_version(alice: Api, bob: Api, workspace: str, document_id: str, watcher: WorkspaceClient,
                           seen: list[dict[str, Any]], kept: dict[str, Any]) -> None:
    grant = await asyncio.to_thread(bob.ok, "POST", f"/workspaces/{workspace}/uploads", {
        "filename": "plan.pdf", "size": 5129, "content_type": "application/pdf", "document_id": document_id},
        status=201)
    answer = await asyncio.to_thread(requests.put, grant["url"], data=b"%PDF-1.7\n" + bytes(5120),
                                     headers=grant["headers"], timeout=30)
    assert answer.status_code == 200
    await watcher.wait_for(lambda: documents(watcher)[document_id].get("reason_code") == "corrupt", PROCESSING)
    fields = documents(watcher)[document_id]
    assert (fields["status"], fields["job_id"], fields["page_count"]) == ("ready", kept["job_id"], 2), fields
    assert fields["reason"] and fields["refused_version_id"] not in (None, kept["version_id"]), fields
    # Every change members saw: analysing (the stale reason of nothing cleared), then back to ready with why.
    statuses = [(f["status"], f.get("reason_code")) for f in seen]
    assert statuses[-2:] == [("analysing", None), ("ready", "corrupt")], statuses
    shown = await asyncio.to_thread(bob.ok, "GET", f"/workspaces/{workspace}/documents/{document_id}")
    assert (shown["status"], shown["job_id"], shown["reason_code"]) == ("ready", kept["job_id"], "corrupt")
    assert shown["refused_version_id"] == fields["refused_version_id"]
    assert len(shown["pages"]) == 2 and shown["version_id"] == kept["version_id"]
    events = (await asyncio.to_thread(alice.ok, "GET", "/admin/events", workspace_id=workspace,
                                      type="document.failed"))["items"]
    assert len(events) == 1 and events[0]["detail"]["previous_kept"] is True
    assert events[0]["detail"]["version_id"] == fields["refused_version_id"]
    # The next version clears it as soon as it is analysed, and is processed.
    fixed = letter_pdf(pages=1, text="Fixed, and a longer text than the first version had")
    assert len(fixed) != kept["size"]
    await asyncio.to_thread(upload_version, bob, workspace, document_id, fixed)
    await watcher.wait_for(lambda: documents(watcher)[document_id].get("job_id") != kept["job_id"]
                           and documents(watcher)[document_id]["status"] == "ready", PROCESSING)
    assert documents(watcher)[document_id].get("reason_code") is None
    assert documents(watcher)[document_id]["size"] == len(fixed)  # the item follows the new version
    assert all(f.get("reason_code") is None for f in seen[seen.index(fields) + 1:]), seen
    now = await asyncio.to_thread(bob.ok, "GET", f"/workspaces/{workspace}/documents/{document_id}")
    assert now["status"] == "ready" and not {"reason_code", "reason", "refused_version_id"} & now.keys(), now
    assert now["size"] == len(fixed), now


def test_a_new_version_failing_at_a_page_gives_the_document_back_to_the_earlier_one(stack):
    on_a_ready_document(stack, "Failing", _failing_version)


async def _failing_version(alice: Api, bob: Api, workspace: str, document_id: str, watcher: WorkspaceClient,
                           seen: list[dict[str, Any]], kept: dict[str, Any]) -> None:
    # Passes analysis (3 pages), then its second page draws an image over the pixel limit.
    await asyncio.to_thread(upload_version, bob, workspace, document_id, pdf_failing_at_page(3, 1, "Next"))
    await watcher.wait_for(lambda: documents(watcher)[document_id].get("reason_code") == "image_too_large",
                           PROCESSING)
    fields = documents(watcher)[document_id]
    assert (fields["status"], fields["job_id"], fields["page_count"], fields["pages_done"]) == (
        "ready", kept["job_id"], 2, 2), fields
    assert fields["refused_version_id"] not in (None, kept["version_id"]) and "page 2" in fields["reason"]
    # Members saw the new version's own job tiling, then the earlier job again, with why.
    tiled = [f for f in seen if f["status"] == "tiling"]
    assert tiled and tiled[-1]["job_id"] != kept["job_id"] and tiled[-1]["page_count"] == 3, seen
    assert (seen[-1]["status"], seen[-1]["job_id"]) == ("ready", kept["job_id"]), seen
    shown = await asyncio.to_thread(bob.ok, "GET", f"/workspaces/{workspace}/documents/{document_id}")
    assert (shown["status"], shown["job_id"], shown["version_id"]) == ("ready", kept["job_id"],
                                                                       kept["version_id"])
    assert (shown["page_count"], [p["page"] for p in shown["pages"]]) == (2, [0, 1])
    assert shown["refused_version_id"] == fields["refused_version_id"]
    assert requests.get(shown["pages"][1]["dzi"], timeout=30).status_code == 200  # the earlier tiles are whole
    failed = [j for j in (await asyncio.to_thread(alice.ok, "GET", f"/workspaces/{workspace}/jobs"))["items"]
              if j["job_id"] == tiled[-1]["job_id"]]
    assert failed and failed[0]["state"] == "failed" and failed[0]["replaces_job_id"] == kept["job_id"]
    events = (await asyncio.to_thread(alice.ok, "GET", "/admin/events", workspace_id=workspace,
                                      type="document.failed"))["items"]
    assert len(events) == 1 and events[0]["detail"]["previous_kept"] is True, events
    assert events[0]["detail"]["version_id"] == fields["refused_version_id"]


def upload_version(api: Api, workspace: str, document_id: str, body: bytes) -> None:
    grant = api.ok("POST", f"/workspaces/{workspace}/uploads", {"filename": "plan.pdf", "size": len(body),
                                                                 "content_type": "application/pdf",
                                                                 "document_id": document_id}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
