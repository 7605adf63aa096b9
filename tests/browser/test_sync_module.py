"""web/js/sync.js on its own, in the browser, against the client algorithm of docs/protocol.md: ops out of
order, twice, before the welcome or past a gap; a state in pages; a reset log; and an outbox whose ops are sent
again with their op ids after a drop. No server: `send` is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import WebStack

SETUP = """async () => {
  const { WorkspaceSync } = await import('./js/sync.js');
  window.WorkspaceSync = WorkspaceSync;
  window.op = (seq, kind, data, by = 'bob', op_id) => ({ seq, kind, by, at_ms: seq, data,
                                                         ...(op_id ? { op_id } : {}) });
  window.welcomeMsg = (state) => ({ action: 'welcome', role: 'editor', presence: [], online: [], latest_seq: state.seq,
                                    heartbeat_ms: 60000, state: { more: false, next: null, ...state } });
  window.fresh = () => {
    const sync = new WorkspaceSync({ url: 'ws://unused', token: 'opaque', workspace: 'ws-demo', me: 'alice' });
    sync.sent = [];
    sync.send = (message) => { sync.sent.push(message); return true; };
    sync.ws = { id: 1 };
    sync.receive(welcomeMsg({ seq: 0, items: [] }));
    sync.sent = [];
    sync.historyAsked = false;
    return sync;
  };
  window.chats = (sync) => [...sync.chats.values()].sort((a, b) => a.seq - b.seq).map((o) => o.data.text);
  window.fields = (sync) => Object.fromEntries([...sync.items].map(([id, item]) => [id, item.fields]));
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
    result = page.evaluate("""async () => {
      const sync = fresh();
      sync.feed([op(1, 'chat', { text: 'one' }), op(3, 'chat', { text: 'three' }), op(1, 'chat', { text: 'one' })]);
      const atOnce = sync.sent.length;  // a gap is given a moment to close by itself
      await new Promise((resolve) => setTimeout(resolve, 600));
      const afterGap = { applied: sync.applied, chats: chats(sync), asked: sync.sent.map((m) => [m.action, m.after]) };
      sync.receive({ action: 'history', ops: [op(2, 'chat', { text: 'two' }), op(3, 'chat', { text: 'three' })],
                     latest_seq: 3, more: false });
      sync.feed([op(2, 'chat', { text: 'two' })]);
      return { atOnce, afterGap, applied: sync.applied, chats: chats(sync) };
    }""")
    assert result["atOnce"] == 0
    assert result["afterGap"] == {"applied": 1, "chats": ["one"], "asked": [["history", 1]]}
    assert result["applied"] == 3
    assert result["chats"] == ["one", "two", "three"]


def test_a_gap_that_closes_by_itself_asks_for_no_history(page: Any) -> None:
    result = page.evaluate("""async () => {
      const sync = fresh();
      sync.feed([op(2, 'chat', { text: 'two' })]);  // posted in parallel: 2 overtook 1
      sync.feed([op(1, 'chat', { text: 'one' })]);
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { applied: sync.applied, chats: chats(sync), sent: sync.sent.length };
    }""")
    assert result == {"applied": 2, "chats": ["one", "two"], "sent": 0}


def test_items_follow_the_rules_of_the_protocol(page: Any) -> None:
    items = page.evaluate("""() => {
      const sync = fresh();
      sync.feed([op(2, 'item.update', { item_id: 'n1', fields: { x: 50, y: null } }),
                 op(1, 'item.create', { item_id: 'n1', kind: 'note', fields: { text: 'hi', x: 1, y: 2, z: null } }),
                 op(3, 'item.create', { item_id: 'n2', kind: 'note', fields: { text: 'bye', x: 0 } }),
                 op(4, 'item.delete', { item_id: 'n2' }),
                 op(5, 'item.create', { item_id: 'n2', kind: 'task', fields: { done: false } })]);
      return fields(sync);
    }""")
    assert items == {"n1": {"text": "hi", "x": 50}, "n2": {"done": False}}  # null removes; a create starts over


def test_ops_before_the_welcome_and_a_state_in_pages_come_out_right(page: Any) -> None:
    result = page.evaluate("""() => {
      const sync = new WorkspaceSync({ url: 'ws://unused', token: 'opaque', workspace: 'ws-demo', me: 'alice' });
      sync.sent = [];
      sync.send = (message) => { sync.sent.push(message); return true; };
      sync.ws = { id: 1 };
      sync.receive({ action: 'op', op: op(6, 'item.update', { item_id: 'b', fields: { v: 6 } }) }); // early
      sync.receive({ action: 'op', op: op(5, 'item.create', { item_id: 'b', kind: 'note', fields: { v: 5 } }) });
      sync.receive(welcomeMsg({ seq: 5, items: [{ item_id: 'a', kind: 'note', fields: { v: 1 } }], more: true,
                                next: 'a' }));
      const asked = sync.sent.filter((m) => m.action === 'state').map((m) => [m.seq, m.after]);
      sync.receive({ action: 'state', seq: 5, items: [{ item_id: 'b', kind: 'note', fields: { v: 5 } }],
                     more: false, next: null });
      return { asked, applied: sync.applied, items: fields(sync) };
    }""")
    assert result == {"asked": [[5, "a"]], "applied": 6, "items": {"a": {"v": 1}, "b": {"v": 6}}}


def test_a_reset_log_replaces_the_replica(page: Any) -> None:
    result = page.evaluate("""() => {
      const sync = fresh();
      sync.feed([op(1, 'item.create', { item_id: 'old', kind: 'note', fields: {} }), op(2, 'chat', { text: 'hi' })]);
      sync.receive({ action: 'pong', latest_seq: 0 });  // the server's log is shorter than ours
      const rejoined = sync.sent.filter((m) => m.action === 'join').map((m) => m.since);
      sync.receive({ ...welcomeMsg({ seq: 0, items: [] }), reset: true });  // the resume finds a reset log
      return { rejoined, applied: sync.applied, items: fields(sync), chats: chats(sync) };
    }""")
    assert result == {"rejoined": [2], "applied": 0, "items": {}, "chats": []}


def test_a_pong_behind_the_replica_resumes_and_keeps_it(page: Any) -> None:
    """A pong read just before ops that reached the client first is behind too: resuming brings nothing new
    and the replica stays (protocol step 3)."""
    result = page.evaluate("""() => {
      const sync = fresh();
      sync.feed([op(1, 'item.create', { item_id: 'kept', kind: 'note', fields: {} }), op(2, 'chat', { text: 'hi' })]);
      sync.receive({ action: 'pong', latest_seq: 1 });
      const rejoined = sync.sent.filter((m) => m.action === 'join').map((m) => m.since);
      sync.receive({ action: 'welcome', role: 'editor', presence: [], online: [], latest_seq: 2, more: false,
                     heartbeat_ms: 60000, ops: [] });
      return { rejoined, applied: sync.applied, items: Object.keys(fields(sync)), chats: chats(sync) };
    }""")
    assert result == {"rejoined": [2], "applied": 2, "items": ["kept"], "chats": ["hi"]}


def test_unanswered_ops_are_sent_again_with_the_same_op_id_and_applied_once(page: Any) -> None:
    result = page.evaluate("""() => {
      const sync = fresh();
      sync.chat('made it');         // sent, then the connection drops before the ack
      sync.chat('did not make it'); // sent too; the router never got it
      const ids = sync.outbox.map((e) => e.opId);
      const first = sync.sent.map((m) => m.op_id);
      sync.drop('test');
      clearTimeout(sync.retryTimer);
      sync.ws = { id: 2 };
      sync.sent = [];
      sync.receive({ action: 'welcome', role: 'editor', presence: [], online: [], latest_seq: 1, more: false,
                     heartbeat_ms: 60000, ops: [op(1, 'chat', { text: 'made it' }, 'alice', ids[0])] });
      const resent = sync.sent.filter((m) => m.action === 'chat').map((m) => [m.text, m.op_id === m.id]);
      const sameIds = sync.sent.filter((m) => m.action === 'chat').map((m) => m.op_id);
      // the router recognises the first as stored (duplicate) and stores the second
      const made = op(1, 'chat', { text: 'made it' }, 'alice', ids[0]);
      const second = op(2, 'chat', { text: 'did not make it' }, 'alice', ids[1]);
      sync.receive({ action: 'ack', id: ids[0], seq: 1, duplicate: true, op: made });
      sync.receive({ action: 'ack', id: ids[1], seq: 2, op: second });
      const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
      return { sameIds: same(sameIds, [ids[1]]) && same(first, ids),
               resent, chats: chats(sync), waiting: sync.outbox.length };
    }""")
    # The resume brought the first back (ours, by its op id): it is not sent again; the second is, same op id.
    assert result == {"sameIds": True, "resent": [["did not make it", True]],
                      "chats": ["made it", "did not make it"], "waiting": 0}


def test_a_refused_op_leaves_the_outbox_and_a_busy_one_is_sent_again(page: Any) -> None:
    result = page.evaluate("""async () => {
      const sync = fresh();
      const refused = sync.createItem('n1', 'note', { text: 'x' });
      const busy = sync.chat('later');
      sync.receive({ action: 'error', id: refused.opId, error: { code: 'item_exists', message: 'exists' } });
      sync.receive({ action: 'error', id: busy.opId, error: { code: 'busy', message: 'retry' } });
      sync.sent = [];
      await new Promise((resolve) => setTimeout(resolve, 1300));
      return { waiting: sync.outbox.map((e) => e.body.action),
               again: sync.sent.map((m) => [m.action, m.op_id === busy.opId]) };
    }""")
    assert result == {"waiting": ["chat"], "again": [["chat", True]]}


def test_a_rate_limited_op_waits_the_delay_the_server_names(page: Any) -> None:
    """`retry_after_ms` is the delay to honour; older servers name it only in the message text."""
    result = page.evaluate("""async () => {
      const sync = fresh();
      const quick = sync.chat('field');
      const slow = sync.chat('text');
      sync.receive({ action: 'error', id: quick.opId,
                     error: { code: 'rate_limited', message: 'retry in 60000 ms', retry_after_ms: 20 } });
      sync.receive({ action: 'error', id: slow.opId, error: { code: 'rate_limited', message: 'retry in 60000 ms' } });
      sync.sent = [];
      await new Promise((resolve) => setTimeout(resolve, 500));  // after 20 ms, long before 60 s
      return { again: sync.sent.map((m) => m.text), waiting: sync.outbox.map((e) => e.body.text) };
    }""")
    assert result == {"again": ["field"], "waiting": ["field", "text"]}


def test_an_op_of_ours_read_in_history_leaves_the_outbox_when_its_ack_was_lost(page: Any) -> None:
    """A tester dropped only the router's ack: the op came back in `history` with its op id, and the line was shown
    twice (stored, and still "sending") for as long as the tab stayed open. Another user's op id is not ours."""
    result = page.evaluate("""() => {
      const sync = fresh();
      const lost = sync.chat('ack lost');
      const kept = sync.chat('still waiting');
      sync.receive({ action: 'history', latest_seq: 2, more: false,
                     ops: [op(1, 'chat', { text: 'ack lost' }, 'alice', lost.opId),
                           op(2, 'chat', { text: 'same id, other user' }, 'bob', kept.opId)] });
      return { waiting: sync.outbox.map((e) => e.body.text), chats: chats(sync) };
    }""")
    assert result == {"waiting": ["still waiting"], "chats": ["ack lost", "same id, other user"]}
