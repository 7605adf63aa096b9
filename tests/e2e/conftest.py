"""The whole local stack, started once for the end-to-end tests.

It keeps API Gateway's own websocket limits (10 min idle, 2 h per connection): with short ones, any test that
left a connection quiet through a few slow REST calls on a busy machine was closed under it. The limits
themselves are observed in seconds on a stack of their own (test_websocket_limits.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import LocalStack, start_stack, stop_stack

RATE_LIMIT = 150  # REST requests per user and minute: low enough to reach in a test
PRESENCE_STALE_S = 5  # seconds without a heartbeat before a connection counts as gone (90 by default)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state: Path = tmp_path_factory.mktemp("stack")
    running = start_stack(state, settings={"KALEXO_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
                                           "KALEXO_PRESENCE_STALE_SECONDS": str(PRESENCE_STALE_S),
                                           "KALEXO_MAX_DOCUMENT_PAGES": "50",
                                           "KALEXO_MULTIPART_THRESHOLD_BYTES": str(8 * 1024**2)})
    yield running
    stop_stack(running)
