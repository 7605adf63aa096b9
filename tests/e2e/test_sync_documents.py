"""Documents travel with the op log, through the real stack: a member who was offline while documents were
added, processed and removed gets all of it by resuming (no reload), in order with chat; each document's place
on the landscape is assigned once and is the same for everyone, whatever order uploads finish in."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from chalicelib.domain.document_items import LANDSCAPE_ROW
from tests.e2e.api_client import Api
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.sync_client import SyncClient, whole_log

pytestmark = pytest.mark.e2e


def upload(api: Api, workspace: str, name: str, body: bytes) -> str:
    grant = api.ok("POST", f"/workspaces/{workspace}/uploads", {"filename": name, "size": len(body),
                                                                 "content_type": "application/pdf"}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    return str(grant["document_id"])


def wait_for(check, what: str, timeout: float = 120.0):
    deadline, pause = time.time() + timeout, 0.2
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(pause)
        pause = min(1.0, pause * 1.5)
    pytest.fail(f"timed out waiting for {what}")


def documents(client: SyncClient) -> dict[str, dict]:
    return {i.fields["document_id"]: i.fields for i in client.state.items.values() if i.kind == "document"}


def placements(client: SyncClient) -> dict[str, tuple[int, int]]:
    return {i.fields["document_id"]: (i.fields["x"], i.fields["y"]) for i in client.state.items.values()
            if i.kind == "placement"}


def test_documents_added_while_offline_arrive_by_resuming_in_order_with_fixed_places(stack):
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"Docs {uuid.uuid4().hex[:4]}"},
                         status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/vera", {"role": "viewer"})
    vera = SyncClient(stack.ws, stack.token("vera"), workspace)
    vera.connect()
    vera.write({"action": "chat", "text": "going offline"})
    vera.close()  # offline from here

    first = upload(alice, workspace, "first.pdf", letter_pdf(pages=3, text="First"))
    second = upload(alice, workspace, "second.pdf", letter_pdf(pages=1, text="Second"))
    observer = SyncClient(stack.ws, stack.token("alice"), workspace)

    def both_ready():
        observer.resume()
        docs = documents(observer)
        return all(docs.get(d, {}).get("status") == "ready" for d in (first, second)) and docs

    docs = wait_for(both_ready, "both documents ready in the shared state")
    assert docs[first]["page_count"] == 3 and docs[first]["name"] == "first.pdf"
    alice.ok("DELETE", f"/workspaces/{workspace}/documents/{second}", status=204)
    observer.write({"action": "chat", "text": "removed the second"})

    vera.resume()  # back: the resume brings what changed, without a fresh join
    assert not vera.seen.states[1:]  # no second state: it resumed
    assert set(documents(vera)) == {first} and documents(vera)[first]["status"] == "ready"
    assert set(placements(vera)) == {first}
    log = whole_log(observer)
    statuses = [o["data"]["fields"].get("status") for o in log if o["kind"] == "item.update"
                and o["data"]["item_id"] == f"doc:{first}" and "status" in o["data"]["fields"]]
    assert statuses[-1] == "ready" and "tiling" in statuses  # in order, ready last
    kinds = [(o["kind"], o["data"].get("item_id")) for o in log]
    assert kinds.index(("item.create", f"doc:{first}")) < kinds.index(("item.create", f"place:{first}"))
    assert ("item.delete", f"doc:{second}") in kinds and ("item.delete", f"place:{second}") in kinds

    # Places are assigned once, below every document placed before, and are the same for everyone.
    fresh = SyncClient(stack.ws, stack.token("alice"), workspace)
    fresh.connect()
    assert placements(fresh) == placements(vera)
    third = upload(alice, workspace, "third.pdf", letter_pdf(pages=1, text="Third"))
    def third_ready() -> bool:
        observer.resume()
        return documents(observer).get(third, {}).get("status") == "ready"

    wait_for(third_ready, "the third document ready")
    places = placements(observer)
    ys = sorted(y for _, y in places.values())
    assert ys == sorted(set(ys)) and ys[-1] == places[third][1]  # distinct rows, the newest lowest
    assert places[third][1] - max(y for d, (_, y) in places.items() if d != third) >= LANDSCAPE_ROW
    moved = vera.write({"action": "item.update", "item_id": f"place:{first}", "fields": {"x": 50}})
    assert moved["error"]["code"] == "role_too_low"  # vera is a viewer
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
    bob = SyncClient(stack.ws, stack.token("bob"), workspace)
    bob.connect()
    assert bob.write({"action": "item.update", "item_id": f"place:{first}", "fields": {"x": 50}})["action"] == "ack"
    refused = bob.write({"action": "item.update", "item_id": f"doc:{first}", "fields": {"status": "failed"}})
    assert refused["error"]["code"] == "forbidden"
    for client in (vera, observer, fresh, bob):
        client.close()
