"""Tokens from an external identity provider (for example a Cognito user pool), verified by RS256 against
public keys configured in settings (the provider's JWKS), never fetched at request time.

KALEXO_JWT_ISSUERS is a JSON list: [{"issuer": "...", "audience": "..." (optional), "jwks": {"keys": [...]},
"user_claim": "sub", "accounts": ["acc_..."]}]. `accounts` lists the Kalexo accounts whose users the provider
may vouch for (a customer's own user pool must not sign in another tenant's users). `user_claim` names the
claim that holds the Kalexo user id (a Cognito custom attribute such as "custom:kalexo_user_id", or "sub"
when users are created with the provider's sub as their id).

RS256 needs the `cryptography` package in the deployment package; it is not in requirements.txt by default
because PyJWT imports it eagerly, which every function would pay at cold start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt

from chalicelib.settings import SettingsError


@dataclass(frozen=True)
class Issuer:
    """One external identity provider: issuer, audience, signing keys, user claim, the accounts it vouches for."""
    issuer: str
    audience: str | None
    keys: dict[str, Any]  # kid -> PyJWK
    user_claim: str
    accounts: frozenset[str]  # the Kalexo accounts whose users this provider may vouch for


class ExternalIssuers:
    def __init__(self, issuers: list[Issuer]) -> None:
        self._by_issuer = {i.issuer: i for i in issuers}

    @classmethod
    def from_setting(cls, raw: str | None) -> ExternalIssuers | None:
        if not raw:
            return None
        if not jwt.algorithms.has_crypto:
            raise SettingsError("KALEXO_JWT_ISSUERS needs the `cryptography` package in the deployment package")
        try:
            entries = json.loads(raw)
            issuers = [Issuer(issuer=e["issuer"], audience=e.get("audience"),
                              keys={str(k.key_id): k for k in jwt.PyJWKSet.from_dict(e["jwks"]).keys},
                              user_claim=e.get("user_claim", "sub"), accounts=frozenset(e["accounts"]))
                       for e in entries]
        except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise SettingsError(f"KALEXO_JWT_ISSUERS is not a valid issuer list: {exc}") from exc
        return cls(issuers)

    def verify(self, token: str, leeway: int) -> tuple[str, dict[str, Any], frozenset[str]]:
        """Return (user id, claims, accounts the issuer may vouch for); jwt.PyJWTError when not valid."""
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer = self._by_issuer.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise jwt.InvalidIssuerError("unknown issuer")
        key = issuer.keys.get(str(header.get("kid")))
        if key is None:
            raise jwt.InvalidKeyError("unknown signing key")
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer.issuer, audience=issuer.audience,
                            leeway=leeway, options={"require": ["exp", "iss", issuer.user_claim],
                                                    "verify_aud": issuer.audience is not None})
        return str(claims[issuer.user_claim]), claims, issuer.accounts
