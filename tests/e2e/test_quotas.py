"""Quotas as reservations, raced through the real local stack: many grants and many documents at once never
take an account past its plan, a grant uploads once, an abort or a removal gives room back.

Each test builds an account of its own (the demo account's totals belong to the other tests)."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kalexo_client import WorkspaceClient

from tests.e2e.api_client import Api, assert_error, wait_until
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.stack import LocalStack

pytestmark = pytest.mark.e2e


def _account(stack: LocalStack, quotas: dict[str, int]) -> tuple[Api, Api, str, str]:
    """(platform admin, the account's editor, account id, workspace id) of a new account with `quotas`."""
    admin = Api(stack, stack.token("admin"))
    suffix = uuid.uuid4().hex[:8]
    account = admin.ok("POST", "/admin/accounts", {"name": f"Quota {suffix}", "plan": "free"}, status=201)
    acc = account["account_id"]
    admin.ok("PATCH", f"/admin/accounts/{acc}", {"quota_overrides": quotas})
    boss = admin.ok("POST", f"/admin/accounts/{acc}/users",
                    {"email": f"boss-{suffix}@quota.test", "name": "Boss", "role": "account_admin"}, status=201)
    token = admin.ok("POST", f"/admin/users/{boss['user_id']}/tokens", {"ttl_seconds": 3600}, status=201)["token"]
    owner = Api(stack, token)
    workspace = owner.ok("POST", f"/admin/accounts/{acc}/workspaces", {"name": "Site", "owner_id": boss["user_id"]},
                         status=201)
    return admin, owner, acc, workspace["workspace_id"]


def _stored(api: Api, acc: str) -> dict[str, int]:
    return dict(api.ok("GET", f"/admin/accounts/{acc}/usage")["stored"])


def _grant(api: Api, ws: str, size: int, **extra: Any) -> requests.Response:
    return api.call("POST", f"/workspaces/{ws}/uploads", {"filename": "sheet.pdf", "size": size,
                                                           "content_type": "application/pdf", **extra})


def _versions(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    listed = stack.client("s3").list_object_versions(Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"], Prefix=key)
    return [v for v in listed.get("Versions", []) if v["Key"] == key]


def test_twenty_racing_grants_take_exactly_the_plan_and_each_grant_uploads_once(stack):
    body = letter_pdf(pages=1, text="reserved")
    plan = 7 * len(body) + len(body) // 2  # room for seven, not eight
    admin, owner, acc, ws = _account(stack, {"max_storage_bytes": plan, "max_pages_per_month": 1000})
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: _grant(owner, ws, len(body)), range(20)))
    granted = [a.json() for a in answers if a.status_code == 201]
    refused = [assert_error(a, 403) for a in answers if a.status_code != 201]
    assert len(granted) == 7 and refused == ["storage_quota_exceeded"] * 13
    assert _stored(admin, acc) == {"bytes_stored": 0, "bytes_reserved": 7 * len(body),
                                   "bytes_committed": 7 * len(body)}

    # Every grant's URL used twice, all at once: each grant stores one version; the second PUT is discarded.
    puts = [g for g in granted for _ in range(2)]
    with ThreadPoolExecutor(max_workers=14) as pool:
        statuses = list(pool.map(lambda g: requests.put(g["url"], data=body, headers=g["headers"], timeout=30)
                                 .status_code, puts))
    assert statuses == [200] * 14  # S3 took them; the ingest settles one per grant
    wait_until(lambda: _stored(admin, acc)["bytes_reserved"] == 0, "every grant settled")
    assert _stored(admin, acc) == {"bytes_stored": 7 * len(body), "bytes_reserved": 0,
                                   "bytes_committed": 7 * len(body)}
    for grant in granted:
        kept = wait_until(lambda g=grant: len(_versions(stack, g["key"])) == 1, "the replay discarded")
        assert kept and len(_versions(stack, grant["key"])) == 1

    def refusals() -> list[dict[str, Any]] | None:
        items = admin.ok("GET", "/admin/events", type="upload.refused", workspace_id=ws, limit=100)["items"]
        return items if len(items) >= 7 else None

    refused_events = wait_until(refusals, "seven refusals logged")
    assert len(refused_events) == 7 and {e["detail"]["code"] for e in refused_events} == {"no_reservation"}
    for grant in granted:  # every document processed once, from the version that was kept
        path = f"/workspaces/{ws}/documents/{grant['document_id']}"
        document = wait_until(lambda p=path: (d := owner.ok("GET", p))["status"] == "ready" and d, "ready")
        assert document["version_id"] == _versions(stack, grant["key"])[0]["VersionId"]
    assert assert_error(_grant(owner, ws, len(body)), 403) == "storage_quota_exceeded"

    # Removing a document gives its bytes back: one more grant fits.
    gone = granted[0]["document_id"]
    owner.ok("DELETE", f"/workspaces/{ws}/documents/{gone}", status=204)
    assert _stored(admin, acc)["bytes_stored"] == 6 * len(body)
    held = _grant(owner, ws, len(body))
    assert held.status_code == 201
    full = _grant(owner, ws, len(body))
    assert assert_error(full, 403) == "storage_quota_exceeded"
    # The refusal says when the room held for that grant comes back if its upload never arrives.
    deadline = owner.ok("GET", f"/workspaces/{ws}/documents/{held.json()['document_id']}")["upload_deadline"]
    by = time.strftime("%H:%M UTC", time.gmtime(deadline))
    assert f"{len(body)} reserved by uploads in progress (given back by {by} at the latest, for any that never " \
           "arrives)" in full.json()["error"]["message"], full.json()


def test_multipart_grants_reserve_their_size_and_an_abort_gives_it_back(stack):
    size = 9 * 1024**2  # over the test stack's multipart threshold (8 MiB)
    admin, owner, acc, ws = _account(stack, {"max_storage_bytes": 12 * 1024**2})
    first = owner.ok("POST", f"/workspaces/{ws}/uploads", {"filename": "survey.pdf", "size": size,
                                                            "content_type": "application/pdf"}, status=201)
    assert first["method"] == "multipart"
    assert assert_error(_grant(owner, ws, size), 403) == "storage_quota_exceeded"  # both would fit 12 MiB apart
    token = {"upload_token": first["multipart"]["upload_token"]}
    path = f"/workspaces/{ws}/documents/{first['document_id']}/upload"
    document = f"/workspaces/{ws}/documents/{first['document_id']}"
    assert owner.ok("GET", document)["status"] == "awaiting_upload"
    owner.ok("POST", path + "/abort", token, status=204)
    assert _stored(admin, acc)["bytes_reserved"] == 0
    # Its only upload given up, the new document is gone for members at once (not after its deadline).
    assert owner.call("GET", document).status_code == 404
    listed = owner.ok("GET", f"/workspaces/{ws}/documents")["items"]
    assert first["document_id"] not in {d["document_id"] for d in listed}
    assert assert_error(owner.call("POST", path + "/complete", token), 409) in ("upload_gone", "grant_expired")
    second = _grant(owner, ws, size)
    assert second.status_code == 201, second.text
    assert second.json()["expires_in"] == 24 * 3600  # the part URLs' lifetime, not a single PUT's

    # More bytes than granted: S3 refuses a part over its signed length (the emulator checks presigned URLs as
    # S3 does). Should more reach S3 anyway (a part written with the bucket's own credentials, say), complete
    # discards the upload and its room goes back at once, with no abort needed.
    part = second.json()["multipart"]["parts"][0]
    assert len(second.json()["multipart"]["parts"]) == 1
    assert requests.put(part["url"], data=b"x" * (size + 1), timeout=60).status_code == 403
    query = parse_qs(urlsplit(part["url"]).query)
    stack.client("s3").upload_part(Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"], Key=second.json()["key"],
                                   UploadId=query["uploadId"][0], PartNumber=1, Body=b"x" * (size + 1))
    token = {"upload_token": second.json()["multipart"]["upload_token"]}
    path = f"/workspaces/{ws}/documents/{second.json()['document_id']}/upload"
    assert assert_error(owner.call("POST", path + "/complete", token), 413) == "upload_too_large"
    assert _stored(admin, acc) == {"bytes_stored": 0, "bytes_reserved": 0, "bytes_committed": 0}


def test_ten_racing_documents_never_admit_more_pages_than_the_plan(stack):
    body = letter_pdf(pages=2, text="pages")
    admin, owner, acc, ws = _account(stack, {"max_pages_per_month": 9})  # room for four 2-page documents
    grants = [owner.ok("POST", f"/workspaces/{ws}/uploads", {"filename": f"d{n}.pdf", "size": len(body),
                                                              "content_type": "application/pdf"}, status=201)
              for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(lambda g: requests.put(g["url"], data=body, headers=g["headers"], timeout=30)
                            .status_code, grants)) == {200}
    seen: list[dict[str, int]] = []

    def settled() -> list[dict[str, Any]] | None:
        usage = admin.ok("GET", f"/admin/accounts/{acc}/usage")["usage"]
        seen.append(usage)  # every intermediate answer is checked below, not only the last
        documents = [owner.ok("GET", f"/workspaces/{ws}/documents/{g['document_id']}") for g in grants]
        return documents if all(d["status"] in ("ready", "failed") for d in documents) else None

    documents = wait_until(settled, "all ten settled", timeout=240)
    assert all(u.get("pages_admitted", 0) <= 9 and u.get("pages_processed", 0) <= 9 for u in seen), seen
    ready = [d for d in documents if d["status"] == "ready"]
    failed = [d for d in documents if d["status"] == "failed"]
    assert len(ready) == 4, [(d["status"], d.get("reason_code"), d.get("reason")) for d in documents]
    assert {d.get("reason_code") for d in failed} == {"pages_quota_exceeded"}
    assert {d.get("reason") for d in failed} == {  # the limit and what is left, not only "no more"
        "this document has 2 pages, more than the 1 page left of the plan's 9 pages this month"}
    usage = wait_until(lambda: (u := admin.ok("GET", f"/admin/accounts/{acc}/usage")["usage"])
                       ["pages_processed"] == 8 and u, "pages metered")
    assert usage["pages_admitted"] == 8

    # A bigger plan, and an owner retries a refused document: the version that failed is tiled now.
    admin.ok("PATCH", f"/admin/accounts/{acc}", {"quota_overrides": {"max_pages_per_month": 10}})
    retried = failed[0]["document_id"]
    assert owner.ok("POST", f"/workspaces/{ws}/documents/{retried}/retry", status=202)["status"] == "queued"
    document = wait_until(lambda: (d := owner.ok(
        "GET", f"/workspaces/{ws}/documents/{retried}"))["status"] == "ready" and d, "the retried document ready")
    assert document["page_count"] == 2
    again = failed[1]["document_id"]  # no room for a sixth: it fails again, with the same reason
    owner.ok("POST", f"/workspaces/{ws}/documents/{again}/retry", status=202)

    def failures_of(document_id: str) -> list[dict[str, Any]]:
        events = admin.ok("GET", "/admin/events", type="document.failed", workspace_id=ws, limit=100)["items"]
        return [e for e in events if e["detail"]["document_id"] == document_id]

    refusals = wait_until(lambda: len(failures_of(again)) >= 2 and failures_of(again), "the second retry refused")
    assert {e["detail"]["code"] for e in refusals} == {"pages_quota_exceeded"}
    assert "this document has 2 pages and the plan's 10 pages this month are all used" in {
        e["detail"]["reason"] for e in refusals}
    assert owner.ok("GET", f"/workspaces/{ws}/documents/{again}")["status"] == "failed"


def test_usage_counts_the_documents_created_and_the_messages_routed(stack):
    admin, owner, acc, ws = _account(stack, {})
    for n in range(2):
        owner.ok("POST", f"/workspaces/{ws}/uploads", {"filename": f"d{n}.pdf", "size": 100,
                                                        "content_type": "application/pdf"}, status=201)

    async def write() -> None:
        async with WorkspaceClient(stack.ws, owner.headers["Authorization"].split()[1], ws) as writer:
            sent = [await writer.chat(f"message {n}", op_id=f"chat-{n}") for n in range(5)]
            again = await writer.chat("message 4", op_id="chat-4")  # a resend: stored and routed once
            assert again == sent[-1]

    asyncio.run(asyncio.wait_for(write(), 300))  # closed: its $disconnect meters the connection
    usage = wait_until(lambda: (u := admin.ok("GET", f"/admin/accounts/{acc}/usage")["usage"])
                       ["messages_routed"] and u, "the connection metered")
    assert (usage["documents"], usage["messages_routed"]) == (2, 5)


def test_a_workspace_holding_documents_is_not_deleted_and_its_storage_comes_back_with_them(stack):
    admin, owner, acc, ws = _account(stack, {"max_storage_bytes": 10**7})
    body = letter_pdf(pages=1, text="Deleted with its site")
    grant = _grant(owner, ws, len(body))
    assert grant.status_code == 201, grant.text
    document = grant.json()["document_id"]
    # A grant not used yet holds room too (its upload could still arrive): the workspace stays.
    assert assert_error(owner.call("DELETE", f"/admin/workspaces/{ws}"), 409) == "workspace_not_empty"
    assert requests.put(grant.json()["url"], data=body, headers=grant.json()["headers"], timeout=30).status_code == 200
    wait_until(lambda: _stored(admin, acc)["bytes_stored"] == len(body), "the upload stored")
    for api in (owner, admin):
        refused = api.call("DELETE", f"/admin/workspaces/{ws}")
        assert assert_error(refused, 409) == "workspace_not_empty" and "remove them" in refused.json()["error"][
            "message"]
    assert owner.ok("GET", f"/workspaces/{ws}")["workspace_id"] == ws  # nothing was taken away
    assert owner.ok("GET", f"/workspaces/{ws}/documents/{document}")["document_id"] == document
    owner.ok("DELETE", f"/workspaces/{ws}/documents/{document}", status=204)
    owner.ok("DELETE", f"/admin/workspaces/{ws}", status=204)
    assert _stored(admin, acc) == {"bytes_stored": 0, "bytes_reserved": 0, "bytes_committed": 0}
    assert owner.call("GET", f"/workspaces/{ws}").status_code == 404


def test_upload_grants_of_a_member_removed_demoted_or_deleted_are_revoked(stack):
    admin, owner, acc, ws = _account(stack, {"max_storage_bytes": 10**7})
    suffix = uuid.uuid4().hex[:6]
    body = letter_pdf(pages=1, text="After leaving")
    people = {}
    for name in ("left", "demoted", "deleted", "stays"):
        user = owner.ok("POST", f"/admin/accounts/{acc}/users", {"email": f"{name}-{suffix}@quota.test",
                                                                 "name": name}, status=201)
        owner.ok("PUT", f"/admin/workspaces/{ws}/members/{user['user_id']}", {"role": "editor"})
        token = owner.ok("POST", f"/admin/users/{user['user_id']}/tokens", {"ttl_seconds": 3600}, status=201)
        grant = _grant(Api(stack, token["token"]), ws, len(body))
        assert grant.status_code == 201, grant.text
        people[name] = (user["user_id"], grant.json())
    assert _stored(admin, acc)["bytes_reserved"] == 4 * len(body)
    owner.ok("DELETE", f"/admin/workspaces/{ws}/members/{people['left'][0]}", status=204)
    owner.ok("PUT", f"/admin/workspaces/{ws}/members/{people['demoted'][0]}", {"role": "viewer"})
    owner.ok("DELETE", f"/admin/users/{people['deleted'][0]}", status=204)
    assert _stored(admin, acc)["bytes_reserved"] == len(body)  # only the member who stays holds room
    listed = {d["document_id"] for d in owner.ok("GET", f"/workspaces/{ws}/documents")["items"]}
    for name, (_, grant) in people.items():  # a new document whose only grant was revoked is gone, as if aborted
        found = owner.call("GET", f"/workspaces/{ws}/documents/{grant['document_id']}").status_code
        assert (found, grant["document_id"] in listed) == ((200, True) if name == "stays" else (404, False)), name
    for _, grant in people.values():  # every URL still uploads to S3 (a presigned PUT): the ingest decides
        assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    kept = people["stays"][1]["document_id"]
    wait_until(lambda: owner.ok("GET", f"/workspaces/{ws}/documents/{kept}")["status"] == "ready", "processed", 120)
    refused = wait_until(lambda: len(r := [e for e in owner.ok("GET", "/admin/events", workspace_id=ws,
                                                              type="upload.refused")["items"]]) == 3 and r,
                         "three uploads refused")
    keys = {people[name][1]["key"] for name in ("left", "demoted", "deleted")}
    assert {e["detail"]["key"] for e in refused} == keys
    assert _stored(admin, acc) == {"bytes_stored": len(body), "bytes_reserved": 0, "bytes_committed": len(body)}
    for name in ("left", "demoted", "deleted"):
        assert all(v["Key"] != people[name][1]["key"] or not v["IsLatest"]
                   for v in _versions(stack, people[name][1]["key"])), name  # discarded
