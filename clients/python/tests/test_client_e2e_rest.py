"""The REST helpers against the whole local stack: uploads (single and multipart, with progress) followed live to
ready or failed, a new version, the admin routes end to end, and a workspace's state and restore."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import MULTIPART_THRESHOLD, Space, two_page_pdf
from kalexo_client import (
    ApiError,
    DocumentChanged,
    KalexoApi,
    Progress,
    WorkspaceClient,
    upload_and_wait,
    wait_document,
)

pytestmark = pytest.mark.e2e
CEILING = 180.0


def test_upload_wait_and_a_new_version(space: Space, tmp_path: Path) -> None:
    api, pdf = space.api("bob"), two_page_pdf(tmp_path / "plan.pdf")
    sent: list[tuple[int, int]] = []
    statuses: list[tuple[str, int | None, int | None]] = []

    async def scenario() -> tuple[Any, dict[str, Any], Any, dict[str, Any]]:
        first = await upload_and_wait(api, space.stack.ws, space.token("bob"), space.workspace, pdf,
                                      on_upload=lambda done, total: sent.append((done, total)),
                                      on_status=lambda *status: statuses.append(status), timeout=CEILING)
        again = await upload_and_wait(api, space.stack.ws, space.token("bob"), space.workspace, pdf,
                                      document_id=first[0].document_id, timeout=CEILING)
        return (*first, *again)

    upload, manifest, upload_again, manifest_again = asyncio.run(scenario())
    size = pdf.stat().st_size
    assert upload.method == "PUT" and sent[-1] == (size, size)
    assert [done for done, _ in sent] == sorted(done for done, _ in sent)
    assert manifest["status"] == "ready" and len(manifest["pages"]) == 2
    assert next(s for s in statuses if s[0] == "tiling")[2] == 2  # the item says tiling, with its page count
    assert statuses[-1][0] == "ready"
    assert upload_again.document_id == upload.document_id
    assert manifest_again["status"] == "ready" and manifest_again["job_id"] != manifest["job_id"]
    dzi = requests.get(manifest_again["pages"][0]["dzi"], timeout=30)
    assert dzi.status_code == 200 and b"Image" in dzi.content
    assert api.manifest_url(space.workspace, upload.document_id).endswith(f"/documents/{upload.document_id}")
    assert upload.document_id in {d["document_id"] for d in api.documents(space.workspace)}


def test_multipart_upload_and_a_document_that_fails(space: Space, tmp_path: Path) -> None:
    noise = tmp_path / "noise.pdf"  # not a PDF at all: uploads fine, then fails with a reason
    noise.write_bytes(os.urandom(MULTIPART_THRESHOLD + 1024**2))
    api = space.api("bob")
    sent: list[int] = []

    async def scenario() -> tuple[Any, Any, list[Any]]:
        events: list[Any] = []
        async with WorkspaceClient(space.stack.ws, space.token("bob"), space.workspace, on_event=events.append) \
                as bob:
            upload = await asyncio.to_thread(api.upload, space.workspace, noise,
                                             progress=lambda done, total: sent.append(done))
            item = await wait_document(bob, upload.document_id, timeout=CEILING)
        return upload, item, events

    upload, item, events = asyncio.run(scenario())
    assert upload.method == "multipart" and len(upload.grant["multipart"]["parts"]) >= 1
    assert sent[-1] == noise.stat().st_size and sent == sorted(sent) and sent.count(sent[-1]) == 1
    assert item.fields["status"] == "failed" and item.fields.get("reason_code")
    changes = [e for e in events if isinstance(e, DocumentChanged) and e.document_id == upload.document_id]
    assert changes[0].status == "analysing" and changes[-1].status == "failed"
    assert any(isinstance(e, Progress) and e.document_id == upload.document_id for e in events)
    document = api.document(space.workspace, upload.document_id)
    assert document["status"] == "failed" and document["size"] == noise.stat().st_size


def test_admin_routes_end_to_end(space: Space) -> None:
    admin = KalexoApi(space.stack.rest, space.stack.token("admin"))
    suffix = uuid.uuid4().hex[:8]
    account = admin.create_account(f"Studio North {suffix}", "team")
    ines = admin.create_user(account["account_id"], f"ines-{suffix}@studio.test", "Ines", "account_admin")
    issued = admin.issue_token(ines["user_id"], ttl_seconds=600)
    assert issued["expires_in"] <= 600
    as_ines = KalexoApi(space.stack.rest, issued["token"])
    assert as_ines.me()["user_id"] == ines["user_id"]
    created = as_ines.create_workspace(account["account_id"], "Harbour Tower", owner_id=ines["user_id"])
    workspace = created["workspace_id"]
    users = [as_ines.create_user(account["account_id"], f"u{n}-{suffix}@studio.test", f"User {n}") for n in range(3)]
    assert len(list(as_ines.pages(f"/admin/accounts/{account['account_id']}/users", page_size=1))) == 4
    assert as_ines.set_member(workspace, users[0]["user_id"], "editor")["role"] == "editor"
    assert {m["user_id"] for m in as_ines.members(workspace)} == {ines["user_id"], users[0]["user_id"]}
    assert as_ines.update_user(users[1]["user_id"], name="Renamed")["name"] == "Renamed"
    assert "quotas" in as_ines.usage(account["account_id"])
    assert {e["type"] for e in as_ines.events(type="membership.", limit=10)} >= {"membership.added"}
    changed = admin.update_account(account["account_id"], quota_overrides={"max_users": 9})
    assert changed["quotas"]["max_users"] == 9 and changed["quota_overrides"] == {"max_users": 9}
    assert admin.account(account["account_id"])["quota_overrides"] == {"max_users": 9}  # readable, to keep

    with pytest.raises(ApiError) as refused:
        space.api("bob").accounts()
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    with pytest.raises(ApiError) as hidden:
        as_ines.workspace(space.workspace)  # another tenant's: not disclosed
    assert hidden.value.status == 404

    as_ines.remove_member(workspace, users[0]["user_id"])
    as_ines.delete_workspace(workspace)
    for user in users:
        as_ines.delete_user(user["user_id"])
    with pytest.raises(ApiError):
        as_ines.user(users[0]["user_id"])


def test_state_and_restore(space: Space) -> None:
    api = space.api("alice")

    async def scenario() -> None:
        async with WorkspaceClient(space.stack.ws, space.token("alice"), space.workspace) as alice:
            await alice.create_item("r1", "note", {"v": 1, "w": "x"})
            mark = (await alice.update_item("r1", {"v": 2, "w": None})).seq
            then = alice.replica.snapshot()
            await alice.create_item("r2", "task", {"done": False})
            await alice.update_item("r1", {"v": 3, "extra": True})
            state = await asyncio.to_thread(api.state, space.workspace, seq=mark)
            assert state["seq"] == mark and state["items"] == then
            restored = await asyncio.to_thread(api.restore, space.workspace, seq=mark)
            assert restored["restored_to"] == mark and restored["ops"]
            await alice.wait_applied(max(restored["ops"]), CEILING)
            assert {k: (v.kind, v.fields) for k, v in alice.items.items()} == \
                {i["item_id"]: (i["kind"], i["fields"]) for i in then}

    asyncio.run(scenario())
