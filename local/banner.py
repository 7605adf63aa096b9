"""What `make run` prints once everything is up, and the tokens `make token` hands out."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib.auth.tokens import TokenService
from local import seed
from local.config import REGION, RuntimeConfig


def _tokens(secret: str) -> TokenService:
    return TokenService(secret=secret, ttl_seconds=12 * 3600)


def print_banner(cfg: RuntimeConfig, env: dict[str, str]) -> None:
    tokens = _tokens(env["KALEXO_JWT_SECRET"])
    lines = [
        "",
        "Kalexo Teamwork is running locally.",
        f"  REST API         {cfg.rest_url}   (try {cfg.rest_url}/health)",
        f"  WebSocket API    {cfg.ws_url}/?token=<token>",
        f"  @connections     {cfg.plain_management_endpoint}/@connections/<id>  and  {cfg.management_endpoint}",
        f"  AWS emulator     {cfg.aws_endpoint}   (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
        f"  Demo workspace   {seed.WORKSPACE_ID} in account {seed.ACCOUNT_ID}",
        "",
        "Tokens (valid 12 hours; `make token USER=<name>` prints more):",
    ]
    issued = {user.user_id: seed.token_for(tokens, user) for user in seed.USERS}
    for user in seed.USERS:
        role = user.workspace_role or ",".join(r.value for r in user.roles)
        lines.append(f"  {user.user_id:<6} ({role}): {issued[user.user_id]}")
    alice = issued[seed.USERS[0].user_id]
    lines += ["", "Try:", f"  python -m websockets '{cfg.ws_url}/?token={alice}'", '  > {"action": "ping"}',
              "", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def issue_local_token(runtime: dict[str, Any], user_id: str, workspace: str, admin: bool) -> str:
    env = runtime["env"]
    cfg = runtime["config"]
    dynamodb = boto3.session.Session(region_name=REGION, aws_access_key_id="local",
                                     aws_secret_access_key="local").client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{cfg['aws_port']}")
    table = env["KALEXO_MAIN_TABLE"]
    user = seed.user_exists(dynamodb, table, user_id)
    if user is None:
        raise LookupError(f"no user {user_id!r} in the local stack (seeded: "
                          f"{', '.join(u.user_id for u in seed.USERS)})")
    if workspace:
        member = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"WORKSPACE#{workspace}"},
                                                         "sk": {"S": f"MEMBER#{user_id}"}}).get("Item")
        if member is None:
            raise LookupError(f"{user_id!r} is not a member of workspace {workspace!r}")
    return seed.token_for(_tokens(env["KALEXO_JWT_SECRET"]), user, admin)
