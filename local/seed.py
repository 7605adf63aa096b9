"""The demo tenant every fresh local stack starts with: one account, one workspace, three people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.principal import Role


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    name: str
    roles: tuple[Role, ...]
    workspace_role: str | None


ACCOUNT_ID = "acc-demo"
WORKSPACE_ID = "ws-demo"
USERS = (
    DemoUser("alice", "Alice Architect", (Role.MEMBER,), "owner"),
    DemoUser("bob", "Bob Builder", (Role.MEMBER,), "editor"),
    DemoUser("vera", "Vera Viewer", (Role.MEMBER,), "viewer"),
    DemoUser("admin", "Ada Admin", (Role.PLATFORM_ADMIN,), None),
)


def seed(dynamodb: Any, table: str) -> None:
    def put(item: dict[str, str]) -> None:
        dynamodb.put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})

    put({"pk": f"ACCOUNT#{ACCOUNT_ID}", "sk": "ACCOUNT", "name": "Demo Architects", "plan": "team"})
    put({"pk": f"WORKSPACE#{WORKSPACE_ID}", "sk": "WORKSPACE", "name": "Riverside Library",
         "account_id": ACCOUNT_ID})
    for user in USERS:
        put({"pk": f"USER#{user.user_id}", "sk": "USER", "name": user.name, "account_id": ACCOUNT_ID,
             "roles": ",".join(r.value for r in user.roles)})
        if user.workspace_role:
            put({"pk": f"WORKSPACE#{WORKSPACE_ID}", "sk": f"MEMBER#{user.user_id}", "role": user.workspace_role,
                 "gsi1pk": f"USER#{user.user_id}", "gsi1sk": f"WORKSPACE#{WORKSPACE_ID}"})


def user_exists(dynamodb: Any, table: str, user_id: str) -> DemoUser | None:
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}).get("Item")
    if not item:
        return None
    roles = tuple(Role(r) for r in item["roles"]["S"].split(",") if r)
    return DemoUser(user_id, item["name"]["S"], roles, None)


def token_for(tokens: TokenService, user: DemoUser, admin: bool = False) -> str:
    roles = set(user.roles) | ({Role.PLATFORM_ADMIN} if admin else set())
    return tokens.issue(user.user_id, ACCOUNT_ID, roles)
