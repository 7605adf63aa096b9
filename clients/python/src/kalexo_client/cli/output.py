"""Printing answers: `--output json` (the API's JSON, as it came) or `--output table` (columns for people)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

CELL_MAX = 60


def cell(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and column in ("at_ms", "created_at", "updated_at", "added_at", "finished_at"):
        seconds = value / 1000 if column == "at_ms" or value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= CELL_MAX else text[: CELL_MAX - 1] + "…"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(none)"
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[cell(row.get(column), column) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.upper().ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def record(value: Mapping[str, Any]) -> str:
    """One object as `key  value` lines."""
    if not value:
        return "(empty)"
    width = max(len(key) for key in value)
    return "\n".join(f"{key.ljust(width)}  {cell(item, key)}" for key, item in value.items())


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


def emit_line(value: Mapping[str, Any], output: str, columns: Sequence[str]) -> None:
    """One row of a stream (events tail): a JSON line, or the columns separated by two spaces."""
    if output == "json":
        click.echo(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    else:
        click.echo("  ".join(cell(value.get(column), column) for column in columns))
