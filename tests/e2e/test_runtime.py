"""The runtime as a developer meets it: /health, tokens from `make token`, and a clean stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from websockets.sync.client import connect

from chalicelib.domain.principal import Role
from tests.e2e.stack import ROOT, alive, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def test_health_reports_every_component(stack):
    public = requests.get(f"{stack.rest}/health", timeout=10)
    assert public.status_code == 200
    body = public.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"endpoint", "table", "queue", "bucket", "pollers"}
    assert len(body["components"]["table"]) == 4
    assert "name" not in body["components"]["table"][0]  # the public answer names nothing
    admin = requests.get(f"{stack.rest}/health", timeout=10,
                         headers={"Authorization": f"Bearer {stack.token('admin', (Role.PLATFORM_ADMIN,))}"}).json()
    tables = {c["name"] for c in admin["components"]["table"]}
    assert stack.env["KALEXO_MAIN_TABLE"] in tables
    pollers = admin["components"]["pollers"][0]["pollers"]
    assert pollers[stack.env["KALEXO_UPLOADS_QUEUE"]]["seconds_since_poll"] < 30
    member = requests.get(f"{stack.rest}/health", timeout=10,
                          headers={"Authorization": f"Bearer {stack.token('alice')}"}).json()
    assert "name" not in member["components"]["table"][0]  # details are for platform admins only


def run_token(stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local", "token", "--state-dir", str(stack.state_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_token_command_prints_a_working_token_last(stack):
    result = run_token(stack, "--user", "bob", "--workspace", "ws-demo")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    with connect(f"{stack.ws}/?token={token}") as ws:
        ws.send('{"action":"ping"}')
        assert '"pong"' in ws.recv(timeout=10)
    assert run_token(stack, "--user", "mallory").returncode == 2
    refused = run_token(stack, "--user", "admin", "--workspace", "ws-demo")
    assert refused.returncode == 2 and "not a member" in refused.stderr


def test_ctrl_c_leaves_no_process_behind(tmp_path, stack):
    # How fast it starts is a benchmark's question (bench/startup.py), not a test's.
    second = start_stack(tmp_path / "second", "--workers", "1")
    try:
        pids = second.runtime["pids"]
        assert set(pids) == {"emulator", "gateway", "worker-0"}
        assert all(alive(pid) for pid in pids.values())
    finally:
        assert stop_stack(second) == 0
    deadline = time.time() + 60
    while time.time() < deadline and any(alive(pid) for pid in pids.values()):
        time.sleep(0.1)
    assert not [name for name, pid in pids.items() if alive(pid)]
    # The first stack is untouched by the second one stopping.
    assert requests.get(f"{stack.rest}/health", timeout=10).status_code == 200


def test_a_second_stack_on_busy_ports_refuses_to_start(tmp_path, stack):
    result = subprocess.run([sys.executable, "-m", "local", "run", "--state-dir", str(tmp_path),
                             "--aws-port", str(stack.ports["aws"])], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "already in use" in result.stderr


def test_children_die_with_a_killed_supervisor(tmp_path, stack):
    third = start_stack(tmp_path / "third", "--workers", "1")
    try:
        pids = third.runtime["pids"]
        third.process.kill()  # SIGKILL: the supervisor gets no chance to clean up
        third.process.wait()
        deadline = time.time() + 60
        while time.time() < deadline and any(alive(pid) for pid in pids.values()):
            time.sleep(0.1)
        assert not [name for name, pid in pids.items() if alive(pid)]
    finally:
        stop_stack(third)


def wait_for_a_poll_after(stack, moment: float, queue: str) -> None:
    """Until the queue's poller has written its heartbeat after `moment`: it writes it just before a receive, so
    every receive from then on began after `moment` (local/sqs_pollers.py)."""
    dynamodb, deadline = stack.client("dynamodb"), time.time() + 60
    while time.time() < deadline:
        item = dynamodb.get_item(TableName=stack.env["KALEXO_MAIN_TABLE"], ConsistentRead=True, Key={
            "pk": {"S": "RUNTIME#event-sources"}, "sk": {"S": queue}}).get("Item")
        if item is not None and float(item["last_poll_at"]["N"]) > moment:
            return
        time.sleep(0.2)
    raise AssertionError(f"{queue} was not polled after {moment}:\n{stack.log()}")


def test_a_killed_worker_is_started_again_and_the_stack_goes_on(tmp_path):
    """A helper killed one worker (kill -9) while a document was tiled: the whole stack stopped. Lambda replaces a
    failed instance; so does the supervisor, and the document is still tiled (its messages come back)."""
    from tests.e2e.api_client import Api
    from tests.e2e.documents_samples import letter_pdf
    from tests.e2e.test_documents import settle, upload

    fourth = start_stack(tmp_path / "fourth", "--workers", "1")
    try:
        runtime = tmp_path / "fourth" / "runtime.json"
        killed = fourth.runtime["pids"]["worker-0"]
        # A batch being invoked is released by the restarted worker (local/sqs_pollers.py); a message whose
        # receive the kill cut short comes back only after the queue's visibility timeout, shortened here.
        # A receive takes the timeout the queue has when it begins: one already waiting would hide the message
        # for the template's 720 s (seen once in CI), so the upload waits for a poll begun after the change.
        sqs = fourth.client("sqs")
        for queue in ("KALEXO_UPLOADS_QUEUE", "KALEXO_TILES_QUEUE"):
            url = sqs.get_queue_url(QueueName=fourth.env[queue])["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "15"})
        wait_for_a_poll_after(fourth, time.time(), fourth.env["KALEXO_UPLOADS_QUEUE"])
        bob = Api(fourth, fourth.token("bob"))
        grant = upload(bob, "after a crash.pdf", letter_pdf(pages=3, text="Crash"))
        subprocess.run(["kill", "-9", str(killed)], check=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            pids = json.loads(runtime.read_text())["pids"]
            if pids["worker-0"] != killed and alive(pids["worker-0"]):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"worker-0 was not started again:\n{fourth.log()}")
        assert fourth.process.poll() is None and alive(pids["gateway"]) and alive(pids["emulator"])
        assert "worker-0 exited with status -9; starting it again" in fourth.log()
        try:
            document = settle(bob, grant["document_id"], timeout=120)
        except pytest.fail.Exception as failed:  # the stack's log says which step the kill cut short
            raise AssertionError(f"{failed}\n{fourth.log(20000)}") from None
        assert document["status"] == "ready" and [p["page"] for p in document["pages"]] == [0, 1, 2], document
        assert requests.get(f"{fourth.rest}/health", timeout=10).status_code == 200
    finally:
        assert stop_stack(fourth) == 0
