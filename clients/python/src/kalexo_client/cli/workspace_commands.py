"""kalexo workspaces: list, show, create, update, delete; a workspace's state and its restore; reprocessing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from kalexo_client.cli.admin_commands import LIMIT, WORKSPACE_COLUMNS, pass_config
from kalexo_client.cli.config import Config
from kalexo_client.cli.output import done, emit, emit_list

ITEM_COLUMNS = ["item_id", "kind", "version", "fields"]
TILE_OPTIONS = [
    click.option("--dpi", type=click.IntRange(36, 600)),
    click.option("--tile-size", type=click.Choice(["128", "256", "512", "1024"])),
    click.option("--format", "image_format", type=click.Choice(["jpeg", "png", "webp"])),
    click.option("--quality", type=click.IntRange(30, 100)),
    click.option("--max-side", type=click.IntRange(1024, 32768)),
    click.option("--max-pixels", type=click.IntRange(1_000_000, 32768 * 32768),
                 help="of a page's full size (default 70000000: an A1 sheet at 300 dpi; larger sheets below --dpi)"),
]


def tile_options[F: Callable[..., Any]](command: F) -> F:
    for option in reversed(TILE_OPTIONS):
        command = option(command)
    return command


def options_of(dpi: int | None, tile_size: str | None, image_format: str | None, quality: int | None,
               max_side: int | None, max_pixels: int | None = None) -> dict[str, object]:
    chosen = {"dpi": dpi, "tile_size": int(tile_size) if tile_size else None, "format": image_format,
              "quality": quality, "max_side": max_side, "max_pixels": max_pixels}
    return {key: value for key, value in chosen.items() if value is not None}


def _at(seq: int | None, at_ms: int | None, required: bool) -> None:
    if seq is not None and at_ms is not None:
        raise click.UsageError("give --seq or --at-ms, not both")
    if required and seq is None and at_ms is None:
        raise click.UsageError("to what? give --seq (after that op) or --at-ms (as it was at that time)")


@click.group()
def workspaces() -> None:
    """Workspaces. WORKSPACE defaults to KALEXO_WORKSPACE (or the profile's workspace)."""


@workspaces.command("list")
@click.option("--account", "account_id", help="An account's workspaces (admins); without it, your own.")
@LIMIT
@pass_config
def workspaces_list(config: Config, account_id: str | None, limit: int | None) -> None:
    api = config.api()
    rows = api.workspaces(account_id, limit) if account_id else api.my_workspaces(limit)
    emit_list(rows, config.output, WORKSPACE_COLUMNS, limit)


@workspaces.command("show")
@click.argument("workspace", required=False, envvar="KALEXO_WORKSPACE")
@pass_config
def workspaces_show(config: Config, workspace: str | None) -> None:
    emit(config.api().workspace(config.need_workspace(workspace)), config.output)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _settings(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        settings = json.loads(value, parse_constant=_not_json)  # NaN and Infinity are Python's, not JSON's
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from exc
    if not isinstance(settings, dict):
        raise click.BadParameter("must be a JSON object")
    return settings


SETTINGS = click.option(
    "--settings", callback=_settings, metavar="JSON",
    help='The workspace\'s settings as a JSON object, replacing them whole; its "tiling" key holds the tile '
         'options of every upload, e.g. \'{"tiling": {"max_pixels": 140000000}}\'.')


@workspaces.command("create")
@click.argument("name")
@click.option("--account", "account_id", help="In which account (default: yours).")
@click.option("--owner", "owner_id", help="Its first owner (a user of that account).")
@click.option("--id", "workspace_id", help="Choose the id (platform admins).")
@SETTINGS
@pass_config
def workspaces_create(config: Config, name: str, account_id: str | None, owner_id: str | None,
                      workspace_id: str | None, settings: dict[str, Any] | None) -> None:
    api = config.api()
    account = account_id or str(api.me()["account_id"])
    emit(api.create_workspace(account, name, owner_id=owner_id, workspace_id=workspace_id, settings=settings),
         config.output)


@workspaces.command("update")
@click.argument("workspace", required=False, envvar="KALEXO_WORKSPACE")
@click.option("--name")
@SETTINGS
@pass_config
def workspaces_update(config: Config, workspace: str | None, name: str | None,
                      settings: dict[str, Any] | None) -> None:
    """Rename a workspace or replace its settings (owners, account admins)."""
    if name is None and settings is None:
        raise click.UsageError("give --name, --settings or both")
    emit(config.api().update_workspace(config.need_workspace(workspace), name=name, settings=settings),
         config.output)


@workspaces.command("delete")
@click.argument("workspace")
@pass_config
def workspaces_delete(config: Config, workspace: str) -> None:
    """Delete a workspace and its memberships (named explicitly: no default here)."""
    config.api().delete_workspace(workspace)
    done(config.output, f"deleted workspace {workspace}")


@workspaces.command("state")
@click.argument("workspace", required=False, envvar="KALEXO_WORKSPACE")
@click.option("--seq", type=click.IntRange(0), help="As it was after this op.")
@click.option("--at-ms", type=click.IntRange(0), help="As it was at this time (epoch milliseconds).")
@pass_config
def workspaces_state(config: Config, workspace: str | None, seq: int | None, at_ms: int | None) -> None:
    """The shared state (items) now, after an op, or at a time (owners, account admins)."""
    _at(seq, at_ms, required=False)
    state = config.api().state(config.need_workspace(workspace), seq=seq, at_ms=at_ms)
    if config.output == "json":
        emit(state, "json")
    else:
        click.echo(f"{state['workspace']} after op {state['seq']}: {len(state['items'])} items")
        emit(state["items"], "table", ITEM_COLUMNS)


@workspaces.command("restore")
@click.argument("workspace", required=False, envvar="KALEXO_WORKSPACE")
@click.option("--seq", type=click.IntRange(0), help="Make the notes and tasks those after this op.")
@click.option("--at-ms", type=click.IntRange(0),
              help="Make them those at this time, in epoch MILLISECONDS (seconds would name a time in 1970: a "
                   "time before the workspace existed is refused, 400 before_workspace).")
@pass_config
def workspaces_restore(config: Config, workspace: str | None, seq: int | None, at_ms: int | None) -> None:
    """Restore notes and tasks by appending the ops that undo what came after (so it can be undone too)."""
    _at(seq, at_ms, required=True)
    emit(config.api().restore(config.need_workspace(workspace), seq=seq, at_ms=at_ms), config.output)


@workspaces.command("reprocess")
@click.argument("workspace", required=False, envvar="KALEXO_WORKSPACE")
@tile_options
@pass_config
def workspaces_reprocess(config: Config, workspace: str | None, dpi: int | None, tile_size: str | None,
                         image_format: str | None, quality: int | None, max_side: int | None,
                         max_pixels: int | None) -> None:
    """Process every document of the workspace again (owners), optionally with new tile options."""
    options = options_of(dpi, tile_size, image_format, quality, max_side, max_pixels)
    emit(config.api().reprocess_workspace(config.need_workspace(workspace), options or None), config.output)


COMMANDS = [workspaces]
