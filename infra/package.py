"""`make package-check`: the one-stack path. `chalice package --merge-template` with infra/template.yaml,
plus, for every function, environment variables that Ref the stack's own resources (so the merged stack
needs no config.json edits and no account id), and precompiled bytecode in the package (infra/bytecode.py)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.bytecode import add_bytecode, check_runtime
from infra.deploy import EPHEMERAL_STORAGE_MB
from infra.outputs import SETTING_FOR_OUTPUT

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_DIR / "infra" / "template.yaml"


def _chalice_package(stage: str, out: Path, merge: Path | None) -> dict[str, Any]:
    cmd = [str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage]
    if merge is not None:
        cmd += ["--merge-template", str(merge)]
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run([*cmd, str(out)], cwd=PROJECT_DIR, env=env, check=True)
    data: dict[str, Any] = json.loads((out / "sam.json").read_text())
    return data


def merge_template(stage: str, app_template: dict[str, Any]) -> dict[str, Any]:
    infra = yaml.safe_load(TEMPLATE.read_text())
    infra["Parameters"]["Stage"]["Default"] = stage
    variables = {setting: infra["Outputs"][output]["Value"] for output, setting in SETTING_FOR_OUTPUT.items()}
    # The websocket API is a resource of the same stack here: every function learns its management endpoint
    # (workers post progress there; the REST function closes removed members' sockets).
    api_stage = app_template["Resources"].get("WebsocketAPIStage", {}).get("Properties", {}).get("StageName", "api")
    variables["KALEXO_WEBSOCKET_ENDPOINT"] = {
        "Fn::Sub": f"https://${{WebsocketAPI}}.execute-api.${{AWS::Region}}.amazonaws.com/{api_stage}"}
    variables["KALEXO_JWT_SECRET_PARAMETER"] = {"Fn::Sub": "/kalexo/${Stage}/jwt-secret"}
    # The REST API's own URL cannot be given to its function in the same stack (the API's integrations name the
    # function: a cycle), so it is a parameter, given on a second deploy from the stack's EndpointURL output
    # (README): IIIF's info.json ids need it, and /docs offers the source archive the other names.
    infra["Parameters"]["PublicApiUrl"] = {
        "Type": "String", "Default": "",
        "Description": "The REST API's public URL (the stack's EndpointURL output); empty: IIIF is not offered."}
    infra["Parameters"]["SourceUrl"] = {
        "Type": "String", "Default": "",
        "Description": "Where the running version's source can be downloaded (AGPL section 13); shown on /docs."}
    variables["KALEXO_PUBLIC_API_URL"] = {"Ref": "PublicApiUrl"}
    variables["KALEXO_SOURCE_URL"] = {"Ref": "SourceUrl"}
    storage = {f"kalexo-{stage}-{name}": size for name, size in EPHEMERAL_STORAGE_MB.items()}
    for logical_id, resource in app_template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            properties: dict[str, Any] = {"Environment": {"Variables": variables}}
            if resource["Properties"].get("FunctionName") in storage:
                properties["EphemeralStorage"] = {"Size": storage[resource["Properties"]["FunctionName"]]}
            infra["Resources"][logical_id] = {"Properties": properties}
    return dict(infra)


def point_events_at_queues(stage: str, merged: dict[str, Any]) -> None:
    """Chalice names an event's queue by an ARN string, which gives CloudFormation no dependency on the
    queue in a merged stack (the mapping could be created first). A merge can only add keys, so the
    packaged template is edited: each SQS event gets Fn::GetAtt of the queue resource."""
    queues = {r["Properties"]["QueueName"]["Fn::Sub"].replace("${Stage}", stage): logical_id
              for logical_id, r in merged["Resources"].items()
              if r["Type"] == "AWS::SQS::Queue" and isinstance(r["Properties"].get("QueueName"), dict)}
    for resource in merged["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue_name = str(event["Properties"]["Queue"]["Fn::Sub"]).rsplit(":", 1)[-1]
                event["Properties"]["Queue"] = {"Fn::GetAtt": [queues[queue_name], "Arn"]}


def lambda_names(stage: str, merged: dict[str, Any]) -> dict[str, str]:
    """Logical id -> the Lambda function name `chalice deploy` gives it (kalexo-<stage>-<name>; the REST handler
    kalexo-<stage>). SAM would otherwise name functions <stack>-<LogicalId>-<random>, and the per-function
    policies grant each function its own log group by name."""
    from chalice.utils import to_cfn_resource_name

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    names = {to_cfn_resource_name(n): f"kalexo-{stage}-{n}" for n in config["stages"][stage]["lambda_functions"]}
    names["APIHandler"] = f"kalexo-{stage}"
    functions = [k for k, v in merged["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]
    missing = sorted(set(functions) - set(names))
    if missing:
        raise KeyError(f"functions not in .chalice/config.json lambda_functions: {', '.join(missing)}")
    return {k: names[k] for k in functions}


def pin_function_names(stage: str, merged: dict[str, Any]) -> None:
    for logical_id, name in lambda_names(stage, merged).items():
        merged["Resources"][logical_id]["Properties"]["FunctionName"] = name


def own_layer(stage: str, merged: dict[str, Any], out: Path) -> None:
    """In one stack the imaging layer is a resource of the stack (built by layers/build.py) rather than the
    separately published version config.json names: the functions that had the layer get a Ref to it."""
    arch = "x86_64"
    for resource in merged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            arch = resource["Properties"].get("Architectures", [arch])[0]
    zip_path = PROJECT_DIR / "build" / f"layer-imaging-{'aarch64' if arch == 'arm64' else arch}.zip"
    attached = False
    for resource in merged["Resources"].values():
        layers = resource["Properties"].get("Layers") if resource["Type"] == "AWS::Serverless::Function" else None
        if layers:
            resource["Properties"]["Layers"] = [
                {"Ref": "ImagingLayer"} if isinstance(a, str) and ":layer:kalexo-" in a and "-imaging-" in a else a
                for a in layers]
            attached = True
    if attached:
        merged["Resources"]["ImagingLayer"] = {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {"LayerName": f"kalexo-{stage}-imaging-{arch}",
                           "Description": "PyMuPDF and Pillow (layers/imaging)",
                           "ContentUri": os.path.relpath(zip_path, out), "CompatibleRuntimes": ["python3.12"],
                           "CompatibleArchitectures": [arch], "RetentionPolicy": "Delete"}}


def exact_policy_resources(merged: dict[str, Any]) -> None:
    """The policy files leave region and account open (`arn:aws:dynamodb:*:*:table/kalexo-dev-main`; bucket
    names end in `-*` where the account id goes; @connections of any websocket API): in one stack they are
    known, so each becomes exact: this region, this account, this stack's websocket API."""
    def exact(arn: str) -> str | dict[str, str]:
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or "${" in arn:
            return arn
        _, _, service, region, account, rest = parts
        if service == "s3":
            rest = re.sub(r"^(kalexo-[a-z0-9-]+-(?:documents|tiles))-\*", r"\1-${AWS::AccountId}", rest)
        elif region == "*" and account == "*":
            region, account = "${AWS::Region}", "${AWS::AccountId}"
            if service == "execute-api" and rest.startswith("*/") and "WebsocketAPI" in merged["Resources"]:
                rest = "${WebsocketAPI}/" + rest[2:]
        else:
            return arn
        return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{rest}"}

    for resource in merged["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = statement["Resource"]
                statement["Resource"] = [exact(r) for r in resources] if isinstance(resources, list) \
                    else exact(resources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build" / "package")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        app_only = _chalice_package(args.stage, Path(scratch) / "app", None)
        merge_path = Path(scratch) / "merge.json"
        merge_path.write_text(json.dumps(merge_template(args.stage, app_only), indent=2))
        args.out.mkdir(parents=True, exist_ok=True)
        merged = _chalice_package(args.stage, args.out, merge_path)
    point_events_at_queues(args.stage, merged)
    pin_function_names(args.stage, merged)
    own_layer(args.stage, merged, args.out)
    exact_policy_resources(merged)
    (args.out / "sam.json").write_text(json.dumps(merged, indent=2))
    runtimes = {v["Properties"]["Runtime"] for v in merged["Resources"].values()
                if v["Type"] == "AWS::Serverless::Function"}
    check_runtime(runtimes.pop() if len(runtimes) == 1 else f"several runtimes: {sorted(runtimes)}")
    pycs, failures = add_bytecode(args.out / "deployment.zip")
    print(f"{args.out}/deployment.zip: {pycs} modules precompiled (unchecked-hash pycs; {failures} left as source)")
    functions = [k for k, v in merged["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]
    print(f"{args.out}/sam.json: {len(merged['Resources'])} resources, functions: {', '.join(functions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
