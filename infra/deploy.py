"""`make deploy-infra STAGE=<stage>`: deploy infra/template.yaml as stack kalexo-<stage>, make sure the token
signing secret exists in SSM Parameter Store, and write the stack's outputs into .chalice/config.json as that
stage's environment variables. After `chalice deploy`, `--websocket-endpoint` records the websocket API's
management endpoint the same way (workers need it to push progress).

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
    ws_stage = config.get("stages", {}).get(stage, {}).get("websocket_api_stage") or config.get(
        "websocket_api_stage", "api")
    for resource in deployed["resources"]:
        if resource.get("resource_type") == "websocket_api":
            return f"https://{resource['websocket_api_id']}.execute-api.{region}.amazonaws.com/{ws_stage}"
    raise LookupError(f"no websocket API in .chalice/deployed/{stage}.json: run chalice deploy first")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--websocket-endpoint", action="store_true",
                        help="after chalice deploy: record the websocket management endpoint")
    parser.add_argument("--no-cdn", action="store_true",
                        help="leave out the CloudFront distribution (the emulator cannot create one)")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    if args.websocket_endpoint:
        endpoint = websocket_endpoint(args.stage, region, args.config)
        changed = write_stage_settings(args.config, args.stage, {"KALEXO_WEBSOCKET_ENDPOINT": endpoint})
        print("changed" if changed else "unchanged")
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
