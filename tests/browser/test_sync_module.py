"""web/js/sync.js on its own, in the browser: ops out of order, twice, or past a gap; and a chat whose ack was
lost in a drop is not sent again when the resumed ops show it arrived. No server: `send` is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import WebStack

SETUP = """async () => {
  const { WorkspaceSync } = await import('./js/sync.js');
  window.op = (seq, kind, data, by = 'bob') => ({ seq, kind, by, at_ms: seq, data });
  window.fresh = () => {
    const sync = new WorkspaceSync({ url: 'ws://unused', token: 'opaque', workspace: 'ws-demo', me: 'alice' });
    sync.sent = [];
    sync.send = (message) => { sync.sent.push(message); return true; };
    sync.ws = { id: 1 };
    sync.receive({ action: 'welcome', role: 'editor', presence: [], online: [], latest_seq: 0,
                   state: { seq: 0, items: [] } });
    sync.sent = [];
    sync.historyAsked = false;
    return sync;
  };
  window.chats = (sync) => [...sync.chats.values()].sort((a, b) => a.seq - b.seq).map((o) => o.data.text);
}"""


@pytest.fixture(scope="module")
def page(web_stack: WebStack, browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(web_stack.url)
    opened.evaluate(SETUP)
    yield opened
    context.close()


def test_ops_apply_in_sequence_once_and_gaps_are_fetched(page: Any) -> None:
    result = page.evaluate("""() => {
      const sync = fresh();
      sync.feed([op(1, 'chat', { text: 'one' }), op(3, 'chat', { text: 'three' }), op(1, 'chat', { text: 'one' })]);
      const afterGap = { last: sync.lastSeq, chats: chats(sync), asked: sync.sent.map((m) => [m.action, m.after]) };
      sync.receive({ action: 'history', ops: [op(2, 'chat', { text: 'two' }), op(3, 'chat', { text: 'three' })],
                     latest_seq: 3, more: false });
      sync.feed([op(2, 'chat', { text: 'two' })]);
      return { afterGap, last: sync.lastSeq, chats: chats(sync) };
    }""")
    assert result["afterGap"] == {"last": 1, "chats": ["one"], "asked": [["history", 1]]}
    assert result["last"] == 3
    assert result["chats"] == ["one", "two", "three"]


def test_items_follow_the_log_and_deletes_are_final(page: Any) -> None:
    items = page.evaluate("""() => {
      const sync = fresh();
      sync.feed([op(2, 'item.update', { item_id: 'n1', fields: { x: 50 } }),
                 op(1, 'item.create', { item_id: 'n1', kind: 'note', fields: { text: 'hi', x: 1, y: 2 } }),
                 op(3, 'item.create', { item_id: 'n2', kind: 'note', fields: { text: 'bye', x: 0, y: 0 } }),
                 op(4, 'item.delete', { item_id: 'n2' }),
                 op(5, 'item.update', { item_id: 'n2', fields: { x: 9 } })]);
      return Object.fromEntries([...sync.items].map(([id, item]) => [id, item.fields]));
    }""")
    assert items == {"n1": {"text": "hi", "x": 50, "y": 2}}


def test_a_chat_whose_ack_was_lost_is_not_sent_twice(page: Any) -> None:
    result = page.evaluate("""() => {
      const sync = fresh();
      sync.chat('made it');         // sent, then the connection drops before the ack
      sync.chat('did not make it'); // sent too, but the router never got it
      sync.connected = false;
      sync.ws = { id: 2 };
      sync.sent = [];
      sync.receive({ action: 'welcome', role: 'editor', presence: [], online: [], latest_seq: 1, more: false,
                     ops: [op(1, 'chat', { text: 'made it' }, 'alice')] });
      return { resent: sync.sent.filter((m) => m.action === 'chat').map((m) => m.text), chats: chats(sync),
               waiting: sync.outbox.map((e) => e.body.text) };
    }""")
    assert result == {"resent": ["did not make it"], "chats": ["made it"], "waiting": ["did not make it"]}
