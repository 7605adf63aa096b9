"""Who is asking: the verified claims of a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    ACCOUNT_ADMIN = "account_admin"
    MEMBER = "member"


@dataclass(frozen=True)
class Principal:
    """Who a verified token says the caller is (identity only; roles come from the stored user)."""
    user_id: str
    account_id: str
    roles: frozenset[Role]
    token_id: str
    expires_at: int
    issued_at: int = 0
    user_epoch: str = ""  # the user's token_epoch when the token was issued ("" if it names none)
    # Accounts the token's issuer may vouch for; None for this service's own tokens (any account).
    trusted_for: frozenset[str] | None = None

    @property
    def is_platform_admin(self) -> bool:
        return Role.PLATFORM_ADMIN in self.roles
