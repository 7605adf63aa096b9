"""Printing answers: `--output json` (the API's JSON, as it came) or `--output table` (columns for people).

Tables fit the terminal (`shutil.get_terminal_size`, so COLUMNS counts too): the widest columns give way
first, and nothing is cut when the output goes to a pipe or file with no COLUMNS. Nested objects read as
`key=value` pairs in a cell, and as one `parent.key` row each in a record. Times are UTC, marked `Z`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

TIME_COLUMNS = ("at_ms", "created_at", "updated_at", "added_at", "finished_at")
HEADERS = {"at_ms": "AT"}  # the cell is a formatted time, not the milliseconds
MIN_WIDTH = 8  # a column is never squeezed below this


def counted(count: int, noun: str) -> str:
    """'1 page', '2 pages', '0 pages' (a tester saw "1 pages")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def terminal_width() -> int | None:
    """The width to fit, or None (no limit: not a terminal and no COLUMNS)."""
    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def header(column: str) -> str:
    return HEADERS.get(column, column.upper())


def cell(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and column in TIME_COLUMNS:
        seconds = value / 1000 if column == "at_ms" or value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return " ".join(f"{key}={cell(item)}" for key, item in value.items())
    if isinstance(value, list) and all(not isinstance(item, Mapping | list) for item in value):
        return ",".join(cell(item) for item in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _fit(widths: list[int], limit: int | None) -> list[int]:
    """Narrow the widest columns, one character at a time, until the row fits (or all are at MIN_WIDTH)."""
    widths = list(widths)
    if limit is None:
        return widths
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_WIDTH:
            break
        widths[widest] -= 1
    return widths


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
          width: int | None = None) -> str:
    if not rows:
        return "(none)"
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[cell(row.get(column), column) for column in columns] for row in rows]
    natural = [max(len(header(column)), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    widths = _fit(natural, width if width is not None else terminal_width())
    lines = [[header(column) for column in columns], *cells]
    return "\n".join("  ".join(_clip(text, w).ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _flatten(value: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, item in value.items():
        if isinstance(item, Mapping) and item:
            rows += _flatten(item, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", cell(item, key)))
    return rows


def record(value: Mapping[str, Any], *, width: int | None = None) -> str:
    """One object as `key  value` lines; a nested object's keys as `parent.key` lines."""
    if not value:
        return "(empty)"
    rows = _flatten(value)
    key_width = max(len(key) for key, _ in rows)
    limit = width if width is not None else terminal_width()
    room = max(MIN_WIDTH, limit - key_width - 2) if limit is not None else None
    return "\n".join(f"{key.ljust(key_width)}  {_clip(text, room) if room else text}".rstrip() for key, text in rows)


def emit(value: Any, output: str, columns: Sequence[str] | None = None) -> None:
    """Print an answer: a list as rows, an object as key/value lines, anything else as itself."""
    if output == "json":
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))
    elif isinstance(value, list):
        click.echo(table(value, columns))
    elif isinstance(value, Mapping):
        click.echo(record(value))
    elif value is not None:
        click.echo(str(value))


def emit_list(rows: list[dict[str, Any]], output: str, columns: Sequence[str], limit: int | None) -> None:
    """A list read over every page it took (JSON: one array of the items); the table says on stderr when
    `--limit` cut it short, since without a limit every page is read."""
    emit(rows, output, columns)
    if output != "json" and limit is not None and len(rows) >= limit:
        click.echo(f"the first {limit} (--limit): there may be more", err=True)


def done(output: str, message: str) -> None:
    """The answer of a command that changes something and gets nothing back (204): a line saying what was
    done, or `{}` in JSON, so a script can tell it ran."""
    click.echo("{}" if output == "json" else message)


def emit_line(value: Mapping[str, Any], output: str, columns: Sequence[str]) -> None:
    """One row of a stream (events tail): a JSON line, or the columns separated by two spaces."""
    if output == "json":
        click.echo(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    else:
        click.echo("  ".join(cell(value.get(column), column) for column in columns))
