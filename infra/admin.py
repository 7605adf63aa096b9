"""`make admin STAGE=<stage> EMAIL=<address> [NAME=...]`: the first platform administrator of a deployed stage,
and a short-lived token for them.

Tokens come from `POST /admin/users/{id}/tokens`, which needs an administrator's token: someone has to exist
first. This runs on the operator's machine with the operator's AWS credentials (the same ones `make deploy`
used), writes the operations account and the administrator through the app's own tenancy store (as the local
seed does), and signs the token with the stage's secret from SSM. Run again with the same address, it only
prints a new token: a way back in for an operator who has lost theirs. A different address for an existing
administrator id is refused rather than overwritten.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time

import boto3

from chalicelib.container import Container
from chalicelib.domain.email_address import normalise_email
from chalicelib.domain.errors import BadRequest, Conflict
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, User, display_name
from chalicelib.settings import Settings
from infra import stack
from infra.aws_session import aws_session
from infra.outputs import settings_from_outputs, stack_name

OPERATIONS_ACCOUNT = "acc-operations"
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# One @, a dotted domain, no spaces, quotes, angle brackets or separators a shell or a header would split on.
EMAIL = re.compile(r"[^@\s\"'<>(),;:]+@[a-z0-9-]+(\.[a-z0-9-]+)+", re.IGNORECASE)
TOKEN_TTL_SECONDS = 3600


def stage_settings(session: boto3.session.Session, stage: str, endpoint_url: str | None) -> Settings:
    """The deployed stage's settings, as its functions read them (stack outputs, the secret's parameter)."""
    cfn = session.client("cloudformation", endpoint_url=endpoint_url)
    deployed = stack.describe(cfn, stack_name(stage))
    if deployed is None:
        raise SystemExit(f"no stack {stack_name(stage)} (not deployed, or destroyed): make deploy STAGE={stage}")
    env = {**os.environ, **settings_from_outputs(stack.outputs_of(deployed)), "KALEXO_STAGE": stage,
           "KALEXO_JWT_SECRET_PARAMETER": f"/kalexo/{stage}/jwt-secret"}
    env.pop("KALEXO_JWT_SECRET", None)
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return Settings.from_env(env)


def ensure_admin(container: Container, email: str, name: str, user_id: str) -> tuple[User, bool]:
    """The administrator (created if missing) and whether it was created."""
    store = container.tenancy.store
    now = int(time.time())
    try:
        email = normalise_email(email)
    except ValueError:
        raise SystemExit(f"{email!r} is not an email address") from None
    with contextlib.suppress(Conflict):  # an earlier run made it
        store.create_account(Account(OPERATIONS_ACCOUNT, "Operations", "enterprise", now))
    existing = store.get_user(user_id)
    if existing is not None:
        if existing.email != email or existing.role is not Role.PLATFORM_ADMIN:
            raise SystemExit(f"user {user_id!r} exists as {existing.email} ({existing.role.value}); "
                             f"choose another USER_ID=...")
        return existing, False
    user = User(user_id, OPERATIONS_ACCOUNT, email, _admin_name(name, email), Role.PLATFORM_ADMIN, now)
    store.create_user(user, None)
    return user, True


def _admin_name(name: str, email: str) -> str:
    try:
        return display_name(name) if name.strip() else email
    except BadRequest as exc:
        raise SystemExit(f"NAME: {exc.message}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default="")
    parser.add_argument("--user-id", default="admin")
    parser.add_argument("--ttl", type=int, default=TOKEN_TTL_SECONDS, help="token lifetime in seconds")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None)
    args = parser.parse_args(argv)
    stack.check_stage(args.stage)
    if not USER_ID.fullmatch(args.user_id):
        parser.error(f"USER_ID={args.user_id!r}: letters, digits, '.', '_' and '-', at most 64")
    if not EMAIL.fullmatch(args.email.strip()):
        parser.error(f"EMAIL={args.email!r} is not an email address")
    container = Container(stage_settings(aws_session(f"make admin STAGE={args.stage}"), args.stage,
                                         args.endpoint_url))
    try:
        user, created = ensure_admin(container, args.email, args.name, args.user_id)
    except Conflict as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    token = container.tokens.issue(user.user_id, user.account_id, [user.role], args.ttl, epoch=user.token_epoch)
    print(f"platform administrator {user.user_id} <{user.email}> {'created' if created else 'exists'}; "
          f"a token valid for {args.ttl // 60} minutes (use it to create your own users and longer tokens):",
          file=sys.stderr)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
