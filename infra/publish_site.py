"""Publish the static site: the web client, its OpenSeadragon build, the documentation, the source of the deployed
version (`source.tar.gz`, the AGPL's offer to the service's users), and a `config.json` that
tells the page where this stage's REST and websocket APIs are, into the stack's private site bucket (CloudFront
reads it through origin access control), then invalidate CloudFront's copies of the files that change per
deploy.

    python -m infra.publish_site --stage dev        (make deploy does this; `make publish-site STAGE=dev` alone)

The API URLs come from the record `make deploy` keeps of the stage (an SSM parameter) unless given with
--api-url / --websocket-url.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from infra import stage_project
from infra.outputs import stack_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
WEB_DIR = PROJECT_DIR / "web"
VENDOR = WEB_DIR / "node_modules" / "openseadragon" / "build" / "openseadragon"
# Changed by every deploy, so never cached for long; everything else is cached a day at the edge.
NO_CACHE = "no-cache"
CACHED = "public, max-age=86400"


def site_files() -> Iterator[tuple[str, Path]]:
    """(key, file) for everything the site serves, config.json aside."""
    for name in ("index.html", "app.css"):
        yield name, WEB_DIR / name
    for path in sorted((WEB_DIR / "js").glob("*.js")):
        yield f"js/{path.name}", path
    if not VENDOR.is_dir():
        raise SystemExit(f"{VENDOR} is missing: run `make web` (npm ci) first")
    for path in sorted(p for p in VENDOR.rglob("*") if p.is_file() and not p.name.endswith(".map")):
        yield f"vendor/openseadragon/{path.relative_to(VENDOR)}", path
    for path in sorted((PROJECT_DIR / "docs").glob("*.md")):
        yield f"docs/{path.name}", path
    yield "docs/README.md", PROJECT_DIR / "README.md"


def api_urls(ssm: Any, stage: str) -> tuple[str, str]:
    """From the record make deploy keeps of the stage's Chalice deploy (infra/stage_project.py)."""
    deployed = stage_project.load_state(ssm, stage)
    if deployed is None:
        raise SystemExit(f"stage {stage!r} has no chalice deploy on record: run make deploy STAGE={stage} first")
    return stage_project.api_urls(deployed)


SOURCE_KEY = "source.tar.gz"


# What is deployed or served: a file here that git does not track would run (or be served) without being in the
# archive, so it counts as a change too.
DEPLOYED_PATHS = ("app.py", "chalicelib", "requirements.txt", "web", "layers")


def source_archive(require_clean: bool = True) -> bytes:
    """The complete source of the version being deployed, as the AGPL asks a network service to offer its
    users (README, "Licence"): the committed tree (`git archive HEAD`); with `require_clean`, refused when
    tracked files have uncommitted changes or deployed paths hold untracked files, since the archive would not
    be the source that runs."""
    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=PROJECT_DIR, check=True, capture_output=True).stdout

    try:
        changed = git("status", "--porcelain", "--untracked-files=no").decode().strip()
        untracked = git("status", "--porcelain", "--untracked-files=all", "--", *DEPLOYED_PATHS).decode()
        changed = "\n".join(filter(None, [changed, *[ln for ln in untracked.splitlines() if ln.startswith("??")]]))
        archive = git("archive", "--format=tar.gz", "--prefix=kalexo-teamwork/", "HEAD")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"the source offer needs a git checkout of what is deployed: {exc}") from exc
    if changed and require_clean:
        raise SystemExit(f"commit your changes first: the site offers the deployed source (changed:\n{changed})")
    return archive


def publish(s3: Any, bucket: str, api_url: str, websocket_url: str, stage: str,
            source: bytes | None = None) -> list[str]:
    keys = []
    s3.put_object(Bucket=bucket, Key=SOURCE_KEY, Body=source if source is not None else source_archive(),
                  ContentType="application/gzip", CacheControl=NO_CACHE,
                  ContentDisposition='attachment; filename="kalexo-teamwork-source.tar.gz"')
    keys.append(SOURCE_KEY)
    for key, path in site_files():
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".md":
            content_type = "text/markdown; charset=utf-8"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type,
                      CacheControl=NO_CACHE if key == "index.html" else CACHED)
        keys.append(key)
    # No dev_users outside the local stack; `source`: the AGPL's offer of the running version's source.
    config = {"api": api_url, "websocket": websocket_url, "stage": stage, "source": SOURCE_KEY}
    s3.put_object(Bucket=bucket, Key="config.json", Body=json.dumps(config).encode(),
                  ContentType="application/json", CacheControl=NO_CACHE)
    return [*keys, "config.json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--api-url")
    parser.add_argument("--websocket-url")
    parser.add_argument("--endpoint-url", help="an AWS endpoint (the emulator, in tests)")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    cfn = session.client("cloudformation", region_name=region, endpoint_url=args.endpoint_url)
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=stack_name(args.stage))["Stacks"][0].get("Outputs", [])}
    api_url, websocket_url = (args.api_url, args.websocket_url) if args.api_url and args.websocket_url \
        else api_urls(session.client("ssm", region_name=region, endpoint_url=args.endpoint_url), args.stage)
    s3 = session.client("s3", region_name=region, endpoint_url=args.endpoint_url)
    keys = publish(s3, outputs["SiteBucketName"], api_url, websocket_url, args.stage)
    print(f"published {len(keys)} files to s3://{outputs['SiteBucketName']}")
    distribution = outputs.get("SiteDistributionId")
    if distribution:
        invalidate(session.client("cloudfront", region_name=region), distribution, args.stage)
        print(f"site: https://{outputs.get('SiteDomainName', '?')}/ (index.html and config.json invalidated)")
    return 0


def invalidate(cloudfront: Any, distribution: str, stage: str) -> None:
    """CloudFront's copies of the two files that change with every deploy."""
    cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
        "Paths": {"Quantity": 2, "Items": ["/index.html", "/config.json"]},
        "CallerReference": f"kalexo-{stage}-{time.time_ns()}"})


if __name__ == "__main__":
    raise SystemExit(main())
