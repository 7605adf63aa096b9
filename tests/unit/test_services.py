import json

import pytest

from chalicelib.auth.tokens import AuthError, TokenService
from chalicelib.domain.health import ComponentHealth
from chalicelib.domain.principal import Role
from chalicelib.services.connections import ConnectionService
from chalicelib.services.health import HealthService
from chalicelib.services.router import MessageRouter
from chalicelib.services.uploads import UploadIngest
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryUploadLog

TOKENS = TokenService(secret="k" * 48, ttl_seconds=60)


def test_ping_is_answered_with_pong_to_the_sender_only():
    notifier = FakeNotifier()
    MessageRouter(notifier).handle("c1", json.dumps({"action": "ping", "id": "r1"}))
    [(connection, data)] = notifier.sent
    reply = json.loads(data)
    assert connection == "c1"
    assert reply["action"] == "pong"
    assert reply["id"] == "r1"
    assert isinstance(reply["server_time"], int)


@pytest.mark.parametrize(("raw", "code"), [("{", "bad_json"), (json.dumps({"action": "fly"}), "unknown_action")])
def test_bad_messages_get_error_replies(raw, code):
    notifier = FakeNotifier()
    MessageRouter(notifier).handle("c1", raw)
    assert json.loads(notifier.sent[0][1])["error"]["code"] == code


def test_a_sender_that_left_does_not_make_the_router_fail():
    MessageRouter(FakeNotifier(gone={"c1"})).handle("c1", json.dumps({"action": "ping"}))


def test_connect_verifies_the_token_and_records_the_connection():
    store = InMemoryConnectionStore()
    service = ConnectionService(TOKENS, store)
    principal = service.connect("c1", TOKENS.issue("bob", "acc", [Role.MEMBER]), "10.0.0.1")
    assert principal.user_id == "bob"
    assert store.rows["c1"] == {"user_id": "bob", "account_id": "acc", "source_ip": "10.0.0.1"}
    service.disconnect("c1")
    assert store.rows == {}


def test_connect_with_a_bad_token_records_nothing():
    store = InMemoryConnectionStore()
    with pytest.raises(AuthError):
        ConnectionService(TOKENS, store).connect("c1", "nope", "10.0.0.1")
    assert store.rows == {}


def test_upload_ingest_counts_redeliveries_once():
    log = InMemoryUploadLog()
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put",
                                    "s3": {"bucket": {"name": "b"}, "object": {"key": "workspaces/w/a.pdf",
                                                                               "size": 3, "versionId": "1"}}}]})
    ingest = UploadIngest(log)
    assert ingest.handle(body).recorded == 1
    again = ingest.handle(body)
    assert (again.recorded, again.duplicates) == (0, 1)
    assert list(log.items) == [("b", "workspaces/w/a.pdf", "1")]


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
