"""Event retention without relying on DynamoDB's TTL (which the emulator never applies, and AWS applies up
to days late): expired events are invisible to queries at once and deleted by the purge."""

from __future__ import annotations

import time
import uuid

from chalicelib.adapters.dynamo_events import DynamoEventLog
from chalicelib.domain.events import Event, EventQuery

DAY_MS = 86400 * 1000


def test_expired_events_are_hidden_then_purged(clients, stack):
    table = stack.outputs["EventsTableName"]
    log = DynamoEventLog(clients["dynamodb"], table, retention_days=2)
    account = f"acc-{uuid.uuid4().hex[:8]}"
    now_ms = int(time.time() * 1000)
    old = [Event("user.created", account, user_id=f"old{i}", at_ms=now_ms - (3 + i) * DAY_MS) for i in range(3)]
    fresh = Event("user.created", account, user_id="fresh", at_ms=now_ms - DAY_MS)
    for event in [*old, fresh]:
        log.append(event)
    window = EventQuery(since_ms=now_ms - 10 * DAY_MS, until_ms=now_ms, account_id=account)
    assert [e.user_id for e in log.query(window, 50, None).items] == ["fresh"]
    everywhere = EventQuery(since_ms=now_ms - 10 * DAY_MS, until_ms=now_ms)  # platform-wide, by day partition
    assert "old0" not in [e.user_id for e in log.query(everywhere, 200, None).items]

    def stored() -> set[str]:
        rows = clients["dynamodb"].scan(TableName=table, FilterExpression="account_id = :a",
                                        ExpressionAttributeValues={":a": {"S": account}})["Items"]
        return {r["user_id"]["S"] for r in rows}

    assert stored() == {"old0", "old1", "old2", "fresh"}  # the emulator's TTL deleted nothing
    assert log.purge_expired(time.time()) >= 3
    assert stored() == {"fresh"}


def test_queries_page_newest_first_with_filters(clients, stack):
    log = DynamoEventLog(clients["dynamodb"], stack.outputs["EventsTableName"], retention_days=30)
    account, workspace = f"acc-{uuid.uuid4().hex[:8]}", f"ws-{uuid.uuid4().hex[:8]}"
    now_ms = int(time.time() * 1000)
    for i in range(5):
        log.append(Event("membership.added" if i % 2 else "workspace.updated", account, workspace,
                         user_id=f"u{i}", at_ms=now_ms - i * 1000))
    q = EventQuery(since_ms=now_ms - DAY_MS, until_ms=now_ms, account_id=account, workspace_id=workspace)
    first = log.query(q, 2, None)
    assert [e.user_id for e in first.items] == ["u0", "u1"] and first.next_key
    rest = log.query(q, 10, first.next_key)
    assert [e.user_id for e in rest.items] == ["u2", "u3", "u4"]
    typed = EventQuery(since_ms=now_ms - DAY_MS, until_ms=now_ms, account_id=account, type="membership.")
    assert sorted(e.user_id for e in log.query(typed, 10, None).items) == ["u1", "u3"]


def test_a_narrow_filter_fills_its_pages_instead_of_answering_empty_ones(clients, stack):
    from chalicelib.adapters.dynamo_events import MAX_READS_PER_PAGE

    log = DynamoEventLog(clients["dynamodb"], stack.outputs["EventsTableName"], retention_days=30)
    account, workspace = f"acc-{uuid.uuid4().hex[:8]}", f"ws-{uuid.uuid4().hex[:8]}"
    now_ms = int(time.time() * 1000)
    # Newest first: 3 uploads, each behind 4 presence-like events, then a gap longer than a page may read.
    kinds = (["ws.connected"] * 4 + ["upload.received"]) * 3 + ["ws.connected"] * (MAX_READS_PER_PAGE + 2) + [
        "upload.received"]
    for i, kind in enumerate(kinds):
        log.append(Event(kind, account, workspace, user_id=f"u{i}", at_ms=now_ms - i * 1000))
    q = EventQuery(since_ms=now_ms - DAY_MS, until_ms=now_ms, account_id=account, workspace_id=workspace,
                   type="upload.")
    pages, key = [], None
    while True:
        page = log.query(q, 1, key)
        pages.append([e.user_id for e in page.items])
        key = page.next_key
        if key is None:
            break
    # Each of the first three pages holds its upload; the gap costs one empty page (the read budget), not ten.
    assert pages[:3] == [["u4"], ["u9"], ["u14"]]
    assert [user for page in pages for user in page] == ["u4", "u9", "u14", f"u{len(kinds) - 1}"]
    assert len(pages) <= 6
