"""`make deploy-infra STAGE=<stage>`: deploy infra/template.yaml as stack kalexo-<stage>, make sure the token
signing secret exists in SSM Parameter Store, and write the stack's outputs into .chalice/config.json as that
stage's environment variables. After `chalice deploy`, `--websocket-endpoint` records the websocket API's
management endpoint the same way (workers need it to push progress). `--publish-layer` publishes the imaging
layer built by layers/build.py and writes its ARN into the imaging functions' `layers` (make publish-layer).

--endpoint-url deploys into an emulator instead (the tests do that); --config writes another config file.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import boto3

from infra.outputs import settings_from_outputs, stack_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_DIR / "infra" / "template.yaml"
CONFIG = PROJECT_DIR / ".chalice" / "config.json"


def deploy_stack(cfn: Any, stage: str, cdn: bool = True) -> dict[str, str]:
    name = stack_name(stage)
    params = [{"ParameterKey": "Stage", "ParameterValue": stage},
              {"ParameterKey": "Cdn", "ParameterValue": "true" if cdn else "false"}]
    body = TEMPLATE.read_text()
    exists = bool(cfn.describe_stacks(StackName=name)["Stacks"]) if _stack_exists(cfn, name) else False
    if exists:
        try:
            cfn.update_stack(StackName=name, TemplateBody=body, Parameters=params)
            cfn.get_waiter("stack_update_complete").wait(StackName=name)
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    else:
        cfn.create_stack(StackName=name, TemplateBody=body, Parameters=params)
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 2})
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _stack_exists(cfn: Any, name: str) -> bool:
    try:
        cfn.describe_stacks(StackName=name)
    except cfn.exceptions.ClientError:
        return False
    return True


def ensure_signing_secret(ssm: Any, stage: str) -> str:
    name = f"/kalexo/{stage}/jwt-secret"
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        ssm.put_parameter(Name=name, Type="SecureString", Value=secrets.token_urlsafe(48),
                          Description="Kalexo token signing secret (HS256)")
    return name


def write_stage_settings(config_path: Path, stage: str, settings: dict[str, str]) -> bool:
    """Merge settings into the stage's environment variables; True when the file changed."""
    config = json.loads(config_path.read_text())
    stage_config = config.setdefault("stages", {}).setdefault(stage, {"api_gateway_stage": "api"})
    env = stage_config.setdefault("environment_variables", {})
    before = dict(env)
    env.update(settings)
    if env == before:
        return False
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return True


def websocket_endpoint(stage: str, region: str, config_path: Path = CONFIG) -> str:
    deployed = json.loads((PROJECT_DIR / ".chalice" / "deployed" / f"{stage}.json").read_text())
    config = json.loads(config_path.read_text())
    # Chalice deploys the websocket API to the same stage name as the REST API (api_gateway_stage).
    ws_stage = config.get("stages", {}).get(stage, {}).get("api_gateway_stage") or config.get(
        "api_gateway_stage", "api")
    for resource in deployed["resources"]:
        if resource.get("resource_type") == "websocket_api":
            return f"https://{resource['websocket_api_id']}.execute-api.{region}.amazonaws.com/{ws_stage}"
    raise LookupError(f"no websocket API in .chalice/deployed/{stage}.json: run chalice deploy first")


# The imaging layer (PyMuPDF, Pillow), built by layers/build.py, goes only to the functions that render.
IMAGING_FUNCTIONS = ("ingest_uploads", "tile_pages")
LAYER_RUNTIME = "python3.12"


def stage_architecture(config_path: Path, stage: str) -> str:
    """The stage's Lambda architecture (x86_64 or arm64), as Chalice reads it."""
    config = json.loads(config_path.read_text())
    arch: str = config.get("stages", {}).get(stage, {}).get("lambda_architecture") or config.get(
        "lambda_architecture", "x86_64")
    return arch


def layer_zip(arch: str) -> Path:
    """build/layer-imaging-<wheel platform arch>.zip: arm64 functions take the aarch64 build."""
    return PROJECT_DIR / "build" / f"layer-imaging-{'aarch64' if arch == 'arm64' else arch}.zip"


def publish_layer(lambda_client: Any, stage: str, arch: str, zip_path: Path) -> str:
    """Publish a new version of kalexo-<stage>-imaging-<arch>; its ARN."""
    if not zip_path.exists():
        raise FileNotFoundError(f"{zip_path}: build it first (make layer)")
    response = lambda_client.publish_layer_version(
        LayerName=f"kalexo-{stage}-imaging-{arch}", Description="PyMuPDF and Pillow (layers/imaging)",
        Content={"ZipFile": zip_path.read_bytes()}, CompatibleRuntimes=[LAYER_RUNTIME],
        CompatibleArchitectures=[arch])
    return str(response["LayerVersionArn"])


def write_stage_layers(config_path: Path, stage: str, layer_arn: str,
                       functions: tuple[str, ...] = IMAGING_FUNCTIONS) -> bool:
    """Point the imaging functions of the stage at the layer version; True when the file changed."""
    config = json.loads(config_path.read_text())
    functions_config = config.setdefault("stages", {}).setdefault(stage, {}).setdefault("lambda_functions", {})
    changed = False
    for name in functions:
        function = functions_config.setdefault(name, {})
        if function.get("layers") != [layer_arn]:
            function["layers"] = [layer_arn]
            changed = True
    if changed:
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--websocket-endpoint", action="store_true",
                        help="after chalice deploy: record the websocket management endpoint")
    parser.add_argument("--no-cdn", action="store_true",
                        help="leave out the CloudFront distribution (the emulator cannot create one)")
    parser.add_argument("--publish-layer", action="store_true",
                        help="publish build/layer-imaging-<arch>.zip and attach it to the imaging functions")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    if args.websocket_endpoint:
        endpoint = websocket_endpoint(args.stage, region, args.config)
        changed = write_stage_settings(args.config, args.stage, {"KALEXO_WEBSOCKET_ENDPOINT": endpoint})
        print("changed" if changed else "unchanged")
        return 0
    if args.publish_layer:
        arch = stage_architecture(args.config, args.stage)
        lambda_client = session.client("lambda", region_name=region, endpoint_url=args.endpoint_url)
        arn = publish_layer(lambda_client, args.stage, arch, layer_zip(arch))
        write_stage_layers(args.config, args.stage, arn)
        print(f"{arn} attached to {', '.join(IMAGING_FUNCTIONS)} in {args.config} stage {args.stage!r}")
        return 0
    cfn = session.client("cloudformation", region_name=region, endpoint_url=args.endpoint_url)
    ssm = session.client("ssm", region_name=region, endpoint_url=args.endpoint_url)
    settings = settings_from_outputs(deploy_stack(cfn, args.stage, cdn=not args.no_cdn))
    settings["KALEXO_STAGE"] = args.stage
    settings["KALEXO_JWT_SECRET_PARAMETER"] = ensure_signing_secret(ssm, args.stage)
    write_stage_settings(args.config, args.stage, settings)
    print(f"stack {stack_name(args.stage)} is up; {args.config} stage {args.stage!r} updated:")
    for name, value in sorted(settings.items()):
        print(f"  {name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
