"""`make deploy STAGE=<stage>`: everything the stage needs on AWS, in order, idempotently.

1. the infrastructure stack kalexo-<stage> (infra/template.yaml: tables, buckets, queues, alarms, log groups,
   the site's CloudFront distribution), waited for as long as CloudFront takes;
2. the token signing secret in SSM Parameter Store (/kalexo/<stage>/jwt-secret), created once;
3. the imaging layer, built and published only when its bytes changed;
4. `chalice deploy` of build/deploy/<stage>/ (infra/stage_project.py: the app with a config that carries this
   account's names, never written into the checkout), with the websocket API's management endpoint in every
   function's settings (known from the record of the previous deploy; on the first deploy Chalice runs twice,
   since the API's id exists only after it);
5. what Chalice's config cannot express: the imaging functions' /tmp sized for the largest accepted upload,
   and API Gateway's own answers (an unknown path, throttling, ...) in the API's error shape
   (infra/gateway_responses.py);
6. the web site (infra/publish_site.py), then the URLs.

Run again, it changes only what changed. `--endpoint-url` (or AWS_ENDPOINT_URL) deploys into an emulator: the
deploy rehearsal in the tests runs exactly this against the local stack's emulator.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from infra import gateway_responses, layer_release, orphans, publish_site, stack, stage_project
from infra.aws_session import aws_session
from infra.outputs import settings_from_outputs, stack_name

# /tmp of the functions that download a source document: the largest accepted upload (2 GiB, the REST API's
# limit for one document) plus room for the rendered band it works on.
EPHEMERAL_STORAGE_MB = {"ingest_uploads": 3072, "tile_pages": 3072}


@dataclass(frozen=True)
class Deployed:
    stage: str
    api_url: str
    websocket_url: str
    site_url: str | None
    outputs: dict[str, str]


def ensure_signing_secret(ssm: Any, stage: str) -> str:
    name = f"/kalexo/{stage}/jwt-secret"
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        ssm.put_parameter(Name=name, Type="SecureString", Value=secrets.token_urlsafe(48),
                          Description="Kalexo token signing secret (HS256)")
    return name


def chalice_deploy(project: Any, stage: str) -> None:
    """`chalice deploy` in the generated project (infra/chalice_deploy.py: Chalice's own CLI, recording what it
    created even when it stops part way). Ctrl-C reaches it too: it is given time to write that record."""
    command = [sys.executable, "-m", "infra.chalice_deploy", "--project-dir", str(project), "deploy", "--stage",
               stage]
    process = subprocess.Popen(command, cwd=stage_project.PROJECT_DIR)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    if code:
        raise subprocess.CalledProcessError(code, command)


def stack_parameters(cdn: bool, upload_origins: str | None) -> dict[str, str]:
    params = {"Cdn": "true" if cdn else "false"}
    if upload_origins:
        params["UploadOrigins"] = upload_origins
    return params


def deploy(session: boto3.session.Session, stage: str, endpoint_url: str | None, cdn: bool,
           upload_origins: str | None, allow_uncommitted: bool, say: Callable[[str], None] = print,
           run_chalice: Callable[[Any, str], None] = chalice_deploy) -> Deployed:
    # Before anything changes: the site will offer this archive as the source of what runs (AGPL section 13).
    source = publish_site.source_archive(require_clean=not allow_uncommitted)
    ssm = session.client("ssm", endpoint_url=endpoint_url)
    stage_project.acquire_lock(ssm, stage, "make deploy")
    try:
        return _deploy(session, stage, endpoint_url, cdn, upload_origins, source, say, run_chalice)
    finally:
        stage_project.release_lock(ssm, stage)


def _deploy(session: boto3.session.Session, stage: str, endpoint_url: str | None, cdn: bool,
            upload_origins: str | None, source: bytes, say: Callable[[str], None],
            run_chalice: Callable[[Any, str], None]) -> Deployed:
    region = session.region_name or "us-east-1"

    def client(name: str) -> Any:
        return session.client(name, region_name=region, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    cfn, ssm = client("cloudformation"), client("ssm")
    say(f"[1/6] infrastructure stack {stack_name(stage)}")
    if stack.describe(cfn, stack_name(stage)) is None:
        left = retained_leftovers(client, stage)
        if left:
            raise LookupError(
                f"a destroyed stage {stage!r} left its data: {', '.join(left)}. CloudFormation cannot create "
                f"resources of those names again: deploy another stage name, or delete them with "
                f"make destroy STAGE={stage} DELETE_DATA=1 (after exporting what you need)")
    outputs = stack.deploy_stack(cfn, stage, stack_parameters(cdn, upload_origins), say)
    site_domain = outputs.get("SiteDomainName")
    current = stack.describe(cfn, stack_name(stage)) or {}
    if site_domain and not upload_origins and stack.parameter_value(current, "UploadOrigins") == "*":
        say(f"  browsers may upload from the site only: UploadOrigins=https://{site_domain}")
        outputs = stack.deploy_stack(cfn, stage, stack_parameters(cdn, f"https://{site_domain}"), say)

    say("[2/6] token signing secret")
    env = settings_from_outputs(outputs)
    env["KALEXO_STAGE"] = stage
    env["KALEXO_JWT_SECRET_PARAMETER"] = ensure_signing_secret(ssm, stage)
    if site_domain:  # the AGPL's source offer, published with the site in step 6; the API docs link to it
        env["KALEXO_SOURCE_URL"] = f"https://{site_domain}/{publish_site.SOURCE_KEY}"
    say(f"  {env['KALEXO_JWT_SECRET_PARAMETER']}")

    say("[3/6] imaging layer")
    config = stage_project.stage_config(stage)
    arch = config["stages"][stage].get("lambda_architecture") or config.get("lambda_architecture", "x86_64")
    layer_arn = layer_release.release(client("lambda"), stage, arch, say)

    say("[4/6] chalice deploy")
    api_stage = stage_project.api_gateway_stage(config, stage)

    # IIIF ids are never taken from requests: the REST API's own URL, unless the stage's config names one.
    own_public_url = config["stages"][stage].get("environment_variables", {}).get("KALEXO_PUBLIC_API_URL")

    def known(record: dict[str, Any]) -> dict[str, str]:
        endpoint = stage_project.websocket_management_endpoint(record, region, api_stage)
        rest = next((str(r["rest_api_url"]).rstrip("/") for r in record.get("resources", []) if "rest_api_url" in r),
                    None)
        return {**({"KALEXO_WEBSOCKET_ENDPOINT": endpoint} if endpoint else {}),
                **({"KALEXO_PUBLIC_API_URL": rest} if rest and not own_public_url else {}),
                **tiles_through_cdn(cfn, stage, region, cdn, record, say)}

    # A deploy killed outright before Chalice could record anything leaves APIs and triggers no record holds:
    # removed first, or Chalice would make second ones (infra/orphans.py).
    orphans.sweep(client, stage, stage_project.load_state(ssm, stage), say)
    deployed = run_chalice_until_settled(ssm, stage, config, env, layer_arn, known, run_chalice, say)

    say("[5/6] function settings beyond Chalice's config")
    size_tmp(client("lambda"), stage, say)
    rest_id = next(str(r["rest_api_id"]) for r in deployed["resources"] if "rest_api_id" in r)
    gateway_responses.apply(client("apigateway"), rest_id, api_stage, say)

    say("[6/6] web site")
    api_url, websocket_url = stage_project.api_urls(deployed)
    publish_web_site(session, client("s3"), outputs, stage, api_url, websocket_url, source, say)
    return Deployed(stage, api_url, websocket_url, f"https://{site_domain}/" if site_domain else None, outputs)


def run_chalice_until_settled(ssm: Any, stage: str, config: dict[str, Any], env: dict[str, str], layer_arn: str,
                              known: Callable[[dict[str, Any]], dict[str, str]],
                              run_chalice: Callable[[Any, str], None], say: Callable[[str], None]) -> dict[str, Any]:
    """chalice deploy until the settings that name what Chalice itself creates (`known(record)`: the websocket
    API's endpoint, the tiles distribution in front of the REST API) are the ones it deployed with: once on an
    update, twice on the first deploy. Chalice's record after it."""
    deployed = stage_project.load_state(ssm, stage)
    for _attempt in (1, 2, 3):
        wanted = known(deployed or {"resources": []})
        env.update(wanted)
        project = stage_project.write_project(stage, env, layer_arn, layer_release.IMAGING_FUNCTIONS, deployed)
        try:
            run_chalice(project, stage)
        finally:  # what Chalice created, even part way, is kept in the account for the next run
            deployed = stage_project.read_deployed(project, stage)
            if deployed is not None:
                stage_project.save_state(ssm, stage, deployed)
        if deployed is None:
            raise RuntimeError(f"chalice deploy wrote no {project}/.chalice/deployed/{stage}.json")
        if known(deployed) == wanted:
            return deployed
        say("  the APIs are new: deploying once more so every function knows where they are")
    raise RuntimeError("the functions' settings did not settle after three chalice deploys")


def tiles_through_cdn(cfn: Any, stage: str, region: str, cdn: bool, deployed: dict[str, Any],
                      say: Callable[[str], None]) -> dict[str, str]:
    """KALEXO_TILES_URL: the tiles distribution in front of the REST API Chalice made (the stack's TilesOrigin
    set to that API, a stack update the first time), or nothing without CloudFront or before the API exists."""
    rest_ids = [r["rest_api_id"] for r in deployed.get("resources", []) if "rest_api_id" in r]
    if not cdn or not rest_ids:
        return {}
    origin = f"{rest_ids[0]}.execute-api.{region}.amazonaws.com"
    current = stack.describe(cfn, stack_name(stage)) or {}
    outputs = stack.outputs_of(current)
    if stack.parameter_value(current, "TilesOrigin") != origin or "TilesDomainName" not in outputs:
        say(f"  tiles through CloudFront from {origin} (a stack update: CloudFront takes minutes)")
        outputs = stack.deploy_stack(cfn, stage, {"Cdn": "true", "TilesOrigin": origin}, say)
    return {"KALEXO_TILES_URL": f"https://{outputs['TilesDomainName']}"}


def publish_web_site(session: boto3.session.Session, s3: Any, outputs: dict[str, str], stage: str, api_url: str,
                     websocket_url: str, source: bytes, say: Callable[[str], None]) -> None:
    keys = publish_site.publish(s3, outputs["SiteBucketName"], api_url, websocket_url, stage, source)
    say(f"  {len(keys)} files in s3://{outputs['SiteBucketName']}")
    if outputs.get("SiteDistributionId"):
        publish_site.invalidate(session.client("cloudfront"), outputs["SiteDistributionId"], stage)


def retained_leftovers(client: Callable[[str], Any], stage: str) -> list[str]:
    """The retained tables and documents bucket of an earlier stack of this stage (make destroy keeps them)."""
    dynamodb, s3 = client("dynamodb"), client("s3")
    left = [t for t in dynamodb.list_tables().get("TableNames", [])
            if t in {f"kalexo-{stage}-main", f"kalexo-{stage}-ops", f"kalexo-{stage}-events"}]
    prefix = f"kalexo-{stage}-documents-"
    left += [b["Name"] for b in s3.list_buckets().get("Buckets", []) if b["Name"].startswith(prefix)]
    return left


def size_tmp(lambda_client: Any, stage: str, say: Callable[[str], None]) -> None:
    """Chalice's config has no ephemeral storage setting; an update without it leaves it as set here."""
    for function, size in EPHEMERAL_STORAGE_MB.items():
        name = f"kalexo-{stage}-{function}"
        have = lambda_client.get_function_configuration(FunctionName=name).get("EphemeralStorage", {}).get("Size")
        if have != size:
            lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)
            lambda_client.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": size})
        say(f"  {name}: /tmp {size} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None)
    parser.add_argument("--no-cdn", action="store_true",
                        help="leave out the CloudFront distribution (emulators cannot create one)")
    parser.add_argument("--upload-origins", default=None,
                        help="browser origins allowed to upload (default: the site's CloudFront origin)")
    parser.add_argument("--allow-uncommitted", action="store_true",
                        help="publish the source archive of HEAD although tracked files have changes")
    parser.add_argument("--urls", action="store_true", help="print a deployed stage's URLs and stop")
    args = parser.parse_args(argv)
    stack.check_stage(args.stage)
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url  # chalice deploy, a subprocess, reads it too
    session = aws_session(f"make {'urls' if args.urls else 'deploy'} STAGE={args.stage}")
    if args.urls:
        return print_urls(session, args.stage, args.endpoint_url)
    try:
        done = deploy(session, args.stage, args.endpoint_url, not args.no_cdn,
                      args.upload_origins, args.allow_uncommitted)
    except KeyboardInterrupt:
        print(f"\ninterrupted: what was created is on record; make deploy STAGE={args.stage} finishes it",
              file=sys.stderr)
        return 130
    except (stack.StackError, subprocess.CalledProcessError, FileNotFoundError, LookupError) as exc:
        print(f"make deploy STAGE={args.stage} failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nKalexo Teamwork stage {done.stage} is deployed.")
    _print_urls(done.api_url, done.websocket_url, done.site_url, done.outputs)
    print(f"First administrator: make admin STAGE={done.stage} EMAIL=you@example.com")
    return 0


def _print_urls(api_url: str, websocket_url: str, site_url: str | None, outputs: dict[str, str]) -> None:
    print(f"  REST API      {api_url}/")
    print(f"  websocket     {websocket_url}/")
    print(f"  web site      {site_url or '(no CloudFront distribution: CDN=0)'}")
    print(f"  API docs      {api_url}/docs")
    print(f"  alarms        SNS topic {outputs.get('AlarmTopicArn', '?')} (subscribe an address to it)")


def print_urls(session: boto3.session.Session, stage: str, endpoint_url: str | None) -> int:
    ssm = session.client("ssm", endpoint_url=endpoint_url)
    cfn = session.client("cloudformation", endpoint_url=endpoint_url)
    deployed, current = stage_project.load_state(ssm, stage), stack.describe(cfn, stack_name(stage))
    if deployed is None or current is None:
        print(f"stage {stage!r} is not deployed (no record of it in this account and region)", file=sys.stderr)
        return 1
    outputs = stack.outputs_of(current)
    api_url, websocket_url = stage_project.api_urls(deployed)
    domain = outputs.get("SiteDomainName")
    _print_urls(api_url, websocket_url, f"https://{domain}/" if domain else None, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
