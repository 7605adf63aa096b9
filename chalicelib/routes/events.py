"""Event log REST API: what happened on the network, for administrators within their scope."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.container import get_container
from chalicelib.routes import schemas as s
from chalicelib.routes.api import PAGING, ApiCall, Param, api

bp = Blueprint(__name__)

FILTERS = (
    Param("since_ms", "from (epoch milliseconds; default: 7 days before `until_ms`)", "integer", 0, 2**53),
    Param("until_ms", "to (epoch milliseconds; default: now)", "integer", 0, 2**53),
    Param("type", "an event type, or a prefix ending in '.' (e.g. membership.)", max_length=64),
    Param("account_id", "one account (platform admins; account admins see only their own)", max_length=64),
    Param("workspace_id", "one workspace", max_length=64),
    Param("user_id", "one user: for account admins a user of their account now (else 404 not_found)", max_length=64),
)


@api(bp, "GET", "/admin/events", "The event log, newest first", "admin: event log", query=FILTERS + PAGING,
     response=s.page_of(s.EVENT))
def list_events(call: ApiCall) -> Any:
    page = get_container().event_queries.query(call.actor, call.query, call.limit, call.start())
    return call.page([e.to_dict() for e in page.items], page.next_key)
