"""kalexo events: the event log, read (list) or followed live over the websocket (tail)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from kalexo_client.cli.admin_commands import pass_config
from kalexo_client.cli.config import Config
from kalexo_client.cli.output import emit, emit_line, header
from kalexo_client.follow import follow_events

EVENT_COLUMNS = ["at_ms", "type", "account_id", "workspace_id", "user_id", "actor_id", "detail"]


@click.group()
def events() -> None:
    """The event log (administrators)."""


MAX_PAGES = 50  # API pages read for one `events list` (each is up to 10 reads of the table)


@events.command("list")
@click.option("--type", "event_type", help="An event type, or a prefix ending in '.' (membership.).")
@click.option("--account", "account_id")
@click.option("-w", "--workspace", "workspace_id")
@click.option("--user", "user_id")
@click.option("--since-ms", type=click.IntRange(0), help="From (epoch ms; default: 7 days before --until-ms).")
@click.option("--until-ms", type=click.IntRange(0), help="To (epoch ms; default: now).")
@click.option("--limit", type=click.IntRange(1, 100), default=25, show_default=True, help="Events a page.")
@click.option("--cursor", help="The next page: the cursor the previous page gave (next_cursor).")
@pass_config
def events_list(config: Config, event_type: str | None, account_id: str | None, workspace_id: str | None,
                user_id: str | None, since_ms: int | None, until_ms: int | None, limit: int,
                cursor: str | None) -> None:
    """Recorded events, newest first, up to --limit of them: -o json prints them in the API's shape (`items`,
    `next_cursor`); the table says on stderr how to ask for the next page when there is one. An API page may
    hold fewer events than asked, even none (its filter matched none of what it read): the next pages are read
    until --limit events or the end (at most 50 pages a run), so an empty answer means none."""
    api, next_cursor = config.api(), cursor
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        answer = api.events_page(limit=limit - len(items), cursor=next_cursor, type=event_type,
                                 account_id=account_id, workspace_id=workspace_id, user_id=user_id,
                                 since_ms=since_ms, until_ms=until_ms)
        items += list(answer.get("items") or [])
        next_cursor = answer.get("next_cursor")
        if not next_cursor or len(items) >= limit:
            break
    page = {"items": items, "next_cursor": next_cursor}
    if config.output == "json":
        emit(page, "json")
        return
    emit(list(page.get("items") or []), config.output, EVENT_COLUMNS)
    if page.get("next_cursor"):
        click.echo(f"more events: add --cursor {page['next_cursor']}", err=True)


@events.command("tail")
@click.option("--account", "account_id", help="Platform admins: one account (default: every account).")
@click.option("--type", "prefix", help="Only events whose type starts with this.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many events.")
@click.option("--connect-timeout", type=click.FloatRange(0.5), default=30.0, show_default=True,
              help="Give up (exit 4) when the first subscription has not started after this many seconds.")
@pass_config
def events_tail(config: Config, account_id: str | None, prefix: str | None, count: int | None,
                connect_timeout: float) -> None:
    """Follow the event log live over the websocket, one line per event (Ctrl-C stops). After a dropped
    connection it says so on stderr, reconnects and reads what it missed from the REST API. Times are UTC."""
    ws_url, api = config.need_ws_url(), config.api()

    headed: list[bool] = []

    def subscribed(scope: str) -> None:
        click.echo(f"following the event log of {'every account' if scope == '*' else scope}", err=True)
        if config.output != "json" and not headed:  # once connected: no header above a connect error
            headed.append(True)
            click.echo("  ".join(header(column) for column in EVENT_COLUMNS))

    def lost(reason: str) -> None:
        click.echo(f"lost the connection ({reason}): reconnecting", err=True)

    async def follow() -> None:
        shown = 0
        async for event in follow_events(ws_url, config.need_token(), account_id=account_id, api=api,
                                         on_subscribed=subscribed, on_lost=lost,
                                         connect_deadline=connect_timeout):
            if prefix and not str(event.get("type", "")).startswith(prefix):
                continue
            emit_line(event, config.output, EVENT_COLUMNS)
            shown += 1
            if count is not None and shown >= count:
                return

    asyncio.run(follow())


COMMANDS = [events]
