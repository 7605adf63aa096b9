"""Connections the local gateway held when it stopped (Ctrl-C, a kill) get their $disconnect at its next start,
as API Gateway sends one for every connection that ends: an outside tester's restart left two connections with
`ws.connected` and no `ws.disconnected`, their presence, and their connection time and routed messages (metered
at $disconnect) out of the account's month. Their time is billed up to when the gateway was last running."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from local.open_connections import HEARTBEAT, OpenConnections
from local.ws_events import ApiInfo, ConnectionInfo
from local.ws_gateway import GatewayLimits, WebsocketGateway
from tests.unit.test_access import token
from tests.unit.test_services import connection_service

API = ApiInfo(api_id="api", stage="local", domain_name="127.0.0.1:8002")


class Instances:
    """The function instances: each $disconnect event handed to the app's connection service."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.events: list[dict[str, Any]] = []

    async def invoke(self, route_key: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        context = event["requestContext"]
        self.service.disconnect(context["connectionId"], context["disconnectStatusCode"],
                                context["requestTimeEpoch"] / 1000)
        return {"statusCode": 200}


def test_a_restart_ends_the_connections_the_last_run_held_billed_until_it_stopped(tmp_path: Path) -> None:
    service, store, events, usage = connection_service()
    service.connect("c1", token("bob"), "10.0.0.1", "ws-a")
    store.rows["c1"]["connected_at"] = int(time.time()) - 3600  # connected an hour ago
    held = OpenConnections(tmp_path / "ws-open")
    held.opened(ConnectionInfo("c1", "10.0.0.1", "kalexo-client", int((time.time() - 3600) * 1000)))
    held.beat()
    stopped = time.time() - 1800  # the gateway was killed half an hour ago, and the stack started again now
    os.utime(tmp_path / "ws-open" / HEARTBEAT, (stopped, stopped))

    instances = Instances(service)
    gateway = WebsocketGateway(instances, {"$connect", "$disconnect", "$default"}, API,  # type: ignore[arg-type]
                               GatewayLimits(), OpenConnections(tmp_path / "ws-open"))
    assert asyncio.run(gateway.end_left_over()) == 1
    [event] = instances.events
    assert event["requestContext"]["disconnectStatusCode"] == 1006
    assert store.rows == {} and events.types() == ["ws.connected", "ws.disconnected"]
    assert 1790 <= usage.counters["acc-a"]["connection_seconds"] <= 1810  # until it stopped, not until now
    assert asyncio.run(gateway.end_left_over()) == 0  # ended once


def test_a_record_half_written_by_a_dying_gateway_is_dropped(tmp_path: Path) -> None:
    held = OpenConnections(tmp_path)
    (tmp_path / "c9.json").write_text('{"connection_id": "c9", ')
    assert held.left_over()[0] == [] and not (tmp_path / "c9.json").exists()


def test_a_disconnect_is_metered_up_to_when_it_happened_never_past_now():
    service, store, events, usage = connection_service()
    service.connect("c1", token("bob"), "10.0.0.1", "ws-a")
    store.rows["c1"]["connected_at"] = int(time.time()) - 100
    service.disconnect("c1", 1001, at=time.time() + 10_000)  # a clock ahead is not billed ahead
    assert usage.counters["acc-a"]["connection_seconds"] <= 101
