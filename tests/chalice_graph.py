"""Chalice's own model of a deployment (its application graph), walked once for the tests that compare what is
deployed or granted with it: tests/iam_code.py and tests/e2e/deploy_expectations.py run this in a
subprocess, in the project (or generated project) whose `app.py` and `.chalice/config.json` they read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def resources(app: Any, stage: str, project_dir: str = ".") -> Iterator[Any]:
    """Every resource of the stage's deployment graph, each once."""
    from chalice.config import Config
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    with open(f"{project_dir}/.chalice/config.json") as config_file:
        config = Config(chalice_stage=stage, user_provided_params={"chalice_app": app, "project_dir": project_dir},
                        config_from_disk=json.load(config_file))
    seen: set[int] = set()
    todo: list[Any] = [ApplicationGraphBuilder().build(config, stage)]
    while todo:
        resource = todo.pop()
        if id(resource) in seen:
            continue
        seen.add(id(resource))
        todo.extend(resource.dependencies())
        yield resource
