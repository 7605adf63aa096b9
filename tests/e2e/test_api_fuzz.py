"""Property-based run of schemathesis against the live /openapi.json: whatever it sends, as whoever, the
API never answers with a server error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import LocalStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own: the fuzzer creates, changes and deletes whatever it can reach."""
    running = start_stack(tmp_path_factory.mktemp("fuzz"), "--workers", "1",
                          settings={"KALEXO_RATE_LIMIT_PER_MINUTE": "0"})  # fuzz everything, not the limiter
    yield running
    stop_stack(running)


@pytest.mark.parametrize("user", ["admin", "alice", "vera", "olga"])
def test_schemathesis_finds_no_server_error(fuzzed_stack, user, tmp_path: Path):
    stack = fuzzed_stack
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(schemathesis), "run", f"{stack.rest}/openapi.json", "--checks", "not_a_server_error",
         "--header", f"Authorization: Bearer {stack.token(user)}", "--max-examples", "12",
         "--generation-deterministic", "--request-timeout", "20", "--workers", "2",
         "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert "passed" in result.stdout.lower() or "no issues found" in result.stdout.lower(), tail
