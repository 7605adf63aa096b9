"""A write grant (domain/tenancy.py WriteGrant) as a DynamoDB ConditionCheck on the main table, for
TransactWriteItems: the op and the check commit together or not at all.

The items checked are the ones dynamo_tenancy.py writes: the membership (`WORKSPACE#<ws>` / `MEMBER#<user>`,
attribute `role`) for members, the user (`USER#<user>` / `USER`, attributes `role` and `account_id`) for
administrators. A deleted item fails every comparison, so a deleted user or a removed member is refused.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import WriteGrant


def grant_check(table: str, grant: WriteGrant) -> dict[str, Any]:
    if grant.via == "member":
        roles = {f":r{i}": role.value for i, role in enumerate(grant.roles)}
        return {"ConditionCheck": {
            "TableName": table, "Key": to_item({"pk": f"WORKSPACE#{grant.workspace_id}",
                                                "sk": f"MEMBER#{grant.user_id}"}),
            "ConditionExpression": f"#role IN ({', '.join(roles)})", "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": to_item(roles)}}
    if grant.via == "account_admin":
        condition = "(#role = :platform) OR (#role = :admin AND account_id = :account)"
        values = {":platform": Role.PLATFORM_ADMIN.value, ":admin": Role.ACCOUNT_ADMIN.value,
                  ":account": grant.account_id}
    elif grant.via == "platform_admin":
        condition, values = "#role = :platform", {":platform": Role.PLATFORM_ADMIN.value}
    else:
        raise ValueError(f"unknown grant {grant.via!r}")
    return {"ConditionCheck": {
        "TableName": table, "Key": to_item({"pk": f"USER#{grant.user_id}", "sk": "USER"}),
        "ConditionExpression": condition, "ExpressionAttributeNames": {"#role": "role"},
        "ExpressionAttributeValues": to_item(values)}}
