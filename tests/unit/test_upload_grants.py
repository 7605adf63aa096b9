"""Upload grants: who may upload, what, how big, and the storage quota checked before any byte is stored."""

import dataclasses

import pytest

from chalicelib.domain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, QuotaExceeded
from chalicelib.services.access import AccessService
from chalicelib.services.upload_grants import UploadGrants, safe_name
from tests.fakes import InMemoryUploadLog, RecordingEvents
from tests.unit.test_access import TOKENS, tenancy_with_demo, token


class FakePresigner:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        self.keys.append(key)
        return f"https://bucket.example/{key}?signed"


class Documents:
    """The two DocumentRecords calls a grant makes."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], object] = {}

    def create(self, document) -> None:
        self.items[(document.workspace_id, document.document_id)] = document

    def get(self, workspace_id: str, document_id: str):
        return self.items.get((workspace_id, document_id))


def grants(used: int = 0, max_storage: int | None = 10_000):
    tenancy = tenancy_with_demo()
    account = tenancy.accounts["acc-a"]
    tenancy.accounts["acc-a"] = dataclasses.replace(account, quota_overrides={"max_storage_bytes": max_storage})
    access = AccessService(TOKENS, tenancy)
    presigner, events = FakePresigner(), RecordingEvents()
    ledger = InMemoryUploadLog()
    ledger.stored["acc-a"] = used
    service = UploadGrants(access, tenancy, ledger, presigner, events, 5_000, Documents())  # type: ignore[arg-type]
    return service, access, presigner, events


def test_an_editor_gets_a_presigned_put_under_the_workspace():
    service, access, presigner, events = grants()
    grant = service.grant(access.authenticate(token("bob")), "ws-a", "../../etc/Site Plan (rev B).pdf", 1200,
                          "application/pdf")
    # The key is made of ids only; the name a person typed is the document's name, made safe.
    assert grant.key == f"workspaces/ws-a/documents/{grant.document_id}/source"
    document = service._documents.get("ws-a", grant.document_id)
    assert document.name == "Site Plan _rev B_.pdf" and document.status.value == "awaiting_upload"
    assert grant.to_dict()["headers"] == {"Content-Type": "application/pdf", "Content-Length": "1200"}
    assert presigner.keys == [grant.key]
    assert events.types() == ["upload.granted"]


@pytest.mark.parametrize(("user", "workspace", "size", "content_type", "refusal"), [
    ("vic", "ws-a", 100, "application/pdf", Forbidden),            # a viewer
    ("olga", "ws-a", 100, "application/pdf", NotFound),            # another tenant
    ("bob", "ws-a", 100, "application/x-msdownload", BadRequest),  # not a document
    ("bob", "ws-a", 6_000, "application/pdf", PayloadTooLarge),    # over the per-upload limit
    ("bob", "ws-a", 4_000, "application/pdf", QuotaExceeded),      # 7,000 stored + 4,000 > 10,000
])
def test_refusals_come_before_anything_is_signed(user, workspace, size, content_type, refusal):
    service, access, presigner, events = grants(used=7_000)
    with pytest.raises(refusal):
        service.grant(access.authenticate(token(user)), workspace, "a.pdf", size, content_type)
    assert presigner.keys == [] and events.events == []


def test_a_new_version_goes_to_the_same_key_and_only_for_a_document_of_that_workspace():
    service, access, presigner, _ = grants()
    bob = access.authenticate(token("bob"))
    first = service.grant(bob, "ws-a", "plan.pdf", 100, "application/pdf")
    second = service.grant(bob, "ws-a", "plan v2.pdf", 120, "application/pdf", document_id=first.document_id)
    assert second.key == first.key and second.document_id == first.document_id
    with pytest.raises(NotFound):
        service.grant(bob, "ws-a", "x.pdf", 100, "application/pdf", document_id="doc-0000000000000000")


def test_unlimited_plans_are_not_checked():
    service, access, presigner, _ = grants(used=10**12, max_storage=None)
    service.grant(access.authenticate(token("bob")), "ws-a", "a.pdf", 4_000, "application/pdf")
    assert len(presigner.keys) == 1


def test_grants_reserve_their_size_so_grants_taken_before_any_upload_cannot_pass_the_plan():
    service, access, presigner, _ = grants(used=7_000)
    bob = access.authenticate(token("bob"))
    for _ in range(3):
        service.grant(bob, "ws-a", "a.pdf", 1_000, "application/pdf")  # 10,000 committed: the plan, exactly
    with pytest.raises(QuotaExceeded, match="3000 reserved"):
        service.grant(bob, "ws-a", "a.pdf", 1, "application/pdf")
    assert service._ledger.totals("acc-a") == {"bytes_stored": 7_000, "bytes_reserved": 3_000,
                                               "bytes_committed": 10_000}


def test_expired_reservations_give_their_room_back_at_the_next_grant():
    service, access, _, _ = grants(used=9_000)
    bob = access.authenticate(token("bob"))
    first = service.grant(bob, "ws-a", "a.pdf", 1_000, "application/pdf")
    ledger = service._ledger
    size, _, order = ledger.reservations[("acc-a", first.key, first.upload_id)]
    ledger.reservations[("acc-a", first.key, first.upload_id)] = (size, 0, order)  # its time passed
    service.grant(bob, "ws-a", "b.pdf", 1_000, "application/pdf")
    assert ledger.totals("acc-a")["bytes_reserved"] == 1_000


@pytest.mark.parametrize(("name", "safe"), [("plan.pdf", "plan.pdf"), ("a/b/c.png", "c.png"),
                                            ("..", "document"), ("x\\y\\z.tif", "z.tif"), ("é€.pdf", "__.pdf")])
def test_safe_names(name, safe):
    assert safe_name(name) == safe
