"""What a deploy of the rehearsal stage must have produced, read back from the emulator's AWS APIs and compared
with Chalice's own model of the app and the tracked configuration (tests/e2e/deploy_expectations.py): used by
tests/e2e/test_deploy_rehearsal.py after each deploy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml

from infra import layer_release, stage_project
from infra.gateway_responses import ANSWERS
from infra.outputs import settings_from_outputs
from tests.e2e.deploy_expectations import chalice_model

ROOT = Path(__file__).resolve().parents[2]
STAGE = "rehearsal"
IMAGING = {"ingest_uploads", "tile_pages"}
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def session() -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


class Aws:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def __call__(self, name: str) -> Any:
        return session().client(name, endpoint_url=self.endpoint)  # type: ignore[call-overload]


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


def check_deployment(aws: Aws) -> dict[str, Any]:
    model = chalice_model(stage_project.project_dir(STAGE), STAGE)
    arch = layer_release.stage_architecture(ROOT / ".chalice" / "config.json", "dev")  # rehearsal: dev's settings
    versions = aws("lambda").list_layer_versions(LayerName=f"kalexo-{STAGE}-imaging-{arch}")["LayerVersions"]
    layer_arn = max(versions, key=lambda v: int(v["Version"]))["LayerVersionArn"]
    rest_id, ws_id = _check_apis(aws, model)
    _check_functions(aws, model, f"https://{ws_id}.execute-api.us-east-1.amazonaws.com/api", layer_arn)
    _check_triggers(aws, model)
    _check_operations(aws, _outputs(aws), rest_id, ws_id)
    return {"rest": rest_id, "websocket": ws_id, "layers": len(versions)}
