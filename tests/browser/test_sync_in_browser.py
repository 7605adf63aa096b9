"""Sync as two people live it in the browser: one who only watches for three minutes stays online and gets
chat live; a document added while the other was offline appears when the network returns, without a reload;
documents keep their places across reloads, the same for both."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import UserPage, WebStack
from tests.browser.team import upload
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(600)


def wait_until(check: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def say(person: UserPage, text: str) -> None:
    person.page.fill("#chat-input", text)
    person.page.press("#chat-input", "Enter")


def test_a_member_who_only_watches_stays_online_and_gets_chat_live(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    alice.page.wait_for_selector("#people li[data-user=bob]")
    bob.page.evaluate("window.__loaded = true")  # gone if the page reloads
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < 180:  # bob does nothing at all for three minutes (twice the stale bound)
        n += 1
        say(alice, f"watching {n}")
        bob.page.wait_for_selector(f"#chat-log li:not(.pending):has-text('watching {n}')", timeout=8_000)
        assert alice.page.locator("#people li[data-user=bob]").count() == 1, "bob dropped out of alice's list"
        assert bob.page.locator("#connection").get_attribute("data-state") == "connected"
        time.sleep(10)
    assert bob.page.evaluate("window.__loaded") is True
    assert not any("no longer exists" in e for e in bob.errors) and bob.page.locator("#errors li").count() == 0


def test_a_document_added_while_offline_appears_when_the_network_returns(people: dict[str, UserPage],
                                                                          web_stack: WebStack) -> None:
    alice, bob = people["alice"], people["bob"]
    bob.page.evaluate("window.__loaded = true")
    bob.context.set_offline(True)
    bob.page.wait_for_selector("#banner:not([hidden])")
    document = upload(web_stack, "alice", "while you were out.pdf", letter_pdf(pages=2, text="Offline"))
    ready = f'#documents li[data-doc="{document}"][data-status=ready]'
    alice.page.wait_for_selector(ready, timeout=90_000)
    time.sleep(1)
    assert bob.page.locator(f'#documents li[data-doc="{document}"]').count() == 0, "bob was not offline"
    bob.context.set_offline(False)
    bob.page.wait_for_selector(ready, timeout=30_000)  # from the resumed ops, no reload
    bob.page.wait_for_selector(f'.doc-label[data-doc="{document}"]')
    assert bob.page.evaluate("window.__loaded") is True
    wait_until(lambda: bob.page.locator(".page-placeholder").count() == 0, what="the new pages on bob's landscape")


def places(person: UserPage) -> dict[str, tuple[str, str]]:
    labels = person.page.locator(".doc-label").evaluate_all(
        "els => els.map(e => [e.dataset.doc, e.dataset.x, e.dataset.y])")
    return {doc: (x, y) for doc, x, y in labels}


def test_documents_keep_their_places_across_reloads_and_people(people: dict[str, UserPage],
                                                               web_stack: WebStack) -> None:
    alice, bob = people["alice"], people["bob"]
    added = {upload(web_stack, "bob", name, letter_pdf(pages=1, text=name)) for name in ("later 1.pdf", "later 2.pdf")}
    wait_until(lambda: added <= set(places(alice)) and places(alice) == places(bob), what="the same places on both")
    before = places(alice)
    assert len(set(before.values())) == len(before)  # no two documents in one place
    alice.page.reload()
    alice.page.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    wait_until(lambda: places(alice) == before, what=f"the same places after a reload: {before}")
    assert places(bob) == before
