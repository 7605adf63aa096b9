"""One page of a listing, and where the next begins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page[T]:
    """One page of results; `next_key` is the store's own continuation key (DynamoDB's LastEvaluatedKey),
    which the API layer signs as a cursor."""

    items: list[T]
    next_key: dict[str, Any] | None
