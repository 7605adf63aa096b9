"""Cold start per function kind: import time and peak memory, each sample in a fresh interpreter.

    python -m bench.cold_start [--repeat 9] [--bytecode cached|none|both] [--importtime]
    python -m bench.cold_start --package build/package-dev/deployment.zip [--layer build/layer-imaging-x86_64.zip]

A sample is what a new Lambda execution environment does before its first invocation's own work: import the
handler module (`app.py`, which registers every blueprint) and build the services that function's handler asks
the container for; the imaging functions also import their imaging modules (PyMuPDF, Pillow), which their first
invocation does. Against it, in the same run: a bare Chalice app with one route that reads one DynamoDB item
(the floor any Chalice + boto3 function pays). Reported: median wall time from before the import to after the
build, its CPU time, and peak RSS (ru_maxrss, which includes the interpreter itself).

Since the app builds much on first use, the REST, websocket and bare kinds are then also invoked once: their Lambda
handler gets a representative event, each HTTP request answered in-process by a stub DynamoDB
(bench/cold_start_invoke.py): "to the first answer" is import + build + first invocation, no network, no tracing.

`--bytecode none` gives every sample an empty bytecode cache: Lambda's file system is read-only and `chalice
package` ships sources, so a real cold start compiles the app and its libraries; `cached` is the warm-disk case.
`--importtime` prints `python -X importtime` of the websocket `$default` function (and with --package of the REST
function) to its first answer, beside the bare app's (bench/cold_start_imports.py).

`--package` measures what Lambda runs instead of the source tree: the deployment zip `make package-check` builds
(with the bytecode infra/bytecode.py adds), extracted read-only, on a path of its own: the package, then the
imaging layer's `python/` when given (/opt/python), then the runtime's boto3 and its dependencies (/var/runtime,
precompiled), with no site-packages (so nothing only the dev environment has, such as cryptography, is
imported). The bare app is packaged the same way: its module plus Chalice's runtime module, precompiled alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cold_start_imports import importtime, invocation_code, runner
from bench.cold_start_invoke import SECRET, TRANSPORT, events, function_env

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENDPOINT = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/api"

# What each kind's handler builds on a cold start (chalicelib/routes: ingest.py, websocket.py, maintenance.py,
# api.py's per-request path), and the modules its first invocation imports.
KINDS: dict[str, tuple[str, list[str], list[str]]] = {
    "bare chalice + boto3": ("bare", [], []),
    "REST API (admin, documents)": ("app", ["access", "rate_limiter", "auth_failure_limiter", "events", "cursors",
                                            "directory", "workspaces", "documents", "upload_grants"], []),
    "websocket $default": ("app", ["router"], []),
    "websocket $connect": ("app", ["connections"], []),
    "maintenance schedule": ("app", ["event_log"], []),
    "ingest (uploads queue)": ("app", ["upload_ingest"],
                               ["chalicelib.imaging.analyse", "chalicelib.imaging.formats"]),
    "tiling worker": ("app", ["page_tiler"], ["chalicelib.imaging.tiler", "chalicelib.imaging.formats"]),
}

BARE_APP = """
import boto3
from chalice import Chalice

app = Chalice(app_name="bare")
dynamodb = boto3.client("dynamodb")


@app.route("/")
def index():
    item = dynamodb.get_item(TableName="bare", Key={"pk": {"S": "USER#u_bench"}, "sk": {"S": "USER"}})
    return {"ok": "Item" in item}
"""

SAMPLE = """
import json, resource, sys, time
start, cpu_start = time.perf_counter(), time.process_time()
module, members, imports, invoke = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[5]
handler = __import__(module)
imported = time.perf_counter()
if members:
    from chalicelib.container import get_container
    container = get_container()
    for member in members:
        if member == "router":
            container.router(sys.argv[4])
        else:
            getattr(container, member)
for name in imports:
    __import__(name)
done, cpu_done = time.perf_counter(), time.process_time()
first = cpu_first = 0.0
if invoke:  # the first invocation (bench/cold_start_invoke.py), HTTP answered in-process
    name, event, transport = json.loads(invoke)
    exec(transport)
    context = type("Context", (), {"function_name": "bench", "aws_request_id": "r-1"})()
    answer = getattr(handler, name)(event, context)
    assert answer is None or answer.get("statusCode", 200) < 300, answer
    first, cpu_first = time.perf_counter() - start, time.process_time() - cpu_start
print(json.dumps({"import_s": imported - start, "total_s": done - start, "cpu_s": cpu_done - cpu_start,
                  "first_s": first, "cpu_first_s": cpu_first,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@dataclass(frozen=True)
class Result:
    kind: str
    import_s: float
    total_s: float
    maxrss_mb: float
    cpu_s: float = 0.0  # import + build, CPU time of the process (less sensitive to a busy machine)
    first_s: float = 0.0  # import + build + the first invocation (0: the kind is not invoked)
    cpu_first_s: float = 0.0
    min_first_s: float = 0.0  # the fastest sample's: what other work on the machine can only lengthen


def _environment(bare_dir: Path) -> dict[str, str]:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALEXO_", "POWERTOOLS_", "PYTHON"))}
    env.update(config["environment_variables"])
    env.update(config["stages"]["dev"]["environment_variables"])
    env.update({"KALEXO_JWT_SECRET": SECRET, "KALEXO_WEBSOCKET_ENDPOINT": ENDPOINT, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1", "PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{bare_dir}",
                # The first invocation signs its (stubbed) requests; no tracing, as the bare app has none.
                "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_TRACE_DISABLED": "true"})
    return env


@dataclass(frozen=True)
class Packaged:
    """Extracted, read-only trees: the app package, the bare app's, the layer's and the runtime's."""
    app: Path
    bare: Path
    layer: Path | None
    runtime: Path

    def path_for(self, module: str) -> str:
        parts = [self.bare] if module == "bare" else [self.app, *([self.layer] if self.layer else [])]
        return os.pathsep.join(str(p) for p in [*parts, self.runtime])


RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def unpack(package: Path, layer: Path | None, into: Path, bytecode: bool = True) -> Packaged:
    from infra.bytecode import add_bytecode

    app, bare, runtime = into / "task", into / "bare", into / "runtime"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(app, [n for n in archive.namelist() if bytecode or not n.endswith(".pyc")])
    layer_dir = None
    if layer is not None:
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(into / "opt")
        layer_dir = into / "opt" / "python"
    runtime.mkdir()
    for name in RUNTIME_MODULES:  # the runtime's copies are precompiled, as on Lambda
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    bare.mkdir()
    (bare / "bare.py").write_text(BARE_APP)
    shutil.copytree(app / "chalice", bare / "chalice")
    bare_zip = into / "bare.zip"
    with zipfile.ZipFile(bare_zip, "w") as archive:
        for path in sorted(bare.rglob("*.py")):
            archive.write(path, path.relative_to(bare).as_posix())
    if bytecode:
        add_bytecode(bare_zip)
    shutil.rmtree(bare)
    with zipfile.ZipFile(bare_zip) as archive:
        archive.extractall(bare)
    for tree in (app, bare, *([into / "opt"] if layer else [])):  # /var/task and /opt are read-only on Lambda
        for path in [tree, *tree.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
    return Packaged(app, bare, layer_dir, runtime)


def sample(kind: str, env: dict[str, str], bytecode: str, packaged: Packaged | None = None,
           invocations: dict[str, tuple[str, dict[str, Any]]] | None = None) -> dict[str, float]:
    module, members, imports = KINDS[kind]
    invoke = json.dumps([*invocations[kind], TRANSPORT]) if invocations and kind in invocations else ""
    run_env = {**env, **function_env(kind)}
    with tempfile.TemporaryDirectory() as cache:
        if bytecode == "none":
            run_env["PYTHONPYCACHEPREFIX"] = cache  # empty: every module compiles, as on Lambda
            run_env["PYTHONDONTWRITEBYTECODE"] = "1"
        flags, cwd = [], PROJECT_DIR
        if packaged is not None:
            flags, cwd = ["-S", "-s"], packaged.app  # no site-packages; Lambda's working directory is /var/task
            run_env["PYTHONPATH"] = packaged.path_for(module)
            run_env["PYTHONDONTWRITEBYTECODE"] = "1"  # read-only, as on Lambda (permissions do not stop root)
        out = subprocess.run([sys.executable, *flags, "-c", SAMPLE, module, json.dumps(members), json.dumps(imports),
                              ENDPOINT, invoke], cwd=cwd, env=run_env, capture_output=True, text=True, check=True,
                             timeout=120)
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def measure(repeat: int, bytecode: str, env: dict[str, str], packaged: Packaged | None = None,
            invoke: bool = False) -> list[Result]:
    kinds = [k for k in KINDS if packaged is None or packaged.layer is not None or not KINDS[k][2]]
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    invocations = events() if invoke else None
    for _ in range(repeat):  # interleaved, so drift in the machine's load touches every kind alike
        for kind in kinds:
            samples[kind].append(sample(kind, env, bytecode, packaged, invocations))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(s[key] for s in runs)

    return [Result(kind, median(runs, "import_s"), median(runs, "total_s"), median(runs, "maxrss_mb"),
                   median(runs, "cpu_s"), median(runs, "first_s"), median(runs, "cpu_first_s"),
                   min(s["first_s"] for s in runs)) for kind, runs in samples.items()]


def report(results: list[Result], bytecode: str, repeat: int) -> None:
    bare = results[0]
    print(f"\nbytecode {bytecode}: median of {repeat} fresh interpreters")
    print("| function kind | import ms | import + build ms | x bare | CPU ms | x bare | peak RSS MB | x bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.kind} | {r.import_s * 1000:.0f} | {r.total_s * 1000:.0f} | {r.total_s / bare.total_s:.2f} "
              f"| {r.cpu_s * 1000:.0f} | {r.cpu_s / bare.cpu_s:.2f} "
              f"| {r.maxrss_mb:.1f} | {r.maxrss_mb / bare.maxrss_mb:.2f} |")
    invoked = [r for r in results if r.first_s]
    if len(invoked) > 1:
        print("\nto the first answer (import + build + first invocation, HTTP answered in-process):")
        print("| function kind | ms | x bare | CPU ms | x bare | fastest ms | x bare |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in invoked:
            print(f"| {r.kind} | {r.first_s * 1000:.0f} | {r.first_s / bare.first_s:.2f} "
                  f"| {r.cpu_first_s * 1000:.0f} | {r.cpu_first_s / bare.cpu_first_s:.2f} "
                  f"| {r.min_first_s * 1000:.0f} | {r.min_first_s / bare.min_first_s:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--bytecode", choices=("cached", "none", "both"), default="both")
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--package", type=Path, help="measure this deployment.zip as Lambda runs it")
    parser.add_argument("--layer", type=Path, help="with --package: the imaging layer zip (else no imaging kinds)")
    parser.add_argument("--sources-too", action="store_true",
                        help="with --package: also measure it without bytecode (app and bare app alike)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as bare_dir:
        (Path(bare_dir) / "bare.py").write_text(BARE_APP)
        env = _environment(Path(bare_dir))
        if args.package is not None:
            packaged = unpack(args.package, args.layer, Path(bare_dir) / "packaged")
            for kind in KINDS:  # warm the disk cache
                if packaged.layer is not None or not KINDS[kind][2]:
                    sample(kind, env, "cached", packaged)
            report(measure(args.repeat, "cached", env, packaged, invoke=True), "as packaged (deployment.zip)",
                   args.repeat)
            if args.sources_too:  # what `chalice deploy` ships: sources only, compiled at every cold start
                sources = unpack(args.package, args.layer, Path(bare_dir) / "sources", bytecode=False)
                report(measure(args.repeat, "cached", env, sources, invoke=True), "packaged, sources only",
                       args.repeat)
            if args.importtime:
                for kind in ("websocket $default", "REST API (admin, documents)"):
                    _importtime(env, kind, packaged)
            for tree in (t for t in Path(bare_dir).rglob("*") if not t.is_symlink()):  # writable, to be removed
                tree.chmod(tree.stat().st_mode | 0o200)
            return 0
        for kind in KINDS:  # warm the disk cache and the bytecode of the "cached" runs
            sample(kind, env, "cached")
        for bytecode in (("cached", "none") if args.bytecode == "both" else (args.bytecode,)):
            report(measure(args.repeat, bytecode, env), bytecode, args.repeat)
        if args.importtime:
            _importtime(env, "websocket $default")
    return 0


def _importtime(env: dict[str, str], kind: str, packaged: Packaged | None = None) -> None:
    """-X importtime of `kind` to its first answer, beside the bare app's (bench/cold_start_imports.py)."""
    def run(module: str) -> Any:
        own = {**env, **(function_env(kind) if module == "app" else {})}
        if packaged is None:
            return runner([], PROJECT_DIR, own)
        return runner(["-S", "-s"], packaged.app, {**own, "PYTHONPATH": packaged.path_for(module),
                                                   "PYTHONDONTWRITEBYTECODE": "1"})

    invocations = events()
    code = invocation_code("app", *invocations[kind], TRANSPORT)
    bare = invocation_code("bare", *invocations["bare chalice + boto3"], TRANSPORT)
    importtime(run("app"), run("bare"), f"{kind} (import, first invocation)", code, bare)


if __name__ == "__main__":
    sys.exit(main())
