"""Earlier chat on request. A page opened after a busy stretch of document work held only the chat of the last
ops before its join: an outside tester counted 32 lines in a fresh page against 111 in one left open, with no
sign that more existed. "Show earlier messages" reads the log backwards until it finds more lines or its start."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in, wait_until

pytestmark = pytest.mark.timeout(300)
BUSY_OPS = 130  # more than the chat a fresh page reads for context (web/js/sync.js RECENT_CHAT, 100 ops)


def _send_all(web_stack: WebStack, workspace: str, messages: list[dict[str, Any]]) -> None:
    """Each message as alice, one at a time, each acknowledged (a `rate_limited` one sent again after its delay)."""
    query = f"token={web_stack.stack.token('alice')}&workspace={workspace}"
    with connect(f"{web_stack.stack.ws}/?{query}", open_timeout=15) as ws:
        for message in messages:
            op_id = f"op-{uuid.uuid4().hex[:10]}"
            while True:
                ws.send(json.dumps({**message, "workspace": workspace, "op_id": op_id, "id": op_id}))
                reply = _reply_to(ws, op_id)
                if reply["action"] == "ack":
                    break
                assert reply["error"]["code"] == "rate_limited", reply
                time.sleep(reply["error"]["retry_after_ms"] / 1000)


def _reply_to(ws: Any, request_id: str) -> dict[str, Any]:
    while True:
        reply: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if reply.get("id") == request_id:
            return reply


def test_a_fresh_page_shows_earlier_chat_on_request(web_stack: WebStack, browser: Any) -> None:
    studio = create_studio(web_stack, f"Chatty {uuid.uuid4().hex[:6]}")
    early = [f"early line {n}" for n in range(1, 6)]
    late = [f"late line {n}" for n in range(1, 3)]
    _send_all(web_stack, studio, [
        *({"action": "chat", "text": text} for text in early),
        {"action": "item.create", "item_id": "plan-status", "kind": "note", "fields": {"text": "rev 0"}},
        *({"action": "item.update", "item_id": "plan-status", "fields": {"text": f"rev {n}"}}
          for n in range(1, BUSY_OPS)),
        *({"action": "chat", "text": text} for text in late)])
    vera = open_in(browser, web_stack, studio, "vera")
    page = vera.page
    lines = "() => [...document.querySelectorAll('#chat-log li .text')].map((t) => t.textContent)"
    try:
        more = page.locator("#chat-earlier")
        more.wait_for(state="visible", timeout=60_000)
        wait_until(lambda: page.evaluate(lines) == late, page, "the recent chat")  # the early lines not yet
        more.click()
        wait_until(lambda: page.evaluate(lines) == [*early, *late], page, "the earlier chat, in order, once")
        wait_until(lambda: not more.is_visible(), page, "no more to show: the log's start was reached")
        seqs = page.locator("#chat-log li").evaluate_all("els => els.map((e) => Number(e.dataset.seq))")
        assert seqs == sorted(set(seqs)) and seqs[0] <= len(early)  # the workspace's first ops
        # Live chat goes on below them.
        page.fill("#chat-input", "and now")
        page.press("#chat-input", "Enter")
        wait_until(lambda: page.evaluate(lines) == [*early, *late, "and now"], page, "a new line after them")
    finally:
        vera.context.close()
