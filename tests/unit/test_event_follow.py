"""Following the event log live over the websocket: who may subscribe to what, and delivery."""

import json

import pytest

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.events import Event
from chalicelib.services.access import AccessService
from chalicelib.services.events import EventRecorder
from chalicelib.services.router import MessageRouter
from tests.fakes import FakeNotifier, InMemoryConnectionStore
from tests.unit.test_access import tenancy_with_demo


class ListLog:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def append(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def setup():
    tenancy = tenancy_with_demo()
    store, notifier = InMemoryConnectionStore(), FakeNotifier()
    access = AccessService(TokenService("z" * 48, 60), tenancy)

    def actor_of(connection_id):
        row = store.get(connection_id)
        user = tenancy.user(row["user_id"]) if row else None
        from chalicelib.services.access import Actor

        return Actor(user) if user else None

    router = MessageRouter(notifier, store, actor_of)
    recorder = EventRecorder(ListLog(), store, notifier)  # type: ignore[arg-type]
    for connection_id, user in (("c-root", "root"), ("c-ann", "ann"), ("c-bob", "bob"), ("c-olga", "olga")):
        store.put(connection_id, user, None, {})
    return router, recorder, notifier, access


def last_reply(notifier: FakeNotifier, connection_id: str) -> dict:
    return json.loads([data for c, data in notifier.sent if c == connection_id][-1])


@pytest.mark.parametrize(("connection", "request_body", "outcome"), [
    ("c-root", {}, "*"), ("c-root", {"account_id": "acc-a"}, "acc-a"),
    ("c-ann", {}, "acc-a"), ("c-ann", {"account_id": "acc-b"}, "forbidden"),
    ("c-bob", {}, "forbidden"),
])
def test_who_may_follow_what(setup, connection, request_body, outcome):
    router, _, notifier, _ = setup
    router.handle(connection, json.dumps({"action": "events.subscribe", "id": "s", **request_body}))
    reply = last_reply(notifier, connection)
    if outcome == "forbidden":
        assert reply["error"]["code"] == "forbidden"
    else:
        assert (reply["action"], reply["scope"], reply["id"]) == ("events.subscribed", outcome, "s")


def test_events_reach_the_followers_of_their_account_only(setup):
    router, recorder, notifier, _ = setup
    for connection in ("c-root", "c-ann", "c-olga"):
        router.handle(connection, json.dumps({"action": "events.subscribe"}))
    notifier.sent.clear()
    recorder.record(Event("membership.added", "acc-a", "ws-a", "bob", "ann"))
    recorder.record(Event("user.created", "acc-b", user_id="x"))
    got = {c: [json.loads(d)["event"]["type"] for c2, d in notifier.sent if c2 == c]
           for c in ("c-root", "c-ann", "c-olga")}
    assert got == {"c-root": ["membership.added", "user.created"], "c-ann": ["membership.added"],
                   "c-olga": ["user.created"]}
    router.handle("c-ann", json.dumps({"action": "events.unsubscribe"}))
    notifier.sent.clear()
    recorder.record(Event("membership.removed", "acc-a"))
    assert [c for c, _ in notifier.sent] == ["c-root"]


def test_a_gone_follower_is_dropped(setup):
    router, recorder, notifier, _ = setup
    router.handle("c-root", json.dumps({"action": "events.subscribe"}))
    notifier.gone.add("c-root")
    store = recorder._connections
    assert store.event_subscribers("*") == ["c-root"]
    recorder.record(Event("account.created", "acc-a"))
    assert store.event_subscribers("*") == []  # the 410 dropped the follower's rows


@pytest.mark.parametrize(("request_body", "said"), [
    ({"type": "upload."}, "type"), ({"account_id": "acc-a", "filter": "x"}, "filter"),
    ({"account_id": 5}, "left out"), ({"account_id": ""}, "left out"),
])
def test_a_subscription_with_a_field_it_does_not_take_is_refused_not_widened(setup, request_body, said):
    router, recorder, notifier, _ = setup
    router.handle("c-ann", json.dumps({"action": "events.subscribe", "id": "s", **request_body}))
    reply = last_reply(notifier, "c-ann")
    assert (reply["action"], reply["id"], reply["error"]["code"]) == ("error", "s", "bad_envelope")
    assert said in reply["error"]["message"]
    notifier.sent.clear()
    recorder.record(Event("membership.added", "acc-a", "ws-a", "bob", "ann"))
    assert not [d for c, d in notifier.sent if c == "c-ann"]  # not subscribed at all
