"""`chalice deploy`, unchanged, except that Chalice's record of what it deployed is written even when the deploy
stops part way (an AWS error, Ctrl-C, a killed terminal), and that the deployment package it uploads carries
precompiled bytecode, as `make package-check`'s does (infra/bytecode.py: Chalice ships sources, which every new
Lambda execution environment compiles again, about 0.4 s of each REST or websocket cold start).

Chalice writes `.chalice/deployed/<stage>.json` only after the last resource. A first deploy interrupted after
it created the REST API or an SQS trigger leaves no record, so the next deploy creates them again: a second
REST API beside the first, and a second event source mapping for the same queue and function (which AWS
refuses, so every later deploy fails). Here the resources created so far are merged into the earlier record,
by resource name, whenever the deploy stops: the next `make deploy` updates them instead.

    python -m infra.chalice_deploy --project-dir build/deploy/<stage> deploy --stage <stage>
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any


def merged_record(previous: dict[str, Any] | None, created: list[dict[str, Any]]) -> dict[str, Any]:
    """The earlier record's resources, with those this run created or updated put in by name."""
    resources = {r["name"]: r for r in (previous or {}).get("resources", [])}
    order = list(resources)
    for resource in created:
        if resource["name"] not in resources:
            order.append(resource["name"])
        resources[resource["name"]] = resource
    return {"resources": [resources[name] for name in order], "schema_version": "2.0",
            "backend": (previous or {}).get("backend", "api")}


def record_partial_results(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def _deploy(self: Any, config: Any, chalice_stage_name: str) -> dict[str, Any]:
        path = os.path.join(config.project_dir, ".chalice", "deployed", f"{chalice_stage_name}.json")
        previous = None
        if os.path.exists(path):
            with open(path) as recorded:
                previous = json.load(recorded)
        try:
            return original(self, config, chalice_stage_name)
        except BaseException:
            created = list(getattr(self._executor, "resource_values", []) or [])
            if created:
                record = merged_record(previous, created)
                self._recorder.record_results(record, chalice_stage_name, config.project_dir)
                print(f"chalice deploy stopped: the {len(created)} resource(s) it had created or updated are "
                      f"recorded in {path}", file=sys.stderr)
            raise

    return _deploy


def with_bytecode(original: Callable[..., str]) -> Callable[..., str]:
    """Chalice's packager, then the package's bytecode added (idempotent: Chalice may reuse a package)."""
    def create_deployment_package(self: Any, project_dir: str, python_version: str) -> str:
        from pathlib import Path

        from infra.bytecode import add_bytecode, check_runtime

        check_runtime(python_version)  # a pyc is read only by the interpreter version that wrote it
        filename = original(self, project_dir, python_version)
        pycs, _ = add_bytecode(Path(filename))
        print(f"{filename}: {pycs} modules precompiled", file=sys.stderr)
        return filename

    return create_deployment_package


def main() -> int:
    from chalice.cli import main as chalice_main
    from chalice.deploy.deployer import Deployer
    from chalice.deploy.packager import LambdaDeploymentPackager

    Deployer._deploy = record_partial_results(Deployer._deploy)  # type: ignore[method-assign]
    LambdaDeploymentPackager.create_deployment_package = with_bytecode(  # type: ignore[method-assign]
        LambdaDeploymentPackager.create_deployment_package)
    result: int = chalice_main()
    return result


if __name__ == "__main__":
    sys.exit(main())
