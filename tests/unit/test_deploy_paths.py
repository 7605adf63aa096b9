"""The parts of `make deploy`, `make destroy` and the one-stack package that can be checked without AWS: what the
generated project carries, what the merged template gives every function, what destroy keeps, and the limits
that must agree between the template, the config and the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from infra import destroy, package, stage_project
from infra.deploy import EPHEMERAL_STORAGE_MB
from infra.layer_release import IMAGING_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
TEMPLATE = yaml.safe_load((ROOT / "infra" / "template.yaml").read_text())


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_tiling_trigger_never_exceeds_the_tiling_functions_reserved_concurrency(stage):
    body = CONFIG["stages"][stage]
    reserved = body["lambda_functions"]["tile_pages"]["reserved_concurrency"]
    trigger = int(body["environment_variables"]["KALEXO_TILING_CONCURRENCY"])
    assert 2 <= trigger <= reserved  # SQS's ScalingConfig minimum is 2


def test_a_new_stage_takes_devs_settings_with_its_own_names(tmp_path):
    project = stage_project.write_project("qa-7", {"KALEXO_STAGE": "qa-7"}, "arn:aws:lambda:x:1:layer:l:1",
                                          IMAGING_FUNCTIONS, {"resources": []}, target=tmp_path / "qa")
    config = json.loads((project / ".chalice" / "config.json").read_text())
    assert set(config["stages"]) == {"qa-7"}
    stage = config["stages"]["qa-7"]
    assert stage["lambda_functions"]["tile_pages"]["lambda_memory_size"] == \
        CONFIG["stages"]["dev"]["lambda_functions"]["tile_pages"]["lambda_memory_size"]
    for name in {stage["iam_policy_file"]} | {f["iam_policy_file"] for f in stage["lambda_functions"].values()}:
        assert name.startswith("policy-qa-7"), name
        text = (project / ".chalice" / name).read_text()
        assert "kalexo-dev" not in text and "/kalexo/dev/" not in text, name
    api_policy = (project / ".chalice" / "policy-qa-7-api_handler.json").read_text()
    assert "log-group:/aws/lambda/kalexo-qa-7\"" in api_policy and "table/kalexo-qa-7-main" in api_policy
    assert (project / ".chalice" / "deployed" / "qa-7.json").exists()
    assert (project / "app.py").exists() and (project / "chalicelib" / "container.py").exists()
    assert not list(project.rglob("__pycache__"))


def test_chalices_record_survives_the_round_trip_through_a_standard_parameter():
    stored = {}

    class Ssm:
        class exceptions:
            ParameterNotFound = KeyError

        def put_parameter(self, **kwargs):
            stored[kwargs["Name"]] = kwargs["Value"]

        def get_parameter(self, Name):
            return {"Parameter": {"Value": stored[Name]}}

    record = {"schema_version": "2.0", "resources": [
        {"name": f"function_{n}", "resource_type": "lambda_function",
         "lambda_arn": f"arn:aws:lambda:eu-west-1:123456789012:function:kalexo-prod-{n}" * 2} for n in range(24)]}
    assert len(json.dumps(record)) > 4096
    stage_project.save_state(Ssm(), "prod", record)
    assert len(stored["/kalexo/prod/chalice-deployed"]) <= 4096
    assert stage_project.load_state(Ssm(), "prod") == record
    assert stage_project.load_state(Ssm(), "other") is None


def test_destroy_deletes_on_request_exactly_the_tables_the_template_retains():
    retained = {r["Properties"]["TableName"]["Fn::Sub"].replace("${Stage}", "x")
                for r in TEMPLATE["Resources"].values()
                if r["Type"] == "AWS::DynamoDB::Table" and r.get("DeletionPolicy") == "Retain"}
    source = (ROOT / "infra" / "destroy.py").read_text()
    named = {t.replace("{stage}", "x") for t in __import__("re").findall(r'f"(kalexo-\{stage\}-[a-z]+)"', source)}
    assert retained == named
    assert callable(destroy.empty_bucket)


def test_the_one_stack_template_gives_every_function_the_websocket_endpoint_and_the_imaging_ones_storage():
    app = {"Resources": {
        "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "kalexo-prod"}},
        "TilePages": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "kalexo-prod-tile_pages"}},
        "WebsocketAPIStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"StageName": "api"}}}}
    merged = package.merge_template("prod", app)
    for logical_id in ("APIHandler", "TilePages"):
        variables = merged["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["KALEXO_WEBSOCKET_ENDPOINT"] == {
            "Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.amazonaws.com/api"}
        assert variables["KALEXO_JWT_SECRET_PARAMETER"] == {"Fn::Sub": "/kalexo/${Stage}/jwt-secret"}
        assert variables["KALEXO_MAIN_TABLE"] == {"Ref": "MainTable"}
        # the API's own URL and the source offer come as parameters (a Ref to the API would be a cycle)
        assert variables["KALEXO_PUBLIC_API_URL"] == {"Ref": "PublicApiUrl"}
        assert variables["KALEXO_SOURCE_URL"] == {"Ref": "SourceUrl"}
    assert {"PublicApiUrl", "SourceUrl"} <= set(merged["Parameters"])
    assert merged["Resources"]["TilePages"]["Properties"]["EphemeralStorage"] == {
        "Size": EPHEMERAL_STORAGE_MB["tile_pages"]}
    assert "EphemeralStorage" not in merged["Resources"]["APIHandler"]["Properties"]


def test_every_function_has_a_log_group_with_retention():
    groups = {r["Properties"]["LogGroupName"]["Fn::Sub"] for r in TEMPLATE["Resources"].values()
              if r["Type"] == "AWS::Logs::LogGroup"}
    functions = [f for f in CONFIG["stages"]["dev"]["lambda_functions"] if f != "api_handler"]
    names = {"/aws/lambda/kalexo-${Stage}"} | {f"/aws/lambda/kalexo-${{Stage}}-{f}" for f in functions}
    assert groups == names
    assert all(r["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
               for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup")


def test_the_package_carries_the_boto3_and_botocore_the_tests_run():
    """Packaged rather than taken from Lambda's runtime, at exactly the versions every test here exercises."""
    from importlib.metadata import version

    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["boto3"] == version("boto3") and pins["botocore"] == version("botocore")


def test_a_stopped_deploy_keeps_the_earlier_record_and_adds_what_it_created():
    from infra.chalice_deploy import merged_record

    earlier = {"resources": [{"name": "api_handler", "lambda_arn": "a1"}, {"name": "rest_api", "rest_api_id": "r1"}],
               "schema_version": "2.0", "backend": "api"}
    now = merged_record(earlier, [{"name": "api_handler", "lambda_arn": "a2"}, {"name": "tile_pages-sqs", "x": 1}])
    assert now["resources"] == [{"name": "api_handler", "lambda_arn": "a2"}, {"name": "rest_api", "rest_api_id": "r1"},
                                {"name": "tile_pages-sqs", "x": 1}]
    assert merged_record(None, [{"name": "rest_api", "rest_api_id": "r9"}])["resources"] == [
        {"name": "rest_api", "rest_api_id": "r9"}]


@pytest.mark.parametrize("stage", ["Prod", "a_b", "a.b", "x" * 21, "", "prod env"])
def test_a_stage_name_the_resources_cannot_carry_is_refused_before_anything_is_created(stage):
    from infra import stack

    with pytest.raises(SystemExit, match="is not a stage name"):
        stack.check_stage(stage)
    assert stack.check_stage("alice-test-2") == "alice-test-2"


@pytest.mark.parametrize(("email", "ok"), [("ops@example.com", True), ("O.Ops+k@sub.example.co", True),
                                           ("a@b", False), ("x@example.com;rm", False), ("no-at.example.com", False),
                                           ("a b@example.com", False)])
def test_the_first_administrators_address_must_be_one(email, ok):
    from infra.admin import EMAIL

    assert bool(EMAIL.fullmatch(email)) is ok


def test_manifests_point_tiles_at_the_caching_distribution_and_everything_else_at_the_api():
    from types import SimpleNamespace

    from chalicelib.domain.documents import Document, DocumentStatus, PageRecord
    from chalicelib.services.documents import DocumentService

    document = Document("ws-1", "doc-1", "acc-1", "plan.pdf", "application/pdf", DocumentStatus.READY, 1, "bob",
                        job_id="job-1", page_count=1, pages_done=1)
    records = SimpleNamespace(get=lambda ws, doc: document,
                              pages=lambda doc, job: [PageRecord(1, 100, 80, 7, 256, "jpeg", 4, 0, 1000)])
    access: Any = SimpleNamespace(workspace=lambda *a, **k: SimpleNamespace(workspace=SimpleNamespace(settings={})))
    grants: Any = SimpleNamespace(grant=lambda ws, doc, job: "GRANT")
    nothing, actor = cast(Any, None), cast(Any, None)
    service = DocumentService(access, records, nothing, grants, nothing, nothing)
    api, cdn = "https://abc.execute-api.eu-west-1.amazonaws.com/api", "https://d111.cloudfront.net"
    (page,) = service.manifest(actor, "ws-1", "doc-1", api, cdn)["pages"]
    assert page["dzi"] == f"{cdn}/tiles/GRANT/1/page.dzi" and page["thumbnail"].startswith(f"{cdn}/tiles/GRANT/")
    assert page["iiif"] == f"{cdn}/iiif/GRANT/1/info.json"
    assert page["text"].startswith(f"{api}/workspaces/ws-1/")  # authenticated: never through the cache
    (local,) = service.manifest(actor, "ws-1", "doc-1", api)["pages"]
    assert local["dzi"] == f"{api}/tiles/GRANT/1/page.dzi"


def test_the_tiles_distribution_caches_by_path_alone_and_nothing_else_at_all():
    resources = TEMPLATE["Resources"]
    keyed = resources["TilesCachePolicy"]["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert keyed["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keyed["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    config = resources["TilesDistribution"]["Properties"]["DistributionConfig"]
    cached = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(cached) == {"/tiles/*", "/iiif/*"}
    assert all(b["CachePolicyId"] == {"Ref": "TilesCachePolicy"} and "OriginRequestPolicyId" not in b
               for b in cached.values())
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert "OriginRequestPolicyId" not in default  # no Authorization reaches the API through it
    assert resources["TilesDistribution"]["Condition"] == "WithTilesCdn"


def test_the_tiles_distribution_asks_the_api_for_images_as_binary():
    """API Gateway decodes a function's base64 image only for a request whose Accept is one of the API's binary
    media types; the distribution forwards no viewer headers, so it sends one of its own."""
    import os
    import subprocess
    import sys

    from tests.iam_code import REGION, ROOT, stage_config

    env = {**stage_config("prod")["environment_variables"], "KALEXO_JWT_SECRET": "x", "PATH": os.environ["PATH"],
           "AWS_DEFAULT_REGION": REGION}
    listed = subprocess.run([sys.executable, "-c", "import app; print('\\n'.join(app.app.api.binary_types))"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    (origin,) = TEMPLATE["Resources"]["TilesDistribution"]["Properties"]["DistributionConfig"]["Origins"]
    headers = {h["HeaderName"]: h["HeaderValue"] for h in origin["OriginCustomHeaders"]}
    assert headers["Accept"] in listed.stdout.split()


def test_make_deploy_puts_the_tiles_distribution_in_front_of_the_rest_api_chalice_made(monkeypatch):
    from infra import deploy, stack

    calls = []
    current = {"Parameters": [{"ParameterKey": "TilesOrigin", "ParameterValue": ""}], "Outputs": []}
    monkeypatch.setattr(stack, "describe", lambda cfn, name: current)

    def deploy_stack(cfn, stage, parameters, say):
        calls.append(parameters)
        return {"TilesDomainName": "d111.cloudfront.net"}

    monkeypatch.setattr(stack, "deploy_stack", deploy_stack)
    record = {"resources": [{"name": "rest_api", "rest_api_id": "abc123"}]}
    assert deploy.tiles_through_cdn(None, "prod", "eu-west-1", True, {"resources": []}, print) == {}
    assert deploy.tiles_through_cdn(None, "prod", "eu-west-1", False, record, print) == {}
    assert calls == []
    assert deploy.tiles_through_cdn(None, "prod", "eu-west-1", True, record, print) == {
        "KALEXO_TILES_URL": "https://d111.cloudfront.net"}
    assert calls == [{"Cdn": "true", "TilesOrigin": "abc123.execute-api.eu-west-1.amazonaws.com"}]


class _Ssm:
    """SSM's parameters as the lock uses them."""

    class exceptions:
        class ParameterAlreadyExists(Exception):
            pass

        class ParameterNotFound(Exception):
            pass

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def put_parameter(self, Name, Value, Overwrite=False, **_):
        if Name in self.values and not Overwrite:
            raise self.exceptions.ParameterAlreadyExists()
        self.values[Name] = Value

    def get_parameter(self, Name):
        return {"Parameter": {"Value": self.values[Name]}}

    def delete_parameter(self, Name):
        if Name not in self.values:
            raise self.exceptions.ParameterNotFound()
        del self.values[Name]


def test_one_deploy_of_a_stage_at_a_time_and_a_killed_ones_lock_is_taken_over():
    import os
    import socket
    import subprocess
    import sys

    ssm = _Ssm()
    stage_project.acquire_lock(ssm, "prod", "make deploy")
    with pytest.raises(LookupError, match="another make deploy or destroy of stage 'prod' is running"):
        stage_project.acquire_lock(ssm, "prod", "make deploy")  # this process still runs: held
    stage_project.acquire_lock(ssm, "qa", "make deploy")  # another stage is independent
    stage_project.release_lock(ssm, "prod")
    stage_project.release_lock(ssm, "prod")  # twice is harmless
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    ssm.values["/kalexo/prod/deploy-lock"] = json.dumps({"action": "make deploy", "host": socket.gethostname(),
                                                         "pid": int(gone), "since": 0})
    stage_project.acquire_lock(ssm, "prod", "make destroy")  # its holder no longer runs
    assert json.loads(ssm.values["/kalexo/prod/deploy-lock"])["pid"] == os.getpid()


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_imaging_functions_tmp_holds_the_largest_accepted_upload_and_a_band(stage: str) -> None:
    from chalicelib.settings import Settings

    env = {**CONFIG["environment_variables"], **CONFIG["stages"][stage]["environment_variables"],
           "AWS_DEFAULT_REGION": "us-east-1"}
    largest = Settings.from_env(env).max_upload_bytes  # a source is downloaded whole to /tmp
    assert set(EPHEMERAL_STORAGE_MB) == set(IMAGING_FUNCTIONS)
    assert all(mb * 1024**2 >= largest + 512 * 1024**2 for mb in EPHEMERAL_STORAGE_MB.values())
