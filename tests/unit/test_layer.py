"""The imaging layer: attached only to the functions that render, pinned with hashes, zipped deterministically, and
never imported by the other functions."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from infra import layer_release, stage_project
from tests.iam_code import STAGES, app_functions, container_members_used, stage_config

ROOT = Path(__file__).resolve().parents[2]
IMAGING = {"ingest_uploads", "tile_pages"}
HEAVY = ("fitz", "pymupdf", "PIL")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"layers_{name}", ROOT / "layers" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_imaging_functions_have_the_layer(stage):
    functions = app_functions(stage)  # Chalice's own model of the stage
    with_layer = {name for name, info in functions.items() if info["layers"]}
    assert with_layer == IMAGING
    arch = layer_release.stage_architecture(ROOT / ".chalice" / "config.json", stage)
    for name in IMAGING:
        (arn,) = functions[name]["layers"]
        assert re.fullmatch(rf"arn:aws:lambda:[a-z0-9-]+:\d{{12}}:layer:kalexo-{stage}-imaging-{arch}:\d+", arn), arn


def test_the_deployed_project_gives_the_published_layer_to_the_imaging_functions_only(tmp_path):
    """make deploy writes the ARN into its generated project (build/deploy/<stage>), never the tracked config."""
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:kalexo-dev-imaging-x86_64:7"
    tracked = (ROOT / ".chalice" / "config.json").read_bytes()
    project = stage_project.write_project("dev", {"KALEXO_STAGE": "dev"}, arn, layer_release.IMAGING_FUNCTIONS,
                                          None, target=tmp_path / "dev")
    written = json.loads((project / ".chalice" / "config.json").read_text())
    before = json.loads(tracked)
    assert set(written["stages"]) == {"dev"}
    for name, body in written["stages"]["dev"]["lambda_functions"].items():
        assert body.get("layers") == ([arn] if name in IMAGING else None), name
        assert {k: v for k, v in body.items() if k != "layers"} == {
            k: v for k, v in before["stages"]["dev"]["lambda_functions"][name].items() if k != "layers"}
    assert (ROOT / ".chalice" / "config.json").read_bytes() == tracked
    assert layer_release.layer_zip("arm64").name == "layer-imaging-aarch64.zip"
    assert layer_release.layer_zip("x86_64").name == "layer-imaging-x86_64.zip"


def test_publish_layer_names_the_version_by_stage_and_architecture_and_records_its_hash(tmp_path):
    calls = []

    class Lambda:
        def publish_layer_version(self, **kwargs):
            calls.append(kwargs)
            return {"LayerVersionArn": "arn:aws:lambda:eu-west-1:123456789012:layer:kalexo-dev-imaging-arm64:3"}

    zip_path = tmp_path / "layer.zip"
    zip_path.write_bytes(b"PK")
    arn = layer_release.publish_layer(Lambda(), "dev", "arm64", zip_path)
    assert arn.endswith(":3")
    assert calls[0]["LayerName"] == "kalexo-dev-imaging-arm64"
    assert calls[0]["CompatibleArchitectures"] == ["arm64"]
    assert calls[0]["CompatibleRuntimes"] == [f"python{sys.version_info.major}.{sys.version_info.minor}"]
    assert calls[0]["Description"].endswith("sha256:" + hashlib.sha256(b"PK").hexdigest())
    with pytest.raises(FileNotFoundError):
        layer_release.publish_layer(Lambda(), "dev", "arm64", tmp_path / "missing.zip")


def test_the_lock_pins_what_requirements_txt_pins_with_a_hash_per_architecture():
    build = _load("build")
    lock = (ROOT / "layers" / "imaging" / "requirements.lock").read_text()
    for pin in build.pins():
        assert re.search(rf"^{re.escape(pin)} \\$", lock, re.M), pin
        block = lock.split(pin, 1)[1].split("\n\n", 1)[0]
        assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block.split("==", 1)[0])) >= len(build.ARCHES), pin
    assert "pymupdf==1" in " ".join(build.pins()).lower()  # 2.x pulls onnxruntime and numpy past 250 MB


def test_the_layer_zip_depends_only_on_file_contents(tmp_path):
    build = _load("build")
    for n, when in enumerate((1_600_000_000, 1_700_000_000)):
        src = tmp_path / f"src{n}" / "python"
        (src / "pkg").mkdir(parents=True)
        for name in ("b.py", "a.py", "pkg/c.so"):
            (src / name).write_text(name)
            os.utime(src / name, (when, when))
        (src / "pkg" / "c.so").chmod(0o775 if n else 0o755)
        build.deterministic_zip(src, tmp_path / f"out{n}.zip")
    first, second = (tmp_path / "out0.zip").read_bytes(), (tmp_path / "out1.zip").read_bytes()
    assert first == second
    import zipfile

    with zipfile.ZipFile(tmp_path / "out0.zip") as archive:
        assert archive.namelist() == ["python/a.py", "python/b.py", "python/pkg/c.so"]


_BUILD_AND_LIST = """
import functools, inspect, json, sys
import app
from chalicelib.container import Container, get_container
container = get_container()
for member in json.loads(sys.argv[1]):
    attr = inspect.getattr_static(Container, member)
    if member == "router":
        container.router("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api")
    elif isinstance(attr, (functools.cached_property, property)):
        getattr(container, member)  # builds the service; methods that would do I/O are not called
print(json.dumps([m for m in ("fitz", "pymupdf", "PIL") if m in sys.modules]))
"""


@pytest.mark.parametrize("function", ["api_handler", "websocket_connect", "websocket_message",
                                      "websocket_disconnect", "failed_tiles", "purge_expired_events"])
def test_functions_without_the_layer_import_neither_pymupdf_nor_pillow(function):
    """Import the app and build every service the function's handler asks the container for (nothing invoked):
    a cold start of that function must not need the layer."""
    info = app_functions("dev")[function]
    assert not info["layers"]
    members = sorted(container_members_used(info["roots"]))
    assert members, function
    env = {**stage_config("dev")["environment_variables"], "KALEXO_JWT_SECRET": "x", "PATH": os.environ["PATH"],
           "AWS_DEFAULT_REGION": "eu-west-1",
           "KALEXO_WEBSOCKET_ENDPOINT": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api"}
    result = subprocess.run([sys.executable, "-c", _BUILD_AND_LIST, json.dumps(members)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], f"{function} built {members}"


def test_the_layer_is_compiled_to_unchecked_hash_bytecode(tmp_path):
    """/opt is read-only on Lambda: without pycs in the layer, every cold start compiles PyMuPDF's and Pillow's
    Python. Unchecked-hash pycs (PEP 552 flags 0b01) carry no timestamp, so the zip stays reproducible."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    _load("build").compile_bytecode(tmp_path)
    pyc = tmp_path / "pkg" / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_pixel_kernels_build_for_each_architecture_the_same_bytes_twice(tmp_path, arch):
    native = _load("native")
    first = native.build(arch, tmp_path / "one") / native.LIBRARY
    second = native.build(arch, tmp_path / "two") / native.LIBRARY
    assert native.elf_arch(first) == arch
    assert first.read_bytes() == second.read_bytes()  # the layer's zip stays reproducible
    assert {p.name for p in first.parent.iterdir()} == {native.LIBRARY, "__init__.py", "py.typed"}
    # Built in a directory of its own: no path of this machine's in the binary.
    assert str(tmp_path).encode() not in first.read_bytes() and b"/work" not in first.read_bytes()
