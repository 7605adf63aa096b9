"""The imaging layer (PyMuPDF, Pillow, Kalexo's pixel kernels) as make deploy releases it: built by
layers/build.py when its zip is missing or older than the lock or the kernels' sources, published as
kalexo-<stage>-imaging-<arch> only when its bytes changed (the sha256 is kept in the version's description), so a
deploy that changes nothing publishes nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCK = PROJECT_DIR / "layers" / "imaging" / "requirements.lock"
NATIVE_SOURCES = PROJECT_DIR / "layers" / "imaging" / "kalexo_pixels"  # compiled into the layer too
# The functions that render: the only ones that get the layer.
IMAGING_FUNCTIONS = ("ingest_uploads", "tile_pages")


def runtime() -> str:
    """The Lambda runtime Chalice deploys: the one of the interpreter running it (python3.12 or python3.13)."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def stage_architecture(config_path: Path, stage: str) -> str:
    """The stage's Lambda architecture (x86_64 or arm64), as Chalice reads it."""
    config = json.loads(config_path.read_text())
    arch: str = config.get("stages", {}).get(stage, {}).get("lambda_architecture") or config.get(
        "lambda_architecture", "x86_64")
    return arch


def layer_zip(arch: str) -> Path:
    """build/layer-imaging-<wheel platform arch>.zip: arm64 functions take the aarch64 build."""
    return PROJECT_DIR / "build" / f"layer-imaging-{'aarch64' if arch == 'arm64' else arch}.zip"


def build_if_needed(arch: str, say: Callable[[str], None] = print) -> Path:
    path = layer_zip(arch)
    sources = [LOCK, PROJECT_DIR / "layers" / "native.py", *NATIVE_SOURCES.glob("*.c"), *NATIVE_SOURCES.glob("*.py")]
    if path.exists() and path.stat().st_mtime >= max(source.stat().st_mtime for source in sources):
        say(f"  {path.relative_to(PROJECT_DIR)} is up to date")
        return path
    say(f"  building {path.relative_to(PROJECT_DIR)} (layers/build.py)")
    subprocess.run([sys.executable, str(PROJECT_DIR / "layers" / "build.py"), "--arch",
                    "aarch64" if arch == "arm64" else arch], check=True)
    return path


def publish_layer(lambda_client: Any, stage: str, arch: str, zip_path: Path) -> str:
    """Publish a new version of kalexo-<stage>-imaging-<arch>; its ARN."""
    if not zip_path.exists():
        raise FileNotFoundError(f"{zip_path}: build it first (make layer)")
    content = zip_path.read_bytes()
    response = lambda_client.publish_layer_version(
        LayerName=f"kalexo-{stage}-imaging-{arch}",
        Description=f"PyMuPDF and Pillow (layers/imaging) sha256:{hashlib.sha256(content).hexdigest()}",
        Content={"ZipFile": content}, CompatibleRuntimes=[runtime()], CompatibleArchitectures=[arch])
    return str(response["LayerVersionArn"])


def release(lambda_client: Any, stage: str, arch: str, say: Callable[[str], None] = print) -> str:
    """The ARN of a layer version holding exactly the built zip: the latest one if it does, else a new one."""
    zip_path = build_if_needed(arch, say)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    name = f"kalexo-{stage}-imaging-{arch}"
    try:
        versions = lambda_client.list_layer_versions(LayerName=name).get("LayerVersions", [])
    except lambda_client.exceptions.ResourceNotFoundException:
        versions = []
    for version in sorted(versions, key=lambda v: int(v["Version"]), reverse=True)[:1]:
        if version.get("Description", "").endswith(f"sha256:{digest}") and runtime() in version.get(
                "CompatibleRuntimes", [runtime()]):
            say(f"  layer {name}:{version['Version']} already holds this build")
            return str(version["LayerVersionArn"])
    arn = publish_layer(lambda_client, stage, arch, zip_path)
    say(f"  published {arn}")
    return arn
