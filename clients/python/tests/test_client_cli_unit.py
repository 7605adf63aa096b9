"""The command line without the stack: configuration, usage errors, exit codes for refusals and failures (a
stand-in HTTP server answers as the API does), and the table output."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kalexo_client.cli.main import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE, main
from kalexo_client.cli.output import cell, counted, record, table

from tests.ports import free_port


class Api(BaseHTTPRequestHandler):
    """/me answers as a signed-in user; /admin/accounts refuses (403); anything else is a 503 page."""

    def do_GET(self) -> None:
        if self.path.startswith("/me/workspaces"):
            self._send(200, {"items": [{"workspace_id": f"w{n}", "name": f"W {n}"} for n in (1, 2, 3)],
                             "next_cursor": None})
        elif self.path.startswith("/me"):
            self._send(200, {"user_id": "u1", "account_id": "a1", "seen_token": self.headers["Authorization"]})
        elif self.path.startswith("/admin/events") and "type=document." in self.path:  # a page the filter emptied
            later = "cursor=s2" in self.path
            items = [{"event_id": "e9", "type": "document.ready", "at_ms": 1795968488000}] if later else []
            self._send(200, {"items": items, "next_cursor": None if later else "s2"})
        elif self.path.startswith("/admin/events"):  # two pages
            second = "cursor=c2" in self.path
            items = [{"event_id": "e3", "type": "user.created", "at_ms": 1795968488000}] if second else [
                {"event_id": f"e{n}", "type": "membership.added", "at_ms": 1795968488000} for n in (1, 2)]
            self._send(200, {"items": items, "next_cursor": None if second else "c2"})
        elif self.path.startswith("/admin/accounts"):
            self._send(403, {"error": {"code": "forbidden", "message": "platform administrators only"}})
        else:
            body = b"<html>Service Unavailable</html>"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path == "/workspaces/w/uploads":  # a grant whose PUT goes to this server
            host = f"http://{self.headers['Host']}"
            self._send(201, {"document_id": "doc-1", "method": "PUT", "url": f"{host}/storage/doc-1",
                             "headers": {"Content-Type": "application/pdf"}, "expires_in": 900})
        else:
            self._send(404, {"error": {"code": "not_found", "message": "no such route"}})

    def do_PUT(self) -> None:
        try:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(200, {})
        except OSError:
            pass  # the client gave up mid-body

    def _send(self, status: int, answer: object) -> None:
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KALEXO_API_URL", "KALEXO_WS_URL", "KALEXO_TOKEN", "KALEXO_PROFILE", "KALEXO_OUTPUT",
                 "KALEXO_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.toml").write_text("")  # KALEXO_CONFIG must name a file that exists
    monkeypatch.setenv("KALEXO_CONFIG", str(tmp_path / "config.toml"))


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    return int(ended.value.code or 0)


def test_usage_errors(capsys: pytest.CaptureFixture[str], api_url: str) -> None:
    assert run("me") == EXIT_USAGE
    assert "KALEXO_API_URL" in capsys.readouterr().err
    assert run("--api-url", api_url, "me") == EXIT_USAGE
    assert "KALEXO_TOKEN" in capsys.readouterr().err
    assert run("--api-url", api_url, "--token", "t", "workspaces", "restore", "w", "--seq", "1", "--at-ms", "2") \
        == EXIT_USAGE
    assert run("--api-url", api_url, "--token", "t", "documents", "upload") == EXIT_USAGE
    assert run("--profile", "nowhere", "me") == EXIT_USAGE
    assert run("--help") == 0
    assert "documents" in capsys.readouterr().out


def test_a_profile_file_with_a_token_file(capsys: pytest.CaptureFixture[str], api_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "alice.token").write_text("from-the-file\n")
    (tmp_path / "config.toml").write_text(
        f'[default]\napi_url = "{api_url}"\ntoken_file = "{tmp_path / "alice.token"}"\n'
        f'[other]\napi_url = "{api_url}"\ntoken = "other-token"\noutput = "json"\n[bad]\napi = "x"\n')
    assert run("me") == 0
    assert "Bearer from-the-file" in capsys.readouterr().out
    assert run("--profile", "other", "me") == 0
    assert json.loads(capsys.readouterr().out)["seen_token"] == "Bearer other-token"
    monkeypatch.setenv("KALEXO_TOKEN", "from-the-environment")  # the environment wins over the profile
    assert run("-o", "json", "me") == 0
    assert json.loads(capsys.readouterr().out)["seen_token"] == "Bearer from-the-environment"
    assert run("--profile", "bad", "me") == EXIT_USAGE
    assert "unknown keys" in capsys.readouterr().err


def test_refusals_and_failures_have_their_exit_codes(capsys: pytest.CaptureFixture[str], api_url: str) -> None:
    assert run("--api-url", api_url, "--token", "t", "accounts", "list") == EXIT_REFUSED
    assert "forbidden: platform administrators only (HTTP 403)" in capsys.readouterr().err
    assert run("--api-url", api_url, "--token", "t", "users", "show", "u1") == EXIT_FAILED
    assert "503" in capsys.readouterr().err
    closed = f"http://127.0.0.1:{free_port()}"
    assert run("--api-url", closed, "--token", "t", "me") == EXIT_FAILED


def test_tables() -> None:
    rows: list[dict[str, Any]] = [{"user_id": "alice", "online": True, "added_at": 1795968488},
                                  {"user_id": "bob", "extra": [1, 2]}]
    lines = table(rows, width=None).splitlines()
    assert lines[0].split() == ["USER_ID", "ONLINE", "ADDED_AT", "EXTRA"]
    assert lines[1].split()[:2] == ["alice", "yes"] and "2026-" in lines[1] and lines[1].endswith("Z")
    assert lines[2].split() == ["bob", "1,2"]
    assert table([]) == "(none)"
    assert cell(1795968488000, "at_ms") == cell(1795968488, "created_at") == "2026-11-29T16:08:08Z"
    assert table([{"at_ms": 1795968488000}]).splitlines()[0] == "AT"


def test_tables_use_the_terminal_width_and_show_nested_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    quotas = {"max_users": 50, "max_workspaces": 20, "max_storage_bytes": 10**11, "max_documents": 5000,
              "max_pages_per_document": 2000}
    usage = {"account_id": "acc-demo", "quotas": quotas, "note": "n" * 150}
    monkeypatch.setenv("COLUMNS", "250")
    wide = record(usage).splitlines()
    assert wide[1].split() == ["quotas.max_users", "50"] and wide[-1].endswith("n" * 150)  # nothing cut at 250
    rows = [{"id": "a", "quotas": quotas}]
    assert "max_users=50 max_workspaces=20" in table(rows) and "…" not in table(rows)
    monkeypatch.setenv("COLUMNS", "60")
    assert all(len(line) <= 60 for line in table(rows).splitlines() + record(usage).splitlines())
    assert record(usage).splitlines()[-1].endswith("…")
def test_user_errors_are_one_line_usage_errors(capsys: pytest.CaptureFixture[str], api_url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert run("--api-url", api_url, "--token", "t", "documents", "upload", str(empty), "-w", "w") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is empty" in err and "Traceback" not in err
    monkeypatch.setenv("KALEXO_CONFIG", str(tmp_path / "nonexistent.toml"))
    assert run("--api-url", api_url, "--token", "t", "me") == EXIT_USAGE
    assert "nonexistent.toml" in capsys.readouterr().err


def test_events_list_pages_with_a_cursor(capsys: pytest.CaptureFixture[str], api_url: str) -> None:
    base = ("--api-url", api_url, "--token", "t")
    assert run(*base, "-o", "json", "events", "list", "--limit", "2") == 0
    first = json.loads(capsys.readouterr().out)
    assert first["next_cursor"] == "c2" and [e["event_id"] for e in first["items"]] == ["e1", "e2"]
    assert run(*base, "events", "list", "--limit", "2") == 0
    shown = capsys.readouterr()
    assert "--cursor c2" in shown.err and shown.out.count("membership.added") == 2
    assert run(*base, "-o", "json", "events", "list", "--cursor", "c2") == 0
    assert json.loads(capsys.readouterr().out) == {
        "items": [{"event_id": "e3", "type": "user.created", "at_ms": 1795968488000}], "next_cursor": None}
    assert run(*base, "events", "list", "--cursor", "c2") == 0
    assert "--cursor" not in capsys.readouterr().err


def test_events_list_reads_on_past_a_page_its_filter_left_empty(capsys: pytest.CaptureFixture[str],
                                                                api_url: str) -> None:
    """The API may answer a page with no events and a cursor (the filter matched none of what it read): an
    empty table there would read as "no such events"."""
    base = ("--api-url", api_url, "--token", "t")
    assert run(*base, "-o", "json", "events", "list", "--type", "document.", "--limit", "5") == 0
    assert json.loads(capsys.readouterr().out) == {
        "items": [{"event_id": "e9", "type": "document.ready", "at_ms": 1795968488000}], "next_cursor": None}
    assert run(*base, "events", "list", "--type", "document.") == 0
    shown = capsys.readouterr()
    assert "document.ready" in shown.out and "--cursor" not in shown.err


def test_a_list_cut_by_limit_says_so(capsys: pytest.CaptureFixture[str], api_url: str) -> None:
    base = ("--api-url", api_url, "--token", "t")
    assert run(*base, "workspaces", "list", "--limit", "2") == 0
    shown = capsys.readouterr()
    assert "w2" in shown.out and "w3" not in shown.out and "--limit" in shown.err
    assert run(*base, "workspaces", "list") == 0
    shown = capsys.readouterr()
    assert "w3" in shown.out and shown.err == ""


def test_a_file_that_cannot_be_read_mid_upload_is_an_error_not_a_traceback(
        capsys: pytest.CaptureFixture[str], api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.7\n" + b"0" * 100_000)
    assert run("--api-url", api_url, "--token", "t", "documents", "upload", str(plan), "-w", "w") == 0
    capsys.readouterr()

    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 50_000:
                raise OSError(5, "Input/output error")  # half read: a network drive gone, a disk failing
            return super().read(min(size or 8192, 8192))

    content, real_open = plan.read_bytes(), Path.open
    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs:
                        Failing(content) if self == plan else real_open(self, *args, **kwargs))
    assert run("--api-url", api_url, "--token", "t", "documents", "upload", str(plan), "-w", "w") == EXIT_FAILED
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == f"error: reading {plan}: Input/output error"  # the file's fault, not the network's

    def gone(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == plan:
            raise FileNotFoundError(2, "No such file or directory", str(plan))  # removed after it was named
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", gone)
    assert run("--api-url", api_url, "--token", "t", "documents", "upload", str(plan), "-w", "w") == EXIT_FAILED
    assert capsys.readouterr().err.splitlines()[-1] == f"error: reading {plan}: No such file or directory"


def test_an_unknown_quota_is_a_usage_error_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    # No server at this address: a request would fail (exit 4), not be a usage error (exit 2).
    base = ("--api-url", f"http://127.0.0.1:{free_port()}", "--token", "t")
    assert run(*base, "accounts", "update", "acc-x", "--quota", "bogus=3") == EXIT_USAGE
    assert "not a quota" in capsys.readouterr().err
    assert run(*base, "accounts", "update", "acc-x", "--quota", "max_users=lots") == EXIT_USAGE


def test_counts_are_said_in_the_singular_for_one() -> None:
    assert [counted(n, "page") for n in (0, 1, 2)] == ["0 pages", "1 page", "2 pages"]
