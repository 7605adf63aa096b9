"""`make destroy STAGE=<stage> [DELETE_DATA=1]`: remove what `make deploy` created, in reverse order.

Without DELETE_DATA the stage's data stays: the documents bucket (every uploaded original and its versions),
the main, ops and events tables (accounts, users, workspaces, the recovery log, the event log), all retained by
the template (`DeletionPolicy: Retain`), and the signing secret, to export or restore from. CloudFormation cannot
create resources of those names again: `make deploy` of the same stage refuses until they are gone. The tiles
and site buckets are emptied (tiles can be cut again from the documents) and go with the stack. With
DELETE_DATA=1 the retained resources are deleted too, after the stack: nothing of the stage is left.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import boto3

from infra import orphans, stack, stage_project
from infra.aws_session import aws_session
from infra.outputs import stack_name


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; how many."""
    deleted = 0
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})
            deleted += len(keys)
    except s3.exceptions.NoSuchBucket:
        return 0
    return deleted


def chalice_delete(stage: str, deployed: dict[str, Any]) -> None:
    project = stage_project.write_project(stage, {}, None, (), deployed)
    chalice = os.path.join(os.path.dirname(sys.executable), "chalice")
    subprocess.run([chalice, "--project-dir", str(project), "delete", "--stage", stage], check=True)


def destroy(session: boto3.session.Session, stage: str, endpoint_url: str | None, with_data: bool,
            say: Callable[[str], None] = print) -> None:
    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    cfn, ssm, s3, lambda_client = client("cloudformation"), client("ssm"), client("s3"), client("lambda")
    name = stack_name(stage)
    deployed = stage_project.load_state(ssm, stage)
    say(f"[1/4] chalice delete ({'on record' if deployed else 'nothing on record'})")
    if deployed:
        chalice_delete(stage, deployed)
        ssm.delete_parameter(Name=stage_project.state_parameter(stage))
    # What no record held (a deploy killed outright): the stage's APIs, triggers, functions and roles.
    orphans.sweep(client, stage, None, say)
    orphans.sweep_functions(client, stage, say)
    say("[2/4] imaging layer versions")
    delete_layers(lambda_client, stage, say)
    existing = stack.describe(cfn, name)
    outputs = stack.outputs_of(existing) if existing else {}
    say(f"[3/4] stack {name}")
    if existing:
        for key in ("TilesBucketName", "SiteBucketName"):
            if key in outputs:
                say(f"  emptied {outputs[key]}: {empty_bucket(s3, outputs[key])} object version(s)")
        cfn.delete_stack(StackName=name)
        try:
            stack.wait_settled(cfn, name, say)
        except stack.StackError as exc:
            if "does not exist" not in str(exc):
                raise
        say(f"  stack {name} deleted")
    retained = (f"kalexo-{stage}-main, -ops and -events tables, the documents bucket and the signing secret; the "
                f"log groups went with the stack")
    say(f"[4/4] {'deleting' if with_data else 'kept (DELETE_DATA=1 deletes them)'}: {retained}")
    if not with_data:
        return
    delete_data(client, stage, outputs.get("DocumentsBucketName") or _documents_bucket(client, stage), say)


def delete_layers(lambda_client: Any, stage: str, say: Callable[[str], None]) -> None:
    for arch in ("x86_64", "arm64"):
        layer = f"kalexo-{stage}-imaging-{arch}"
        versions = lambda_client.list_layer_versions(LayerName=layer).get("LayerVersions", [])
        for version in versions:
            lambda_client.delete_layer_version(LayerName=layer, VersionNumber=int(version["Version"]))
        if versions:
            say(f"  {layer}: {len(versions)} version(s) deleted")


def delete_data(client: Callable[[str], Any], stage: str, bucket: str, say: Callable[[str], None]) -> None:
    """The resources the template retains, and the signing secret."""
    dynamodb, s3, ssm = client("dynamodb"), client("s3"), client("ssm")
    for table in (f"kalexo-{stage}-main", f"kalexo-{stage}-ops", f"kalexo-{stage}-events"):
        try:
            dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
            dynamodb.delete_table(TableName=table)
            say(f"  table {table} deleted")
        except dynamodb.exceptions.ResourceNotFoundException:
            pass
    count = empty_bucket(s3, bucket)
    try:
        s3.delete_bucket(Bucket=bucket)
        say(f"  bucket {bucket} deleted ({count} object version(s))")
    except s3.exceptions.NoSuchBucket:
        pass
    try:
        ssm.delete_parameter(Name=f"/kalexo/{stage}/jwt-secret")
        say("  signing secret deleted")
    except ssm.exceptions.ParameterNotFound:
        pass


def _documents_bucket(client: Callable[[str], Any], stage: str) -> str:
    """The retained bucket's name when the stack (and its outputs) is already gone."""
    return f"kalexo-{stage}-documents-{client('sts').get_caller_identity()['Account']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--delete-data", action="store_true",
                        help="also delete the documents bucket, the main, ops and events tables, the secret")
    parser.add_argument("--confirm", default=None, help="the stage name again, for --delete-data without a terminal")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None)
    args = parser.parse_args(argv)
    stack.check_stage(args.stage)
    if args.delete_data and args.confirm not in (None, args.stage):
        print(f"CONFIRM={args.confirm} does not match STAGE={args.stage}: nothing deleted", file=sys.stderr)
        return 2
    if args.delete_data and args.confirm != args.stage:
        warning = (f"DELETE_DATA=1 deletes, for good, the documents (every version), accounts, users, workspaces, "
                   f"recovery and event logs of stage {args.stage}.")
        if not sys.stdin.isatty():
            print(f"{warning} Add CONFIRM={args.stage} to go ahead.", file=sys.stderr)
            return 2
        if input(f"{warning}\nType the stage name to go ahead: ").strip() != args.stage:
            print("not confirmed: nothing deleted", file=sys.stderr)
            return 2
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    session = aws_session(f"make destroy STAGE={args.stage}")
    ssm = session.client("ssm", endpoint_url=args.endpoint_url)
    try:
        stage_project.acquire_lock(ssm, args.stage, "make destroy")
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        destroy(session, args.stage, args.endpoint_url, args.delete_data)
    except KeyboardInterrupt:
        print(f"\ninterrupted: run make destroy STAGE={args.stage} again to finish", file=sys.stderr)
        return 130
    except (stack.StackError, subprocess.CalledProcessError) as exc:
        print(f"make destroy STAGE={args.stage} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stage_project.release_lock(ssm, args.stage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
