import json

import pytest

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.errors import ApiError
from chalicelib.domain.health import ComponentHealth
from chalicelib.services.access import AccessService
from chalicelib.services.connections import ConnectionService
from chalicelib.services.health import HealthService
from chalicelib.services.router import MessageRouter
from chalicelib.services.uploads import UploadIngest
from tests.fake_uploads import InMemoryUploadLog
from tests.fakes import (
    FakeNotifier,
    InMemoryConnectionStore,
    InMemoryUsage,
    RecordingEvents,
)
from tests.unit.test_access import TOKENS as ACCESS_TOKENS
from tests.unit.test_access import token

TOKENS = TokenService(secret="k" * 48, ttl_seconds=60)


def test_ping_is_answered_with_pong_to_the_sender_only():
    notifier = FakeNotifier()
    router = MessageRouter(notifier, InMemoryConnectionStore(), lambda _: None)
    router.handle("c1", json.dumps({"action": "ping", "id": "r1"}))
    [(connection, data)] = notifier.sent
    reply = json.loads(data)
    assert connection == "c1"
    assert reply["action"] == "pong"
    assert reply["id"] == "r1"
    assert isinstance(reply["server_time"], int)


@pytest.mark.parametrize(("raw", "code"), [("{", "bad_json"), (json.dumps({"action": "fly"}), "unknown_action")])
def test_bad_messages_get_error_replies(raw, code):
    notifier = FakeNotifier()
    MessageRouter(notifier, InMemoryConnectionStore(), lambda _: None).handle("c1", raw)
    assert json.loads(notifier.sent[0][1])["error"]["code"] == code


def test_a_sender_that_left_leaves_its_workspace_and_the_router_does_not_fail():
    store = InMemoryConnectionStore()
    for connection, user in (("c1", "bob"), ("c2", "ann"), ("c3", "vic")):
        store.put(connection, user, "ws", {})
    store.bind("c1", "bob", "ws")  # it sent a message before: it was open
    router = MessageRouter(FakeNotifier(gone={"c1", "c3"}), store, lambda _: None)
    router.handle("c1", json.dumps({"action": "ping"}))
    router.handle("c3", json.dumps({"action": "ping"}))
    assert {c: r["workspace_id"] for c, r in store.rows.items()} == {"c1": "-", "c2": "ws", "c3": "ws"}
    # c3's 410 came before its $connect could have returned (young, never open): it is left alone


def connection_service():
    from tests.unit.test_access import tenancy_with_demo

    tenancy = tenancy_with_demo()
    store, events, usage = InMemoryConnectionStore(), RecordingEvents(), InMemoryUsage()
    return ConnectionService(AccessService(ACCESS_TOKENS, tenancy), store, events, usage), store, events, usage


def test_connect_verifies_the_token_and_membership_and_records_the_connection():
    service, store, events, usage = connection_service()
    actor = service.connect("c1", token("bob"), "10.0.0.1", "ws-a")
    assert actor.user_id == "bob"
    assert store.rows["c1"]["workspace_id"] == "ws-a"
    assert store.rows["c1"]["account_id"] == "acc-a"
    assert events.types() == ["ws.connected"]
    store.rows["c1"]["connected_at"] -= 90
    service.disconnect("c1", 1000)
    assert store.rows == {}
    assert usage.counters["acc-a"]["connection_seconds"] >= 90
    assert events.types() == ["ws.connected", "ws.disconnected"]
    service.disconnect("c1", 1000)  # a repeated $disconnect changes nothing
    assert events.types() == ["ws.connected", "ws.disconnected"]


@pytest.mark.parametrize(("user", "workspace", "status", "event"), [
    ("nobody", None, 401, "auth.failed"),      # token for a user that does not exist (any more)
    ("olga", "ws-a", 404, "ws.refused"),       # another tenant's workspace
    ("carl", "ws-a", 404, "ws.refused"),       # same account, not a member
])
def test_connect_refusals_record_nothing_but_the_event(user, workspace, status, event):
    service, store, events, _ = connection_service()
    with pytest.raises(ApiError) as refused:
        service.connect("c1", token(user), "10.0.0.1", workspace)
    assert refused.value.status == status
    assert store.rows == {}
    assert events.types() == [event]


def upload(key: str, size: int = 3, version: str = "1") -> str:
    return json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "b"}, "object": {"key": key, "size": size, "versionId": version}}}]})


def test_upload_ingest_counts_redeliveries_once_and_meters_the_account():
    from tests.unit.test_access import tenancy_with_demo

    log, events = InMemoryUploadLog(), RecordingEvents()
    ingest = UploadIngest(log, tenancy_with_demo(), events)
    assert ingest.handle(upload("workspaces/ws-a/docs/a.pdf", 1000)).recorded == 1
    again = ingest.handle(upload("workspaces/ws-a/docs/a.pdf", 1000))
    assert (again.recorded, again.duplicates) == (0, 1)
    ingest.handle(upload("workspaces/ws-a/docs/a.pdf", 500, version="2"))  # a new version is stored too
    assert log.bytes_by_account == {"acc-a": 1500}
    assert events.types() == ["upload.received", "upload.received"]
    assert ingest.handle(upload("elsewhere/x.pdf")).recorded == 1  # recorded, but no tenant to meter
    assert ingest.handle(upload("workspaces/ws-missing/x.pdf")).recorded == 1
    assert log.bytes_by_account == {"acc-a": 1500}


class Discarder:
    def __init__(self) -> None:
        self.discarded: list[tuple[str, str]] = []

    def discard(self, key: str, version_id: str) -> str | None:
        self.discarded.append((key, version_id))
        return None


class Arrivals:
    """The DocumentRecords call ingest makes for an accepted source version."""

    def __init__(self) -> None:
        self.arrived: list[tuple[str, str]] = []

    def upload_arrived(self, workspace_id: str, document_id: str) -> None:
        self.arrived.append((workspace_id, document_id))


def test_an_accepted_document_version_clears_its_upload_deadline_and_a_refused_one_does_not():
    from tests.unit.test_access import tenancy_with_demo

    log, arrivals = InMemoryUploadLog(), Arrivals()
    ingest = UploadIngest(log, tenancy_with_demo(), RecordingEvents(), documents=arrivals,  # type: ignore[arg-type]
                          discarder=Discarder())
    key = "workspaces/ws-a/documents/doc-0123456789abcdef/source"
    log.reserve("acc-a", key, "g1", 1000, None, 2**40)
    ingest.handle(upload(key, 1000))
    ingest.handle(upload(key, 1000, version="2"))  # no reservation left: refused
    ingest.handle(upload("workspaces/ws-a/docs/a.pdf", 10))  # not a document's source
    assert arrivals.arrived == [("ws-a", "doc-0123456789abcdef")]


def test_a_document_version_without_a_reservation_is_refused_and_discarded_once():
    from tests.unit.test_access import tenancy_with_demo

    log, events, discarder = InMemoryUploadLog(), RecordingEvents(), Discarder()
    ingest = UploadIngest(log, tenancy_with_demo(), events, discarder=discarder)
    key = "workspaces/ws-a/documents/doc-0123456789abcdef/source"
    log.reserve("acc-a", key, "g1", 1000, None, 2**40, granted_to="u-bob")
    assert ingest.handle(upload(key, 1000)).recorded == 1  # settles g1
    replay = ingest.handle(upload(key, 1000, version="2"))  # the same grant URL, used again
    assert (replay.recorded, replay.duplicates) == (0, 0)
    assert ingest.handle(upload(key, 1000, version="2")).duplicates == 1  # redelivered: discarded again
    assert discarder.discarded == [(key, "2"), (key, "2")]
    assert log.totals("acc-a") == {"bytes_stored": 1000, "bytes_reserved": 0, "bytes_committed": 1000}
    assert events.types() == ["upload.received", "upload.refused"]
    received, refused = events.events
    assert (received.user_id, received.actor_id) == ("u-bob", "u-bob")  # who uploaded: g1's holder
    assert received.detail["document_id"] == "doc-0123456789abcdef"
    assert (refused.user_id, refused.actor_id) == ("", "")  # no grant, so nobody is named
    assert refused.detail["document_id"] == "doc-0123456789abcdef"


class StaticProbe:
    def __init__(self, name: str, ok: bool) -> None:
        self.name = name
        self._ok = ok

    def check(self) -> ComponentHealth:
        return ComponentHealth(self.name, "table", self._ok, {"latency_ms": 1.0}, None if self._ok else "down")


def test_health_is_degraded_when_any_component_is_and_hides_details_from_the_public():
    report = HealthService("dev", [StaticProbe("a", True), StaticProbe("b", False)]).report()
    assert not report.ok
    public = report.to_dict(detailed=False)
    assert public["status"] == "degraded"
    assert public["components"]["table"] == [{"kind": "table", "ok": True}, {"kind": "table", "ok": False}]
    detailed = report.to_dict(detailed=True)
    assert detailed["components"]["table"][1]["error"] == "down"
    assert HealthService("dev", [StaticProbe("a", True)]).report().ok
