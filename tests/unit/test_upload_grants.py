"""Upload grants: who may upload, what, how big, and the storage quota checked before any byte is stored."""

import dataclasses
import time

import pytest

from chalicelib.domain.documents import LONGEST_UPLOAD_S, Document, DocumentStatus
from chalicelib.domain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, QuotaExceeded
from chalicelib.domain.paging import Page
from chalicelib.services.access import AccessService
from chalicelib.services.documents import DocumentService
from chalicelib.services.upload_grants import GRANT_SECONDS, LATE_UPLOAD_SECONDS, UploadGrants, safe_name
from tests.fake_uploads import InMemoryUploadLog
from tests.fakes import RecordingEvents
from tests.unit.test_access import TOKENS, tenancy_with_demo, token


class FakePresigner:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        self.keys.append(key)
        return f"https://bucket.example/{key}?signed"


class Documents:
    """The DocumentRecords calls a grant makes, as the DynamoDB adapter behaves."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Document] = {}

    def create(self, document) -> None:
        self.items[(document.workspace_id, document.document_id)] = document

    def get(self, workspace_id: str, document_id: str):
        return self.items.get((workspace_id, document_id))

    def extend_upload(self, workspace_id: str, document_id: str, deadline: int) -> bool:
        document = self.items.get((workspace_id, document_id))
        if document is None or document.status is not DocumentStatus.AWAITING_UPLOAD:
            return False
        self.items[(workspace_id, document_id)] = dataclasses.replace(document, upload_deadline=deadline)
        return True


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
    assert document.name == "Site Plan (rev B).pdf" and document.status.value == "awaiting_upload"
    assert grant.to_dict()["headers"] == {"Content-Type": "application/pdf", "Content-Length": "1200"}
    assert presigner.keys == [grant.key]
    assert events.types() == ["upload.granted"]


@pytest.mark.parametrize("declared", ["APPLICATION/PDF", "application/pdf; charset=binary", " Application/Pdf "])
def test_a_media_type_is_read_case_insensitively_without_its_parameters(declared):
    service, access, _, _ = grants()
    grant = service.grant(access.authenticate(token("bob")), "ws-a", "plan.pdf", 1200, declared)
    assert grant.to_dict()["headers"]["Content-Type"] == "application/pdf"  # as signed into the URL
    assert service._documents.get("ws-a", grant.document_id).declared_type == "application/pdf"


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


def test_a_refused_type_says_what_to_upload_instead():
    """A tester dropping a DWG was told only that "'image/vnd.dwg' is not a document type this service processes"."""
    service, access, _, _ = grants()
    with pytest.raises(BadRequest) as refused:
        service.grant(access.authenticate(token("bob")), "ws-a", "level-2.dwg", 100, "image/vnd.dwg")
    assert refused.value.code == "unsupported_type"
    assert "upload a PDF" in str(refused.value) and "export CAD drawings (DWG" in str(refused.value)


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


@pytest.mark.parametrize(("name", "safe"), [
    ("plan.pdf", "plan.pdf"), ("a/b/c.png", "c.png"), ("..", "document"), ("x\\y\\z.tif", "z.tif"),
    ("   ", "document"), ("é€.pdf", "é€.pdf"), ("日本語の図面.pdf", "日本語の図面.pdf"),
    ("façade Süd.pdf", "façade Süd.pdf"), ("plan 🏗️ (rev B).pdf", "plan 🏗️ (rev B).pdf"),
    ("fac\u0327ade.pdf", "façade.pdf"),  # decomposed, as macOS names files: composed
    ("a\x00b\nc.pdf", "ab c.pdf"), ("invoice\u202efdp.exe", "invoicefdp.exe"), ("what?*.pdf", "what__.pdf"),
    ("\u200b\u3164\u2800", "document"), ("???", "document"), ("نامه\u200cها.pdf", "نامه\u200cها.pdf"),  # noqa: RUF001 (Persian, on purpose)
    ("👩\u200d💻 notes.pdf", "👩\u200d💻 notes.pdf"), ("Plan\tB.pdf", "Plan B.pdf"),
    ("x" * 200 + ".pdf", "x" * 116 + ".pdf"), ("y" * 200, "y" * 120)])
def test_safe_names(name, safe):
    assert safe_name(name) == safe


def test_an_upload_that_never_arrives_leaves_a_document_nobody_sees_after_its_deadline():
    service, access, _, _ = grants()
    bob = access.authenticate(token("bob"))
    before = int(time.time())
    grant = service.grant(bob, "ws-a", "plan.pdf", 100, "application/pdf")
    documents = service._documents
    document = documents.get("ws-a", grant.document_id)
    reservation = service._ledger.reservations[("acc-a", grant.key, grant.upload_id)]
    # The document waits exactly as long as the storage reservation: no upload is accepted after that.
    assert before + GRANT_SECONDS + LATE_UPLOAD_SECONDS <= document.upload_deadline == reservation[1]
    listing = DocumentService(access, Listing(documents), None, None, None, None)  # type: ignore[arg-type]
    assert [d.document_id for d in listing.list(bob, "ws-a", 10, None).items] == [grant.document_id]
    assert listing.manifest(bob, "ws-a", grant.document_id, "https://api")["status"] == "awaiting_upload"

    documents.items[("ws-a", grant.document_id)] = dataclasses.replace(document, upload_deadline=before - 1)
    assert listing.list(bob, "ws-a", 10, None).items == []
    with pytest.raises(NotFound):
        listing.manifest(bob, "ws-a", grant.document_id, "https://api")
    # A document whose upload arrived is never abandoned, whatever its deadline said.
    documents.items[("ws-a", grant.document_id)] = dataclasses.replace(
        document, upload_deadline=before - 1, status=DocumentStatus.ANALYSING)
    assert len(listing.list(bob, "ws-a", 10, None).items) == 1


def test_a_first_upload_granted_again_waits_longer_but_a_new_version_leaves_the_document_alone():
    service, access, _, _ = grants()
    bob = access.authenticate(token("bob"))
    first = service.grant(bob, "ws-a", "plan.pdf", 100, "application/pdf")
    documents = service._documents
    earlier = dataclasses.replace(documents.get("ws-a", first.document_id), upload_deadline=5)
    documents.items[("ws-a", first.document_id)] = earlier
    again = service.grant(bob, "ws-a", "plan.pdf", 100, "application/pdf", document_id=first.document_id)
    assert documents.get("ws-a", first.document_id).upload_deadline == \
        service._ledger.reservations[("acc-a", again.key, again.upload_id)][1]
    ready = dataclasses.replace(earlier, status=DocumentStatus.READY, upload_deadline=None)
    documents.items[("ws-a", first.document_id)] = ready
    service.grant(bob, "ws-a", "plan v2.pdf", 100, "application/pdf", document_id=first.document_id)
    assert documents.get("ws-a", first.document_id) == ready


class Listing:
    """The DocumentRecords reads of the list and the manifest, over a grant's documents."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def in_workspace(self, workspace_id: str, limit: int, start_key: object) -> Page[Document]:
        return Page([d for (w, _), d in self.documents.items.items() if w == workspace_id][:limit], None)

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        return self.documents.get(workspace_id, document_id)


def test_a_document_from_before_deadlines_counts_as_abandoned_once_no_upload_could_complete():
    legacy = Document("ws-a", "doc-0123456789abcdef", "acc-a", "a.pdf", "application/pdf",
                      DocumentStatus.AWAITING_UPLOAD, created_at=1_000, created_by="bob")
    assert not legacy.abandoned(now=1_000 + LONGEST_UPLOAD_S)
    assert legacy.abandoned(now=1_001 + LONGEST_UPLOAD_S)
    assert not dataclasses.replace(legacy, status=DocumentStatus.FAILED).abandoned(now=10**10)
