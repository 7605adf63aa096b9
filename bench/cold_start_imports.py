"""What a function's cold start imports, for `bench.cold_start --importtime`: `python -X importtime` of one kind
(import the handler module, build what the kind builds, and its first invocation when the kind has one), self time
summed by top-level package, beside the bare app's; the modules the app loads beyond the bare app's; and the
dataclasses and Protocol classes the import created (each costs its creation at every cold start).

-X importtime adds its own overhead to every import, so its milliseconds are larger than the samples' and only
the shares and the differences are to be read from it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Runs after the kind's sample code: what the process created that costs at import.
CENSUS = """
import sys, typing
mods = [m for name, m in list(sys.modules.items()) if name.startswith("chalicelib") and m is not None]
classes = [v for m in mods for v in vars(m).values() if isinstance(v, type) and v.__module__ == m.__name__]
print("CENSUS", len(mods), sum(hasattr(c, "__dataclass_fields__") for c in classes),
      sum(bool(getattr(c, "_is_protocol", False)) for c in classes), file=sys.stderr)
"""


def _self_times(stderr: str) -> dict[str, int]:
    times: dict[str, int] = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            self_us, _, name = line.split(":", 1)[1].split("|")
            times[name.strip()] = int(self_us)
    return times


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "chalicelib" else parts[0]


def _by_package(times: dict[str, int]) -> dict[str, int]:
    summed: dict[str, int] = {}
    for module, us in times.items():
        summed[_package(module)] = summed.get(_package(module), 0) + us
    return summed


def dataclass_cost() -> float:
    """What one `@dataclass(frozen=True)` of 5 fields costs to create (it compiles its methods), in ms."""
    from dataclasses import dataclass

    times = []
    for _ in range(50):
        started = time.perf_counter()

        @dataclass(frozen=True)
        class Sample:
            a: int
            b: str
            c: int = 0
            d: str = ""
            e: float = 0.0

        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def importtime(run_app: Any, run_bare: Any, kind: str, code: str, bare_code: str, top: int = 14) -> None:
    """`run_x(code) -> stderr` runs code as the samples do (same paths, flags and environment), with -X importtime."""
    app_err, bare_err = run_app(code + CENSUS), run_bare(bare_code)
    app, bare = _self_times(app_err), _self_times(bare_err)
    census = next(line.split()[1:] for line in app_err.splitlines() if line.startswith("CENSUS"))
    extra = {m: us for m, us in app.items() if m not in bare}
    app_by, extra_by = _by_package(app), _by_package(extra)
    print(f"\n-X importtime, {kind}: {len(app)} modules, {sum(app.values()) / 1000:.0f} ms of imports (self "
          f"time); bare app: {len(bare)} modules, {sum(bare.values()) / 1000:.0f} ms. Beyond the bare app's: "
          f"{len(extra)} modules, {sum(extra.values()) / 1000:.0f} ms")
    print("| package | ms | share | of which beyond bare: modules | ms |")
    print("|---|---:|---:|---:|---:|")
    total = sum(app.values())
    for package, us in sorted(app_by.items(), key=lambda kv: -kv[1])[:top]:
        count = sum(1 for m in extra if _package(m) == package)
        print(f"| {package} | {us / 1000:.1f} | {us / total:.0%} | {count} | {extra_by.get(package, 0) / 1000:.1f} |")
    rest = sorted(((p, us) for p, us in extra_by.items() if p not in dict(sorted(
        app_by.items(), key=lambda kv: -kv[1])[:top])), key=lambda kv: -kv[1])
    if rest:
        print("beyond bare, elsewhere: " + ", ".join(f"{p} {us / 1000:.1f}" for p, us in rest[:12]))
    print(f"chalicelib modules loaded: {census[0]}, creating {census[1]} dataclasses and {census[2]} Protocol "
          f"classes; one frozen dataclass of 5 fields takes {dataclass_cost():.2f} ms to create here")


def runner(flags: list[str], cwd: Path, env: dict[str, str]) -> Any:
    def run(code: str) -> str:
        out = subprocess.run([sys.executable, *flags, "-X", "importtime", "-c", code], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        if out.returncode:  # the stderr says why (check=True would drop it)
            raise RuntimeError(out.stderr[-2000:])
        return out.stderr

    return run


def invocation_code(module: str, handler: str, event: dict[str, Any], transport: str) -> str:
    """Import `module` and hand `event` to its handler, HTTP answered by `transport` (bench/cold_start_invoke.py)."""
    return (f"{transport}\nimport json\nimport {module}\ncontext = type('C', (), {{'function_name': 'bench', "
            f"'aws_request_id': 'r-1'}})()\n{module}.{handler}(json.loads({json.dumps(event)!r}), context)\n")
