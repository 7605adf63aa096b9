"""Who may remove a document, and what a refused member is told: owners remove any document, editors those they
uploaded. A viewer was told "editors only; you are a viewer" (an outside tester): any editor could, it said,
which is not the rule. A refusal now says the whole rule, and why it applies to the one refused; another
tenant's or a missing document stays 404 whatever the role."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.services.access import AccessService
from chalicelib.services.documents import DocumentService
from tests.fakes import RecordingEvents
from tests.unit.test_access import TOKENS, actor, tenancy_with_demo
from tests.unit.test_document_retry import OneDocument, SentTasks, failed

RULE = "owners remove any document, and editors those they uploaded"


def service_with(document_by: str) -> tuple[DocumentService, AccessService]:
    access = AccessService(TOKENS, tenancy_with_demo())
    records = OneDocument(replace(failed("corrupt"), created_by=document_by))
    service = DocumentService(access, cast(Any, records), cast(Any, SentTasks()), cast(Any, None),
                              RecordingEvents(), cast(Any, None))
    return service, access


@pytest.mark.parametrize(("user", "why"), [("vic", "you are a viewer"),
                                           ("bob", "another member uploaded this one")])
def test_a_refusal_says_the_whole_rule_and_why_it_applies(user: str, why: str) -> None:
    service, access = service_with(document_by="ann")
    with pytest.raises(Forbidden) as refused:
        service.remove(actor(access, user), "ws-a", "doc-0123456789abcdef")
    assert refused.value.code == "role_too_low"
    assert str(refused.value) == f"{RULE}; {why}"


def test_a_viewer_who_uploaded_it_before_being_made_viewer_is_refused_too() -> None:
    service, access = service_with(document_by="vic")
    with pytest.raises(Forbidden) as refused:
        service.remove(actor(access, "vic"), "ws-a", "doc-0123456789abcdef")
    assert str(refused.value).endswith("you are a viewer")


@pytest.mark.parametrize(("user", "workspace", "document_id"), [("vic", "ws-a", "doc-fedcba9876543210"),
                                                                ("olga", "ws-a", "doc-0123456789abcdef")])
def test_a_missing_or_another_tenants_document_is_404_whatever_the_role(user: str, workspace: str,
                                                                          document_id: str) -> None:
    service, access = service_with(document_by="ann")
    with pytest.raises(NotFound):
        service.remove(actor(access, user), workspace, document_id)
