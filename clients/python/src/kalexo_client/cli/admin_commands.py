"""kalexo me, accounts, users, tokens, workspaces, members, usage: the REST admin routes, one command each."""

from __future__ import annotations

import click

from kalexo_client.cli.config import Config
from kalexo_client.cli.output import done, emit, emit_list

pass_config = click.make_pass_decorator(Config)
ACCOUNT_COLUMNS = ["account_id", "name", "plan", "created_at"]
USER_COLUMNS = ["user_id", "account_id", "email", "name", "role", "created_at"]
WORKSPACE_COLUMNS = ["workspace_id", "account_id", "name", "role", "created_at"]
MEMBER_COLUMNS = ["user_id", "role", "online", "added_at"]
LIMIT = click.option("--limit", type=click.IntRange(1), help="At most this many (default: all).")


def _account(config: Config, given: str | None) -> str:
    """The account named, else the signed-in user's own."""
    return given or str(config.api().me()["account_id"])


QUOTA_KEYS = ("max_users", "max_workspaces", "max_storage_bytes", "max_pages_per_month")


PLAN = object()  # `KEY=plan`: the override removed, the plan's quota again


def _quota(values: tuple[str, ...]) -> dict[str, int | object | None]:
    """`KEY=N` (set), `KEY=unlimited` (None: no limit) and `KEY=plan` (PLAN; `none` and an empty value mean
    the same), checked before anything is asked of the API."""
    out: dict[str, int | object | None] = {}
    for value in values:
        key, sep, number = value.partition("=")
        if key not in QUOTA_KEYS:
            raise click.BadParameter(f"{key!r} is not a quota; quotas: {', '.join(QUOTA_KEYS)}", param_hint="--quota")
        if not sep or not (number.isdigit() or number in ("", "none", "plan", "unlimited")):
            raise click.BadParameter(f"{value!r}: write KEY=NUMBER, KEY=unlimited, or KEY=plan for the plan's "
                                     f"quota", param_hint="--quota")
        out[key] = int(number) if number.isdigit() else None if number == "unlimited" else PLAN
    return out


def _merged(current: dict[str, int | None], changes: dict[str, int | object | None]) -> dict[str, int | None]:
    """The API replaces the overrides whole: the ones not named are kept as they are."""
    out = dict(current)
    for key, value in changes.items():
        if value is PLAN:
            out.pop(key, None)
        else:
            out[key] = value  # type: ignore[assignment]
    return out


@click.command()
@pass_config
def me(config: Config) -> None:
    """The signed-in user."""
    emit(config.api().me(), config.output)


@click.group()
def accounts() -> None:
    """Accounts (tenants): platform admins create, list, change plans and delete; account admins read theirs."""


@accounts.command("list")
@LIMIT
@pass_config
def accounts_list(config: Config, limit: int | None) -> None:
    emit_list(config.api().accounts(limit), config.output, ACCOUNT_COLUMNS, limit)


@accounts.command("show")
@click.argument("account_id", required=False)
@pass_config
def accounts_show(config: Config, account_id: str | None) -> None:
    """An account (default: your own), with its quotas."""
    emit(config.api().account(_account(config, account_id)), config.output)


@accounts.command("create")
@click.argument("name")
@click.option("--plan", type=click.Choice(["free", "team", "enterprise"]))
@click.option("--id", "account_id", help="Choose the id (platform admins).")
@pass_config
def accounts_create(config: Config, name: str, plan: str | None, account_id: str | None) -> None:
    emit(config.api().create_account(name, plan, account_id), config.output)


@accounts.command("update")
@click.argument("account_id")
@click.option("--name")
@click.option("--plan", type=click.Choice(["free", "team", "enterprise"]))
@click.option("--quota", multiple=True, metavar="KEY=N",
              help="Override a quota (max_users, max_workspaces, max_storage_bytes, max_pages_per_month): "
                   "KEY=N, KEY=unlimited, or KEY=plan to go back to the plan's; other overrides are kept.")
@pass_config
def accounts_update(config: Config, account_id: str, name: str | None, plan: str | None,
                    quota: tuple[str, ...]) -> None:
    changes, api = _quota(quota), config.api()
    overrides = _merged(dict(api.account(account_id).get("quota_overrides") or {}), changes) if quota else None
    emit(api.update_account(account_id, name=name, plan=plan, quota_overrides=overrides), config.output)


@accounts.command("delete")
@click.argument("account_id")
@pass_config
def accounts_delete(config: Config, account_id: str) -> None:
    """Delete an empty account."""
    config.api().delete_account(account_id)
    done(config.output, f"deleted account {account_id}")


@click.command()
@click.argument("account_id", required=False)
@click.option("--period", metavar="YYYY-MM", help="A month (default: this one).")
@pass_config
def usage(config: Config, account_id: str | None, period: str | None) -> None:
    """An account's usage for a month, with its quotas (default: your account)."""
    emit(config.api().usage(_account(config, account_id), period), config.output)


@click.group()
def users() -> None:
    """Users of an account."""


@users.command("list")
@click.option("--account", "account_id", help="Whose users (default: your account).")
@LIMIT
@pass_config
def users_list(config: Config, account_id: str | None, limit: int | None) -> None:
    emit_list(config.api().users(_account(config, account_id), limit), config.output, USER_COLUMNS, limit)


@users.command("show")
@click.argument("user_id")
@pass_config
def users_show(config: Config, user_id: str) -> None:
    emit(config.api().user(user_id), config.output)


@users.command("create")
@click.option("--account", "account_id", help="In which account (default: yours).")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["member", "account_admin", "platform_admin"]))
@click.option("--avatar-url")
@click.option("--id", "user_id", help="Choose the id (platform admins).")
@pass_config
def users_create(config: Config, account_id: str | None, email: str, name: str, role: str | None,
                 avatar_url: str | None, user_id: str | None) -> None:
    api = config.api()
    emit(api.create_user(_account(config, account_id), email, name, role, avatar_url=avatar_url, user_id=user_id),
         config.output)


@users.command("update")
@click.argument("user_id")
@click.option("--email")
@click.option("--name")
@click.option("--role", type=click.Choice(["member", "account_admin", "platform_admin"]))
@click.option("--avatar-url")
@pass_config
def users_update(config: Config, user_id: str, email: str | None, name: str | None, role: str | None,
                 avatar_url: str | None) -> None:
    emit(config.api().update_user(user_id, email=email, name=name, role=role, avatar_url=avatar_url), config.output)


@users.command("delete")
@click.argument("user_id")
@pass_config
def users_delete(config: Config, user_id: str) -> None:
    """Delete a user: their access ends at once and their websockets close."""
    config.api().delete_user(user_id)
    done(config.output, f"deleted user {user_id}")


@click.group()
def tokens() -> None:
    """Bearer tokens."""


@tokens.command("create")
@click.argument("user_id")
@click.option("--ttl", type=click.IntRange(60, 2_592_000), help="Seconds it is valid (default: the stage's).")
@pass_config
def tokens_create(config: Config, user_id: str, ttl: int | None) -> None:
    """Issue a token for a user (table output prints the token alone, for TOKEN=$(kalexo tokens create ...))."""
    issued = config.api().issue_token(user_id, ttl)
    emit(issued if config.output == "json" else issued["token"], config.output)


@click.group()
def members() -> None:
    """Members of a workspace (-w, or KALEXO_WORKSPACE)."""


WORKSPACE_OPTION = click.option("-w", "--workspace", help="The workspace (env KALEXO_WORKSPACE).",
                                envvar="KALEXO_WORKSPACE")


@members.command("list")
@WORKSPACE_OPTION
@LIMIT
@pass_config
def members_list(config: Config, workspace: str | None, limit: int | None) -> None:
    """Members with their role, and who is online."""
    emit_list(config.api().members(config.need_workspace(workspace), limit), config.output, MEMBER_COLUMNS,
              limit)


@members.command("set")
@click.argument("user_id")
@click.argument("role", type=click.Choice(["owner", "editor", "viewer"]))
@WORKSPACE_OPTION
@pass_config
def members_set(config: Config, user_id: str, role: str, workspace: str | None) -> None:
    """Add a member, or change their role."""
    emit(config.api().set_member(config.need_workspace(workspace), user_id, role), config.output)


@members.command("remove")
@click.argument("user_id")
@WORKSPACE_OPTION
@pass_config
def members_remove(config: Config, user_id: str, workspace: str | None) -> None:
    """Remove a member: their access ends at once, their websockets in the workspace close."""
    space = config.need_workspace(workspace)
    config.api().remove_member(space, user_id)  # the last owner: 409 last_owner (make another owner first)
    done(config.output, f"removed {user_id} from {space}")


COMMANDS = [me, accounts, usage, users, tokens, members]
