"""`kalexo` as an administrator runs it: the installed entry point, as a subprocess, against the local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import Space, two_page_pdf
from kalexo_client import KalexoApi

pytestmark = pytest.mark.e2e
KALEXO = Path(sys.executable).with_name("kalexo")  # installed with the package (make venv: -e ./clients/python)
CEILING = 180


def environment(space: Space, user: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALEXO_")}
    (tmp_path / "no-profile.toml").write_text("")  # KALEXO_CONFIG must name a file that exists
    return {**env, "KALEXO_API_URL": space.stack.rest, "KALEXO_WS_URL": space.stack.ws,
            "KALEXO_TOKEN": space.token(user), "KALEXO_WORKSPACE": space.workspace,
            "KALEXO_CONFIG": str(tmp_path / "no-profile.toml")}


def kalexo(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    assert KALEXO.exists(), f"{KALEXO} missing: install the client (pip install -e ./clients/python)"
    return subprocess.run([str(KALEXO), *argv], env=env, capture_output=True, text=True, timeout=CEILING,
                          stdin=subprocess.DEVNULL)


def test_exit_codes_say_usage_refused_or_failed(space: Space, tmp_path: Path) -> None:
    env = environment(space, "bob", tmp_path)
    usage = kalexo(env, "members", "set", "vera")  # no role
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
    refused = kalexo(env, "accounts", "list")
    assert refused.returncode == 3
    assert refused.stderr.startswith("error: forbidden: ") and refused.stderr.strip().endswith("(HTTP 403)")
    hidden = kalexo(env, "workspaces", "show", "ws-of-nobody")
    assert hidden.returncode == 3 and "not_found" in hidden.stderr
    unreachable = kalexo({**env, "KALEXO_API_URL": "http://127.0.0.1:9"}, "me")
    assert unreachable.returncode == 4


def test_upload_wait_ends_with_the_manifest_url(space: Space, tmp_path: Path) -> None:
    env, pdf = environment(space, "bob", tmp_path), two_page_pdf(tmp_path / "plan.pdf")
    done = kalexo(env, "documents", "upload", str(pdf), "--wait")
    assert done.returncode == 0, done.stderr
    assert "Uploading plan.pdf" in done.stderr and "Tiling pages" in done.stderr
    *_, said, url = done.stdout.strip().splitlines()
    assert said.endswith("  ready  2 pages"), said
    assert url.startswith(f"{space.stack.rest}/workspaces/{space.workspace}/documents/doc-")
    manifest = requests.get(url, headers={"Authorization": f"Bearer {space.token('bob')}"}, timeout=30).json()
    assert manifest["status"] == "ready" and len(manifest["pages"]) == 2

    as_json = kalexo(env, "-o", "json", "documents", "upload", str(pdf), "--wait",
                     "--document-id", manifest["document_id"])
    assert as_json.returncode == 0, as_json.stderr
    again = json.loads(as_json.stdout)
    assert again["manifest_url"] == url and again["status"] == "ready" and again["job_id"] != manifest["job_id"]
    text = kalexo(env, "-o", "json", "documents", "text", manifest["document_id"], "1")
    assert text.returncode == 0 and "page 2" in json.loads(text.stdout)["text"]
    beyond = kalexo(env, "documents", "text", manifest["document_id"], "2")
    assert beyond.returncode == 3 and beyond.stderr.startswith("error: no_such_page: ")
    listed = kalexo(env, "documents", "list")
    assert manifest["document_id"] in listed.stdout and "ready" in listed.stdout

    polled = kalexo({**env, "KALEXO_WS_URL": ""}, "documents", "upload", str(pdf), "--wait")  # no websocket
    assert polled.returncode == 0, polled.stderr
    assert polled.stdout.strip().splitlines()[-1].startswith(f"{space.stack.rest}/workspaces/{space.workspace}/")


def test_upload_wait_of_a_refused_new_version_exits_3_and_says_the_earlier_one_is_kept(space: Space,
                                                                                      tmp_path: Path) -> None:
    env, pdf = environment(space, "bob", tmp_path), two_page_pdf(tmp_path / "plan.pdf")
    first = kalexo(env, "-o", "json", "documents", "upload", str(pdf), "--wait")
    assert first.returncode == 0, first.stderr
    kept = json.loads(first.stdout)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)  # a PDF header and nothing a reader can use
    for where, extra in (("websocket", {}), ("polling", {"KALEXO_WS_URL": ""})):
        refused = kalexo({**env, **extra}, "documents", "upload", str(broken), "--wait", "--timeout", "120",
                         "--document-id", kept["document_id"])
        assert refused.returncode == 3, (where, refused.returncode, refused.stderr)
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("error: corrupt: ") and last.endswith("still shows its earlier version"), (where, last)
        shown = space.api("bob").document(space.workspace, kept["document_id"])
        assert shown["status"] == "ready" and shown["job_id"] == kept["job_id"] and len(shown["pages"]) == 2
        assert shown["reason_code"] == "corrupt", shown
    fixed = kalexo(env, "-o", "json", "documents", "upload", str(pdf), "--wait", "--document-id", kept["document_id"])
    assert fixed.returncode == 0, fixed.stderr  # a good version after a refused one: processed, reason gone
    after = json.loads(fixed.stdout)
    assert after["job_id"] != kept["job_id"] and not after.get("reason_code") and not after.get("reason")


@pytest.fixture
def tail(space: Space, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    env = environment(space, "alice", tmp_path)
    follower = subprocess.Popen([str(KALEXO), "-o", "json", "events", "tail", "--type", "user.", "--count", "1"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    try:
        yield follower
    finally:
        if follower.poll() is None:
            follower.kill()
        follower.communicate(timeout=30)


def test_events_tail_follows_the_log_live(space: Space, tail: subprocess.Popen[str], tmp_path: Path) -> None:
    assert tail.stderr is not None and tail.stdout is not None
    assert tail.stderr.readline().startswith("following the event log of acc-demo")  # subscribed: now act
    email = f"tail-{uuid.uuid4().hex[:8]}@acc-demo.test"
    created = kalexo(environment(space, "alice", tmp_path), "-o", "json", "users", "create", "--email", email,
                     "--name", "Tailed")
    assert created.returncode == 0, created.stderr
    user_id = json.loads(created.stdout)["user_id"]
    out, _ = tail.communicate(timeout=CEILING)  # --count 1: it ends after the first user event
    assert tail.returncode == 0
    event = json.loads(out)
    assert (event["type"], event["user_id"]) == ("user.created", user_id)
    KalexoApi(space.stack.rest, space.token("alice")).delete_user(user_id)


def test_state_restore_members_and_tokens(space: Space, tmp_path: Path) -> None:
    env = environment(space, "alice", tmp_path)
    assert kalexo(env, "members", "set", "olga", "viewer").returncode == 3  # another tenant's user
    members = json.loads(kalexo(env, "-o", "json", "members", "list").stdout)
    assert {m["user_id"]: m["role"] for m in members} == {"alice": "owner", "bob": "editor", "vera": "viewer"}
    token = kalexo(env, "tokens", "create", "bob", "--ttl", "600").stdout.strip()
    me = kalexo({**env, "KALEXO_TOKEN": token}, "-o", "json", "me")
    assert json.loads(me.stdout)["user_id"] == "bob"
    empty = json.loads(kalexo(env, "-o", "json", "workspaces", "state").stdout)
    assert empty == {"workspace": space.workspace, "seq": 0, "items": []}
    restored = kalexo(env, "-o", "json", "workspaces", "restore", "--seq", "0")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["restored_to"] == 0
    table = kalexo(env, "workspaces", "state", "--seq", "0")
    assert table.stdout.startswith(f"{space.workspace} after op 0: 0 items")


def test_refusals_are_one_line_and_removals_say_so(space: Space, tmp_path: Path) -> None:
    env = environment(space, "alice", tmp_path)
    last = kalexo(env, "members", "remove", "alice")
    assert last.returncode == 3 and last.stderr.startswith("error: last_owner: ") and last.stderr.count("\n") == 1
    early = kalexo(env, "workspaces", "restore", "--at-ms", "1700000000")  # seconds, by mistake
    assert early.returncode == 3 and early.stderr.startswith("error: before_workspace: ")
    assert "before_workspace" in kalexo(env, "workspaces", "restore", "--help").stdout
    removed = kalexo(env, "members", "remove", "vera")
    assert removed.returncode == 0 and removed.stdout.strip() == f"removed vera from {space.workspace}"
    assert kalexo(env, "-o", "json", "members", "remove", "bob").stdout.strip() == "{}"


def test_the_readme_administration_with_kalexo(space: Space, tmp_path: Path) -> None:
    """README, "Administering with curl": the same tasks with kalexo, as a platform admin and then as Ines."""
    admin = {**environment(space, "admin", tmp_path), "KALEXO_WORKSPACE": ""}

    def ok(env: dict[str, str], *argv: str) -> str:
        done = kalexo(env, *argv)
        assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    suffix = uuid.uuid4().hex[:8]
    account = json.loads(ok(admin, "-o", "json", "accounts", "create", f"Studio North {suffix}", "--plan", "team"))
    ines = json.loads(ok(admin, "-o", "json", "users", "create", "--account", account["account_id"], "--email",
                         f"ines-{suffix}@studio.test", "--name", "Ines", "--role", "account_admin"))
    as_ines = {**admin, "KALEXO_TOKEN": ok(admin, "tokens", "create", ines["user_id"]).strip()}
    created = json.loads(ok(as_ines, "-o", "json", "workspaces", "create", "Harbour Tower", "--owner",
                            ines["user_id"]))
    as_ines["KALEXO_WORKSPACE"] = created["workspace_id"]
    tiling = '{"units": "mm", "tiling": {"max_pixels": 140000000}}'
    assert json.loads(ok(as_ines, "-o", "json", "workspaces", "update", "--settings", tiling))["settings"] == \
        json.loads(tiling)
    refused = kalexo(as_ines, "workspaces", "update", "--settings", '{"tiling": {"max_pixels": 5}}')
    assert refused.returncode != 0 and "bad_settings" in refused.stderr and "max_pixels" in refused.stderr
    for not_an_object in ("[1]", '{"grid": NaN}'):  # usage errors, before any request
        assert kalexo(as_ines, "workspaces", "update", "--settings", not_an_object).returncode == 2
    max_ = json.loads(ok(as_ines, "-o", "json", "users", "create", "--email", f"max-{suffix}@studio.test",
                         "--name", "Max"))
    assert max_["account_id"] == account["account_id"]  # her own account, without naming it
    ok(as_ines, "members", "set", max_["user_id"], "editor")
    assert "editor" in ok(as_ines, "members", "list")
    assert json.loads(ok(as_ines, "-o", "json", "usage"))["account_id"] == account["account_id"]
    assert "membership.added" in ok(as_ines, "events", "list", "--type", "membership.", "--limit", "20")
    # Quota overrides change one at a time: the API replaces them whole, the CLI keeps those it is not told of.
    acc = account["account_id"]
    ok(admin, "accounts", "update", acc, "--quota", "max_users=9", "--quota", "max_pages_per_month=100")
    changed = json.loads(ok(admin, "-o", "json", "accounts", "update", acc, "--quota", "max_storage_bytes=unlimited",
                            "--quota", "max_users=plan"))
    assert changed["quota_overrides"] == {"max_pages_per_month": 100, "max_storage_bytes": None}
    assert (changed["quotas"]["max_pages_per_month"], changed["quotas"]["max_storage_bytes"]) == (100, None)
    assert changed["quotas"]["max_users"] == 50  # the team plan's again
