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

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.container import Container
from infra import layer_release, stage_project
from infra.admin import stage_settings
from infra.gateway_responses import ANSWERS
from infra.outputs import settings_from_outputs
from tests.e2e.deploy_expectations import chalice_model
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
STAGE = "rehearsal"
IMAGING = {"ingest_uploads", "tile_pages"}
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("rehearsal") / "emulator.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "local.emulator", "-p", str(port)], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                _session().client("sts", endpoint_url=url).get_caller_identity()
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


def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


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


class Aws:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def __call__(self, name: str) -> Any:
        return _session().client(name, endpoint_url=self.endpoint)  # type: ignore[call-overload]


def _outputs(aws: Aws) -> dict[str, str]:
    stack = aws("cloudformation").describe_stacks(StackName=f"kalexo-{STAGE}")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _template_alarms() -> dict[str, dict[str, Any]]:
    template = yaml.safe_load((ROOT / "infra" / "template.yaml").read_text())
    return {r["Properties"]["AlarmName"]["Fn::Sub"].replace("${Stage}", STAGE): r["Properties"]
            for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _check_functions(aws: Aws, model: dict[str, Any], endpoint: str, layer_arn: str) -> None:
    lam, iam = aws("lambda"), aws("iam")
    tracked = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"]
    settings = settings_from_outputs(_outputs(aws))
    groups = {g["logGroupName"]: g for g in aws("logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/kalexo-{STAGE}")["logGroups"]}
    assert len(model["functions"]) == 9
    for name, expected in model["functions"].items():
        config = lam.get_function_configuration(FunctionName=expected["function_name"])
        own = tracked["lambda_functions"].get(name, {})
        assert config["Handler"] == expected["handler"], name
        assert config["Runtime"] == RUNTIME, name
        assert config["Architectures"] == [layer_release.stage_architecture(ROOT / ".chalice" / "config.json",
                                                                            "dev")], name
        assert config["MemorySize"] == own.get("lambda_memory_size", tracked["lambda_memory_size"]), name
        assert config["Timeout"] == own.get("lambda_timeout", tracked["lambda_timeout"]), name
        assert [layer["Arn"] for layer in config.get("Layers", [])] == ([layer_arn] if name in IMAGING else []), name
        assert config.get("EphemeralStorage", {}).get("Size") == (3072 if name in IMAGING else 512), name
        env = config["Environment"]["Variables"]
        assert {k: env.get(k) for k in settings} == settings, name
        assert env["KALEXO_STAGE"] == STAGE and env["KALEXO_WEBSOCKET_ENDPOINT"] == endpoint, name
        assert env["KALEXO_JWT_SECRET_PARAMETER"] == f"/kalexo/{STAGE}/jwt-secret", name
        # the function's own settings too (the websocket functions' KALEXO_SERVES: app.py)
        assert {k: env.get(k) for k in own.get("environment_variables", {})} == own.get("environment_variables", {})
        assert env.get("KALEXO_SERVES") == ("websocket" if name.startswith("websocket_") else None), name
        role = config["Role"].rsplit("/", 1)[1]
        (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        assert document == expected["policy"], name
        assert f"kalexo-{STAGE}" in json.dumps(document) and "kalexo-dev" not in json.dumps(document), name
        if expected["reserved"]:
            reserved = lam.get_function_concurrency(FunctionName=expected["function_name"])
            assert reserved["ReservedConcurrentExecutions"] == expected["reserved"] == own["reserved_concurrency"]
        assert groups[f"/aws/lambda/{expected['function_name']}"]["retentionInDays"] == 30, name


def _check_triggers(aws: Aws, model: dict[str, Any]) -> None:
    lam, events = aws("lambda"), aws("events")
    functions = model["functions"]
    mappings = [m for m in lam.list_event_source_mappings()["EventSourceMappings"]
                if f":function:kalexo-{STAGE}-" in m["FunctionArn"]]
    by_queue = {m["EventSourceArn"].rsplit(":", 1)[1]: m for m in mappings}
    assert len(mappings) == len(by_queue) == 4 and set(by_queue) == set(model["sqs"])
    for queue, expected in model["sqs"].items():
        mapping = by_queue[queue]
        assert mapping["FunctionArn"].endswith(f":function:{functions[expected['function']]['function_name']}")
        assert mapping["BatchSize"] == expected["batch_size"] == 1
        assert mapping.get("ScalingConfig", {}).get("MaximumConcurrency") == expected["maximum_concurrency"]
    tiles = by_queue[f"kalexo-{STAGE}-tiles"]["ScalingConfig"]["MaximumConcurrency"]
    assert 2 <= tiles <= functions["tile_pages"]["reserved"]  # never throttled by its own reserved concurrency
    assert model["schedules"]
    for rule, expected in model["schedules"].items():
        assert events.describe_rule(Name=rule)["ScheduleExpression"] == expected["expression"]
        (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert target["Arn"].endswith(f":function:{functions[expected['function']]['function_name']}")


def _check_apis(aws: Aws, model: dict[str, Any]) -> tuple[str, str]:
    # Chalice names the REST API after the app ("kalexo"); this emulator holds one stage.
    rest_apis = [a for a in aws("apigateway").get_rest_apis()["items"] if a["name"] == "kalexo"]
    ws_apis = [a for a in aws("apigatewayv2").get_apis()["Items"] if a["Name"] == f"kalexo-{STAGE}-websocket-api"]
    assert len(rest_apis) == 1 and len(ws_apis) == 1, "a deploy must update its APIs, never add a second one"
    rest_id, ws_id = rest_apis[0]["id"], ws_apis[0]["ApiId"]
    recorded = stage_project.load_state(aws("ssm"), STAGE) or {}
    assert {r.get("rest_api_id") for r in recorded["resources"]} >= {rest_id}
    gateway = aws("apigateway")
    resources = {r["path"]: r for r in gateway.get_resources(restApiId=rest_id, limit=500)["items"]}
    api_function = model["functions"]["api_handler"]["function_name"]
    assert len(model["routes"]) > 20
    for path, methods in model["routes"].items():
        resource = resources[path]
        assert set(methods) <= set(resource.get("resourceMethods", {})), path
        integration = gateway.get_integration(restApiId=rest_id, resourceId=resource["id"], httpMethod=methods[0])
        assert integration["type"] == "AWS_PROXY" and f":function:{api_function}/" in integration["uri"], path
    for kind, answer in ANSWERS.items():  # API Gateway's own answers in the API's error shape
        current = gateway.get_gateway_response(restApiId=rest_id, responseType=kind)
        assert {key: current.get(key) for key in answer.wanted()} == answer.wanted(), kind
    assert gateway.get_gateway_response(restApiId=rest_id, responseType="MISSING_AUTHENTICATION_TOKEN")[
        "statusCode"] == "404"
    v2 = aws("apigatewayv2")
    routes = v2.get_routes(ApiId=ws_id)["Items"]
    assert sorted(r["RouteKey"] for r in routes) == model["websocket"] == ["$connect", "$default", "$disconnect"]
    integrations = {i["IntegrationId"]: i for i in v2.get_integrations(ApiId=ws_id)["Items"]}
    handler = {"$connect": "websocket_connect", "$default": "websocket_message", "$disconnect": "websocket_disconnect"}
    for route in routes:
        integration = integrations[route["Target"].split("/", 1)[1]]
        function = model["functions"][handler[route["RouteKey"]]]["function_name"]
        assert f":function:{function}/" in integration["IntegrationUri"], route["RouteKey"]
    assert "api" in {s["StageName"] for s in v2.get_stages(ApiId=ws_id)["Items"]}
    return rest_id, ws_id


def _check_operations(aws: Aws, outputs: dict[str, str], rest_id: str, ws_id: str) -> None:
    alarms = {a["AlarmName"]: a for a in aws("cloudwatch").describe_alarms(
        AlarmNamePrefix=f"kalexo-{STAGE}-")["MetricAlarms"]}
    expected = _template_alarms()
    assert set(alarms) == set(expected) and len(expected) >= 7
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [outputs["AlarmTopicArn"]], name
        if name.endswith("dlq-not-empty"):  # a redriven message is not "sent": visible messages count
            assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible", name
        if alarm["Namespace"] == "AWS/Lambda":  # per function, never account-wide
            (dimension,) = alarm["Dimensions"]
            aws("lambda").get_function(FunctionName=dimension["Value"])
        if alarm["Namespace"] == "AWS/DynamoDB":  # a metric DynamoDB publishes per table alone (not per operation)
            assert alarm["MetricName"] in ("ReadThrottleEvents", "WriteThrottleEvents"), name
            (dimension,) = alarm["Dimensions"]
            assert dimension == {"Name": "TableName", "Value": outputs["MainTableName"]}, name
    site = json.loads(aws("s3").get_object(Bucket=outputs["SiteBucketName"], Key="config.json")["Body"].read())
    assert site["api"] == f"https://{rest_id}.execute-api.us-east-1.amazonaws.com/api"
    assert site["websocket"] == f"wss://{ws_id}.execute-api.us-east-1.amazonaws.com/api"


def _check_deployment(aws: Aws) -> dict[str, Any]:
    model = chalice_model(stage_project.project_dir(STAGE), STAGE)
    arch = layer_release.stage_architecture(ROOT / ".chalice" / "config.json", "dev")  # rehearsal: dev's settings
    versions = aws("lambda").list_layer_versions(LayerName=f"kalexo-{STAGE}-imaging-{arch}")["LayerVersions"]
    layer_arn = max(versions, key=lambda v: int(v["Version"]))["LayerVersionArn"]
    rest_id, ws_id = _check_apis(aws, model)
    _check_functions(aws, model, f"https://{ws_id}.execute-api.us-east-1.amazonaws.com/api", layer_arn)
    _check_triggers(aws, model)
    _check_operations(aws, _outputs(aws), rest_id, ws_id)
    return {"rest": rest_id, "websocket": ws_id, "layers": len(versions)}


@pytest.mark.timeout(900)  # two deploys, an admin and a destroy: 90 s on an idle machine, longer on a busy one
def test_make_deploy_twice_then_admin_then_destroy(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)  # for the app's own clients, which check the admin's token below
    aws = Aws(emulator)
    tracked = (ROOT / ".chalice" / "config.json").read_bytes()
    first = _make(emulator, "deploy")
    assert "Kalexo Teamwork stage rehearsal is deployed." in first.stdout
    created = _check_deployment(aws)
    # what chalice deploy uploaded carries the app's bytecode (infra/chalice_deploy.py), not only sources
    uploaded = max((stage_project.project_dir(STAGE) / ".chalice" / "deployments").glob("*.zip"),
                   key=lambda path: path.stat().st_mtime)  # the directory keeps earlier packages as a cache
    with zipfile.ZipFile(uploaded) as package:
        assert f"__pycache__/app.{sys.implementation.cache_tag}.pyc" in package.namelist()
    second = _make(emulator, "deploy")
    assert "no changes" in second.stdout and "already holds this build" in second.stdout
    assert _check_deployment(aws) == created  # the same APIs, no new layer version
    assert (ROOT / ".chalice" / "config.json").read_bytes() == tracked  # account values stay out of the checkout

    token = _make(emulator, "admin", "EMAIL=Ops@Example.com", "NAME=Olu Ops").stdout.strip().splitlines()[-1]
    again = _make(emulator, "admin", "EMAIL=ops@example.com").stdout.strip().splitlines()[-1]
    container = Container(stage_settings(_session(), STAGE, emulator))
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
