"""The deploy rehearsal: `make deploy STAGE=rehearsal`, exactly as the README tells a developer to run it, against
the local stack's emulator (`python -m local.emulator`, moto with the gaps `chalice deploy` hits closed in
local/), twice in a row (the second run is the update path), then `make admin` and `make destroy`.

After each deploy it checks what a real deploy must have produced, against Chalice's own model of the app and
the tracked configuration (tests/e2e/deploy_expectations.py): every function with its handler, runtime, role
policy, memory, timeout, layer, /tmp, reserved concurrency and settings; the REST API's routes and their
integration; the websocket API's routes and integrations; each queue's trigger with its batch size and maximum
concurrency; the schedule; the template's alarms; the log groups with retention; the site's config.json.
It fails on what the issue found: Chalice's deploy-time validation (the content-type bug) and a placeholder
layer ARN both stop `chalice deploy` here as they would on AWS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.container import Container
from infra import stage_project
from infra.admin import stage_settings
from tests.e2e.deploy_checks import ROOT, STAGE, Aws, check_deployment, session
from tests.orphans import signalled_when_parent_goes
from tests.ports import free_port


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("rehearsal") / "emulator.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "local.emulator", "-p", str(port)], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               preexec_fn=lambda: signalled_when_parent_goes(signal.SIGTERM))  # noqa: PLW1509
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                session().client("sts", endpoint_url=url).get_caller_identity()
                break
            except Exception as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start: {Path(log.name).read_text()[-2000:]}") from exc
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _env(emulator: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAKEFLAGS", "MFLAGS"))}
    env.update({"AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1"})
    return env


def _make(emulator: str, *args: str, expect: int = 0, stage: str = STAGE) -> subprocess.CompletedProcess[str]:
    # DIRTY=1: a developer's working tree may hold uncommitted changes while the tests run; CI's clone does not.
    result = subprocess.run(["make", "--no-print-directory", *args, f"STAGE={stage}", "CDN=0", "DIRTY=1"],
                            cwd=ROOT, env=_env(emulator), capture_output=True, text=True, timeout=1200)
    assert result.returncode == expect, \
        f"make {' '.join(args)} answered {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.timeout(900)  # two deploys, an admin and a destroy: 90 s on an idle machine, longer on a busy one
def test_make_deploy_twice_then_admin_then_destroy(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)  # for the app's own clients, which check the admin's token below
    aws = Aws(emulator)
    tracked = (ROOT / ".chalice" / "config.json").read_bytes()
    first = _make(emulator, "deploy")
    assert "Kalexo Teamwork stage rehearsal is deployed." in first.stdout
    created = check_deployment(aws)
    # what chalice deploy uploaded carries the app's bytecode (infra/chalice_deploy.py), not only sources
    uploaded = max((stage_project.project_dir(STAGE) / ".chalice" / "deployments").glob("*.zip"),
                   key=lambda path: path.stat().st_mtime)  # the directory keeps earlier packages as a cache
    with zipfile.ZipFile(uploaded) as package:
        assert f"__pycache__/app.{sys.implementation.cache_tag}.pyc" in package.namelist()
    second = _make(emulator, "deploy")
    assert "no changes" in second.stdout and "already holds this build" in second.stdout
    assert check_deployment(aws) == created  # the same APIs, no new layer version
    assert (ROOT / ".chalice" / "config.json").read_bytes() == tracked  # account values stay out of the checkout

    token = _make(emulator, "admin", "EMAIL=Ops@Example.com", "NAME=Olu Ops").stdout.strip().splitlines()[-1]
    again = _make(emulator, "admin", "EMAIL=ops@example.com").stdout.strip().splitlines()[-1]
    container = Container(stage_settings(session(), STAGE, emulator))
    for issued in (token, again):
        principal = container.tokens.verify(issued)
        assert principal.user_id == "admin" and principal.is_platform_admin
    assert container.tenancy.store.get_user("admin").email == "ops@example.com"

    _make(emulator, "destroy")  # keeps the data
    assert not [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("kalexo-")]
    assert {f"kalexo-{STAGE}-main", f"kalexo-{STAGE}-ops", f"kalexo-{STAGE}-events"} <= set(
        aws("dynamodb").list_tables()["TableNames"])
    assert aws("dynamodb").get_item(TableName=f"kalexo-{STAGE}-main", Key={"pk": {"S": "USER#admin"},
                                                                            "sk": {"S": "USER"}}).get("Item")
    # Deploying the stage again cannot create those names: it says so before touching anything.
    refused = _make(emulator, "deploy", expect=2)
    assert "left its data" in refused.stderr and f"kalexo-{STAGE}-main" in refused.stderr
    assert aws("cloudformation").list_stacks(StackStatusFilter=["CREATE_IN_PROGRESS", "CREATE_COMPLETE"])[
        "StackSummaries"] == []
    assert "Add CONFIRM=rehearsal to go ahead." in _make(emulator, "destroy", "DELETE_DATA=1", expect=2).stderr
    _make(emulator, "destroy", "DELETE_DATA=1", f"CONFIRM={STAGE}")
    assert not [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("kalexo-")]
    assert not aws("apigateway").get_rest_apis()["items"] and not aws("apigatewayv2").get_apis()["Items"]
    assert not [t for t in aws("dynamodb").list_tables()["TableNames"] if t.startswith(f"kalexo-{STAGE}-")]
    assert not [b for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith(f"kalexo-{STAGE}-")]
    assert not aws("ssm").get_parameters_by_path(Path=f"/kalexo/{STAGE}/", Recursive=True)["Parameters"]


AS_A_TERMINAL_RUNS = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execvp(sys.argv[1], sys.argv[1:])")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_a_first_deploy_stopped_part_way_is_finished_by_the_next_without_duplicates(emulator: str, how: int) -> None:
    """A first deploy stopped once Chalice has made the REST API and the SQS triggers, with Ctrl-C (SIGINT to
    the whole process group, as a terminal sends it: infra/chalice_deploy.py records what was made) or kill -9
    (nothing can record: the next deploy finds the stage's unrecorded APIs and triggers by what they invoke and
    removes them, infra/orphans.py, and takes over the dead deploy's lock). Either way the rerun must leave one
    REST API, one websocket API and one trigger per queue, and destroy must leave nothing."""
    aws, stage = Aws(emulator), f"stopped-{signal.Signals(how).name.lower()}"
    # A terminal's foreground job takes SIGINT; a test run started in the background (CI, nohup, `&`) would
    # pass SIGINT on as ignored, and Python then never raises KeyboardInterrupt. Restore what a terminal gives.
    process = subprocess.Popen([sys.executable, "-c", AS_A_TERMINAL_RUNS, "make", "--no-print-directory", "deploy",
                                f"STAGE={stage}", "CDN=0", "DIRTY=1"], cwd=ROOT, env=_env(emulator),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.startswith(f"Creating lambda function: kalexo-{stage}-websocket_connect"):
                os.killpg(process.pid, how)
                break
        rest = process.communicate(timeout=120)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0, "".join(seen)[-3000:]
    assert any(line.startswith("Creating Rest API") for line in seen), "".join(seen)[-3000:]
    if how == signal.SIGINT:
        assert "interrupted" in rest and "recorded in" in rest, rest[-3000:]
        assert stage_project.load_state(aws("ssm"), stage) is not None  # the partial record reached the account
    else:
        assert stage_project.load_state(aws("ssm"), stage) is None  # nothing could be recorded

    again = _make(emulator, "deploy", stage=stage)
    if how == signal.SIGKILL:
        assert "removed an unrecorded REST API" in again.stdout and "taking over the lock" in again.stdout
    recorded = stage_project.load_state(aws("ssm"), stage) or {}
    rest_ids = {r["rest_api_id"] for r in recorded["resources"] if "rest_api_id" in r}
    assert [a["id"] for a in aws("apigateway").get_rest_apis()["items"]] == list(rest_ids)
    mappings = [m["EventSourceArn"] for m in aws("lambda").list_event_source_mappings()["EventSourceMappings"]
                if f":function:kalexo-{stage}-" in m["FunctionArn"]]
    assert sorted(mappings) == sorted(set(mappings)) and len(mappings) == 4
    assert len([a for a in aws("apigatewayv2").get_apis()["Items"] if a["Name"].startswith(f"kalexo-{stage}-")]) == 1
    _make(emulator, "destroy", "DELETE_DATA=1", f"CONFIRM={stage}", stage=stage)
    assert not aws("apigateway").get_rest_apis()["items"]
    assert not aws("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert not [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("kalexo-")]
    assert not aws("ssm").get_parameters_by_path(Path=f"/kalexo/{stage}/", Recursive=True)["Parameters"]
