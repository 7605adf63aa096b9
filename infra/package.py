"""`make package-check`: the one-stack path. `chalice package --merge-template` with infra/template.yaml,
plus, for every function, environment variables that Ref the stack's own resources (so the merged stack
needs no config.json edits and no account id)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

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
    for logical_id, resource in app_template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            infra["Resources"][logical_id] = {"Properties": {"Environment": {"Variables": variables}}}
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
    (args.out / "sam.json").write_text(json.dumps(merged, indent=2))
    functions = [k for k, v in merged["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]
    print(f"{args.out}/sam.json: {len(merged['Resources'])} resources, functions: {', '.join(functions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
