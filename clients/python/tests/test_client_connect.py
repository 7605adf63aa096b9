"""A websocket URL that is wrong or down: the client and the command line give up with Failed (exit 4) after the
connect deadline instead of trying in silence for ever, and no message ever shows the token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from kalexo_client import Backoff, ConnectFailed, Failed, SyncWorkspaceClient, WorkspaceClient
from kalexo_client.cli.main import EXIT_FAILED, EXIT_USAGE, main
from kalexo_client.connecting import Attempts
from kalexo_client.follow import follow_events
from recording import Recorder

from tests.ports import free_port

SECRET = "eyJsecret.token.value"
QUICK = Backoff(first=0.01, cap=0.05)


@pytest.fixture
def dead_url() -> str:
    return f"ws://127.0.0.1:{free_port()}/"  # nothing listens: every connect is refused at once


def test_start_raises_failed_after_the_attempts_with_an_event_each(dead_url: str) -> None:
    seen = Recorder()

    async def scenario() -> None:
        client = WorkspaceClient(dead_url, SECRET, "w", on_event=seen, backoff=QUICK, connect_deadline=None,
                                 connect_attempts=3)
        with pytest.raises(Failed) as failed:
            await client.start(timeout=60)
        await client.close()
        assert SECRET not in str(failed.value) and "3 attempts" in str(failed.value)

    asyncio.run(asyncio.wait_for(scenario(), 120))
    assert [e.attempt for e in seen.events if isinstance(e, ConnectFailed)] == [0, 1, 2]


def test_start_raises_failed_after_the_connect_deadline(dead_url: str) -> None:
    async def scenario() -> None:
        client = WorkspaceClient(dead_url, SECRET, "w", backoff=QUICK, connect_deadline=0.5)
        with pytest.raises(Failed):
            await client.start(timeout=60)  # the deadline ends it, long before this ceiling
        await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_the_sync_client_raises_failed_too(dead_url: str) -> None:
    with pytest.raises(Failed), SyncWorkspaceClient(dead_url, SECRET, "w", backoff=QUICK, connect_attempts=2):
        pass


def test_follow_events_raises_failed_after_its_deadline(dead_url: str) -> None:
    async def scenario() -> None:
        with pytest.raises(Failed):
            async for _ in follow_events(dead_url, SECRET, backoff=QUICK, connect_deadline=0.5):
                pass

    asyncio.run(asyncio.wait_for(scenario(), 120))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("KALEXO_API_URL", "KALEXO_WS_URL", "KALEXO_TOKEN", "KALEXO_PROFILE", "KALEXO_OUTPUT",
                 "KALEXO_WORKSPACE", "KALEXO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    yield


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    return int(ended.value.code or 0)


def test_the_cli_exits_4_on_one_line_when_the_websocket_is_down(dead_url: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n")
    api = f"http://127.0.0.1:{free_port()}"  # never reached: the websocket is joined before the upload
    assert run("--api-url", api, "--ws-url", dead_url, "--token", SECRET, "documents", "upload", str(plan),
               "-w", "w", "--wait", "--timeout", "1") == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: could not connect") and err.count("\n") == 1 and SECRET not in err
    assert run("--api-url", api, "--ws-url", dead_url, "--token", SECRET, "events", "tail",
               "--connect-timeout", "1") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "error: could not follow" in err and SECRET not in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["events", "tail"], ["documents", "upload", "PLAN", "-w", "w", "--wait"]])
def test_an_http_websocket_url_is_a_usage_error_without_the_token(command: list[str], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n")
    argv = [str(plan) if part == "PLAN" else part for part in command]
    api = f"http://127.0.0.1:{free_port()}"
    assert run("--api-url", api, "--ws-url", api, "--token", SECRET, *argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert "ws:// or wss://" in captured.err and SECRET not in captured.err + captured.out


def test_the_client_never_shows_the_token_of_a_bad_url() -> None:
    async def scenario() -> None:
        client = WorkspaceClient("http://127.0.0.1:1/", SECRET, "w")
        with pytest.raises(Exception) as refused:
            await client.start(timeout=60)
        await client.close()
        assert SECRET not in str(refused.value)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_attempts_stay_within_the_deadline_only_until_synced() -> None:
    tries = Attempts(Backoff(first=4.0, cap=8.0, jitter=0.0), open_timeout=10.0, deadline=5.0, limit=None,
                     started=100.0)
    assert tries.timeout(103.0, synced=False) == 2.0 and tries.timeout(103.0, synced=True) == 10.0
    assert tries.pause(None, 103.0, synced=False) == 2.0  # the last try at the deadline, not 4 s later
    assert not tries.failed(104.9, synced=False) and tries.failed(105.0, synced=False)
    assert not tries.failed(500.0, synced=True)  # once synced: for ever
    assert tries.pause(None, 500.0, synced=True) == 8.0
    limited = Attempts(Backoff(), 10.0, deadline=None, limit=2, started=0.0)
    assert not limited.failed(1e6, synced=False) and limited.failed(1e6, synced=False)
