"""Publishing the static site into the stack's site bucket (the emulator): the web client, OpenSeadragon, the
documentation and a config.json naming this stage's APIs, with cache headers that let a deploy take effect."""

import io
import json
import tarfile

import pytest

from infra import publish_site
from infra.publish_site import VENDOR


def test_the_site_is_published_with_its_config(stack, clients, monkeypatch):
    if not VENDOR.is_dir():
        pytest.fail("web/node_modules is missing: `make web` (make test runs it) installs OpenSeadragon")
    monkeypatch.setattr(publish_site, "stack_name", lambda stage: stack.name)
    # The command refuses a tree with uncommitted changes (the offer must be the deployed source); a developer
    # running the tests may have some.
    archive = publish_site.source_archive
    monkeypatch.setattr(publish_site, "source_archive", lambda: archive(require_clean=False))
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3, bucket = clients["s3"], stack.outputs["SiteBucketName"]
    assert publish_site.main(["--stage", "contract", "--endpoint-url", s3.meta.endpoint_url,
                              "--api-url", "https://api.example/api",
                              "--websocket-url", "wss://ws.example/api"]) == 0
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"index.html", "app.css", "js/main.js", "vendor/openseadragon/openseadragon.min.js", "docs/protocol.md",
            "docs/cost.md", "config.json"} <= keys
    config = s3.get_object(Bucket=bucket, Key="config.json")
    assert json.loads(config["Body"].read()) == {"api": "https://api.example/api", "websocket": "wss://ws.example/api",
                                                 "stage": "contract", "source": "source.tar.gz"}
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key="source.tar.gz")["Body"].read())) as tar:
        names = set(tar.getnames())
    assert {"kalexo-teamwork/LICENSE", "kalexo-teamwork/app.py", "kalexo-teamwork/infra/template.yaml"} <= names
    assert config["CacheControl"] == "no-cache"
    script = s3.get_object(Bucket=bucket, Key="js/main.js")
    assert script["ContentType"] == "text/javascript" and "max-age" in script["CacheControl"]
    assert not any(k.endswith(".map") or "node_modules" in k for k in keys)
