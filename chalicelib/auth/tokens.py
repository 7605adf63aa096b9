"""Signed bearer tokens carrying the user, the account and the roles.

HS256 with a secret from settings (generated locally; from SSM Parameter Store on AWS). Verification is
strict: signature, expiry, issuer and the required claims; every failure is an AuthError with a code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.principal import Principal, Role

if TYPE_CHECKING:
    from chalicelib.auth.external import ExternalIssuers

# PyJWT is imported where a token is issued or verified, not with this module: the websocket `$default` function
# and the workers import it (for AuthError) but never touch a token, and would pay PyJWT at every cold start.

ISSUER = "kalexo"
_ALGORITHM = "HS256"
_LEEWAY_SECONDS = 30


class AuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenService:
    """Issues and verifies the app's own HS256 bearer tokens (and external RS256 ones when configured)."""
    secret: str
    ttl_seconds: int
    external: ExternalIssuers | None = None  # RS256 tokens of configured identity providers

    def issue(self, user_id: str, account_id: str, roles: Iterable[Role], ttl_seconds: int | None = None,
              epoch: str = "") -> str:
        """`epoch`: the user's token_epoch, which the token then only passes for."""
        import jwt

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user_id,
            "acc": account_id,
            "roles": sorted(role.value for role in roles),
            "iat": now,
            "exp": now + (ttl_seconds if ttl_seconds is not None else self.ttl_seconds),
            "jti": uuid.uuid4().hex,
            **({"uep": epoch} if epoch else {}),
        }
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise AuthError("missing_token", "a bearer token is required")
        import jwt

        if self.external is not None and _algorithm(token) == "RS256":
            return self._verify_external(self.external, token)
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired") from exc
        except jwt.PyJWTError as exc:
            # The reason stays in the exception chain for the logs, not in the answer to the client.
            raise AuthError("invalid_token", "the token is not valid") from exc
        try:
            roles = frozenset(Role(value) for value in claims.get("roles", []))
        except ValueError as exc:
            raise AuthError("invalid_token", "the token names an unknown role") from exc
        return Principal(
            user_id=str(claims["sub"]),
            account_id=str(claims.get("acc", "")),
            roles=roles,
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
            user_epoch=str(claims.get("uep", "")),
        )

    def _verify_external(self, external: ExternalIssuers, token: str) -> Principal:
        import jwt

        try:
            user_id, claims, issuer_accounts = external.verify(token, _LEEWAY_SECONDS)
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("invalid_token", "the token is not valid") from exc
        # The provider proves identity only: account and roles come from the stored user, as for our tokens.
        return Principal(user_id=user_id, account_id="", roles=frozenset(), token_id=str(claims.get("jti", "")),
                         expires_at=int(claims["exp"]), issued_at=int(claims.get("iat", 0)),
                         trusted_for=issuer_accounts)


def _algorithm(token: str) -> str:
    import jwt

    try:
        return str(jwt.get_unverified_header(token).get("alg", ""))
    except jwt.PyJWTError:
        return ""


class DeferredTokens:
    """Verifies with a TokenService built on first use. A function that never sees a token (the websocket
    `$default` route, the workers) then never loads the signing secret, which on AWS is an SSM call at cold
    start."""

    def __init__(self, build: Callable[[], TokenService]) -> None:
        self._build = build

    def verify(self, token: str | None) -> Principal:
        return self._build().verify(token)
