"""What `make run` prints once everything is up, and the tokens `make token` hands out."""

from __future__ import annotations

from typing import Any

from chalicelib.container import Container
from chalicelib.settings import Settings
from local import seed
from local.config import RuntimeConfig


def app_container(env: dict[str, str]) -> Container:
    """The app's own container, built from the stack's settings, for tools that run beside the stack."""
    return Container(Settings.from_env(env))


def print_banner(cfg: RuntimeConfig, env: dict[str, str]) -> None:
    container = app_container(env)
    lines = [
        "",
        "Kalexo Teamwork is running locally.",
        f"  Web client       {cfg.web_url}   (open it in two windows, sign in as alice and as bob)",
        f"  REST API         {cfg.rest_url}   (try {cfg.rest_url}/health; API docs {cfg.rest_url}/docs)",
        f"  WebSocket API    {cfg.ws_url}/?token=<token>[&workspace=<id>]",
        f"  @connections     {cfg.plain_management_endpoint}/@connections/<id>  and  {cfg.management_endpoint}",
        f"  AWS emulator     {cfg.aws_endpoint}   (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
        f"  Demo workspace   {seed.WORKSPACE_ID} in account {seed.ACCOUNT_ID}",
        "",
        "Tokens (valid 12 hours; `make token USER=<name>` prints more):",
    ]
    issued = {user.user_id: seed.token_for(container, user.user_id) for user in seed.USERS}
    for user in seed.USERS:
        role = f"{user.role.value}" + (f", {user.workspace_role} of {seed.WORKSPACE_ID}" if user.workspace_role else "")
        lines.append(f"  {user.user_id:<6} ({role}): {issued[user.user_id]}")
    alice = issued["alice"]
    joined = f"{cfg.ws_url}/?token={alice}&workspace={seed.WORKSPACE_ID}"
    lines += ["", "Try:", f"  .venv/bin/python -m websockets '{joined}'",
              '  > {"action": "ping"}', f"  curl -H 'Authorization: Bearer {alice}' {cfg.rest_url}/me/workspaces",
              "", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def issue_local_token(runtime: dict[str, Any], user_id: str, workspace: str, admin: bool) -> str:
    env = dict(runtime["env"])
    if admin and user_id != "admin":
        raise LookupError("ADMIN=1: platform admin tokens are for platform admins (user 'admin')")
    return seed.token_for(app_container(env), user_id, workspace)
