"""The Chalice project `make deploy` hands to `chalice deploy`: build/deploy/<stage>/, generated, never tracked.

Per-account values (the stack's bucket names, the published layer's ARN, the websocket API's endpoint) go into
this copy's `.chalice/config.json`, not into the repository's, so a deploy leaves the checkout unchanged and
two people deploying from two clones do not commit each other's account ids. The copy holds the app (app.py,
chalicelib/, requirements.txt) and a config with one stage: the tracked config's stage of that name, or `dev`'s
settings for any other name, with the IAM policy files rewritten from `kalexo-dev` names to the stage's.

Chalice's own record of what it deployed (`.chalice/deployed/<stage>.json`) is kept in the account, as an SSM
parameter, not only in this directory: a deploy from a fresh clone updates the stage's functions and APIs
instead of creating a second REST API beside the first.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_DIR = PROJECT_DIR / ".chalice"
TEMPLATE_STAGE = "dev"
APP_FILES = ("app.py", "requirements.txt")
APP_DIRS = ("chalicelib",)


def project_dir(stage: str) -> Path:
    return PROJECT_DIR / "build" / "deploy" / stage


def state_parameter(stage: str) -> str:
    return f"/kalexo/{stage}/chalice-deployed"


def _renamed(text: str, stage: str) -> str:
    """Names of the template stage's resources in policies (kalexo-dev..., /kalexo/dev/...) for another stage."""
    if stage == TEMPLATE_STAGE:
        return text
    text = re.sub(r"kalexo-dev(?=[-\":/*]|$)", f"kalexo-{stage}", text)
    return text.replace("/kalexo/dev/", f"/kalexo/{stage}/")


def stage_config(stage: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tracked config with only the stage being deployed (from the template stage if it is not there)."""
    config = config or json.loads((CHALICE_DIR / "config.json").read_text())
    stages = config.get("stages", {})
    base = stages.get(stage) or json.loads(_renamed(json.dumps(stages[TEMPLATE_STAGE]), stage).replace(
        '"policy-dev', f'"policy-{stage}'))
    return {**config, "stages": {stage: base}}


def policy_files(stage: str, stage_cfg: dict[str, Any]) -> dict[str, str]:
    """file name in .chalice -> text, for every policy file the stage names."""
    names = {stage_cfg.get("iam_policy_file")} | {
        f.get("iam_policy_file") for f in stage_cfg.get("lambda_functions", {}).values()}
    files = {}
    for name in sorted(n for n in names if n):
        source = CHALICE_DIR / name
        if not source.exists():  # a stage made from the template stage: policy-dev-x.json renamed
            source = CHALICE_DIR / name.replace(f"policy-{stage}", f"policy-{TEMPLATE_STAGE}", 1)
        files[name] = _renamed(source.read_text(), stage)
    return files


def write_project(stage: str, env: dict[str, str], layer_arn: str | None, imaging: tuple[str, ...],
                  deployed: dict[str, Any] | None, target: Path | None = None) -> Path:
    """Write build/deploy/<stage>/ afresh; `deployed` is Chalice's record of the stage, when there is one.
    Only the `imaging` functions get the layer (none, for `chalice delete`, which needs no layer)."""
    target = target or project_dir(stage)
    chalice_dir = target / ".chalice"
    for name in APP_DIRS:
        shutil.rmtree(target / name, ignore_errors=True)
    # Everything but deployments/, Chalice's cache of the packaged dependencies (a rebuild downloads them).
    for path in chalice_dir.glob("*"):
        if path.name != "deployments":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    chalice_dir.mkdir(parents=True, exist_ok=True)
    for name in APP_FILES:
        shutil.copy2(PROJECT_DIR / name, target / name)
    for name in APP_DIRS:
        shutil.copytree(PROJECT_DIR / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    config = stage_config(stage)
    stage_cfg = config["stages"][stage]
    stage_cfg.setdefault("environment_variables", {}).update(env)
    for name, function in stage_cfg.get("lambda_functions", {}).items():
        if name in imaging and layer_arn:
            function["layers"] = [layer_arn]
        else:
            function.pop("layers", None)
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name, text in policy_files(stage, stage_cfg).items():
        (chalice_dir / name).write_text(text)
    if deployed is not None:
        (chalice_dir / "deployed").mkdir()
        (chalice_dir / "deployed" / f"{stage}.json").write_text(json.dumps(deployed, indent=2))
    return target


def read_deployed(target: Path, stage: str) -> dict[str, Any] | None:
    path = target / ".chalice" / "deployed" / f"{stage}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_state(ssm: Any, stage: str) -> dict[str, Any] | None:
    try:
        value = ssm.get_parameter(Name=state_parameter(stage))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    loaded: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(value)))
    return loaded


def save_state(ssm: Any, stage: str, deployed: dict[str, Any]) -> None:
    """Compressed, so the record of nine functions and two APIs (about 5 KB) fits a standard parameter (4 KB)."""
    packed = base64.b64encode(zlib.compress(json.dumps(deployed, separators=(",", ":")).encode(), 9)).decode()
    ssm.put_parameter(Name=state_parameter(stage), Value=packed, Type="String", Overwrite=True,
                      Description="chalice deploy's record of this stage (make deploy keeps it here)")


def api_urls(deployed: dict[str, Any]) -> tuple[str, str]:
    urls = {key: str(r[key]) for r in deployed["resources"] for key in ("rest_api_url", "websocket_api_url")
            if key in r}
    if set(urls) != {"rest_api_url", "websocket_api_url"}:
        raise LookupError("chalice deploy recorded no REST or websocket API")
    return urls["rest_api_url"].rstrip("/"), urls["websocket_api_url"].rstrip("/")


def api_gateway_stage(config: dict[str, Any], stage: str) -> str:
    """Chalice deploys the websocket API to the REST API's stage name (api_gateway_stage, default "api")."""
    return str(config.get("stages", {}).get(stage, {}).get("api_gateway_stage") or config.get(
        "api_gateway_stage", "api"))


def websocket_management_endpoint(deployed: dict[str, Any], region: str, api_stage: str) -> str | None:
    """https://{api}.execute-api.{region}.amazonaws.com/{stage}: where workers post to connections."""
    for resource in deployed.get("resources", []):
        if resource.get("resource_type") == "websocket_api":
            return f"https://{resource['websocket_api_id']}.execute-api.{region}.amazonaws.com/{api_stage}"
    return None


def lock_parameter(stage: str) -> str:
    return f"/kalexo/{stage}/deploy-lock"


def acquire_lock(ssm: Any, stage: str, action: str, stale_after_s: int = 2 * 3600) -> None:
    """One make deploy or destroy of a stage at a time, across clones: a parameter created only if absent. A lock
    whose holder is gone (a process of this host that no longer runs: a deploy killed outright) or older than
    `stale_after_s` is taken over, saying so."""
    import os
    import socket
    import time

    mine = {"action": action, "host": socket.gethostname(), "pid": os.getpid(), "since": int(time.time())}
    try:
        ssm.put_parameter(Name=lock_parameter(stage), Value=json.dumps(mine), Type="String", Overwrite=False,
                          Description="make deploy/destroy in progress")
        return
    except ssm.exceptions.ParameterAlreadyExists:
        held = json.loads(ssm.get_parameter(Name=lock_parameter(stage))["Parameter"]["Value"])
    age = int(time.time()) - int(held.get("since", 0))
    gone = held.get("host") == mine["host"] and not _running(int(held.get("pid", 0)))
    who = f"{held.get('action')} on {held.get('host')}, pid {held.get('pid')}"
    if not gone and age < stale_after_s:
        raise LookupError(f"another make deploy or destroy of stage {stage!r} is running ({who}, for "
                          f"{age // 60} min); wait for it, or if it was killed on another machine, delete the SSM "
                          f"parameter {lock_parameter(stage)} (after {stale_after_s // 3600} h it is taken over)")
    print(f"  taking over the lock of a {'finished' if gone else 'stale'} {who}")
    ssm.put_parameter(Name=lock_parameter(stage), Value=json.dumps(mine), Type="String", Overwrite=True)


def _running(pid: int) -> bool:
    """Alive, and not a zombie (a killed process its parent, dead too, left for init to reap)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return pid > 0 and stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return pid > 0


def release_lock(ssm: Any, stage: str) -> None:
    with contextlib.suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=lock_parameter(stage))
