"""RS256 tokens of an external identity provider, verified against its configured JWKS."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.auth.external import ExternalIssuers
from chalicelib.auth.tokens import AuthError, TokenService
from chalicelib.settings import SettingsError

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"


def keypair(kid: str):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"}


PRIVATE, PUBLIC = keypair("k1")
OTHER_PRIVATE, _ = keypair("k1")
SETTING = json.dumps([{"issuer": ISSUER, "audience": "client-1", "jwks": {"keys": [PUBLIC]},
                       "user_claim": "custom:kalexo_user_id", "accounts": ["acc-a"]}])
SERVICE = TokenService("h" * 48, 60, ExternalIssuers.from_setting(SETTING))


def provider_token(private=PRIVATE, kid="k1", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "client-1", "sub": "cognito-sub", "custom:kalexo_user_id": "bob",
              "iat": now, "exp": now + 300, **overrides}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def test_a_providers_token_names_the_kalexo_user():
    principal = SERVICE.verify(provider_token())
    assert principal.user_id == "bob"
    assert principal.roles == frozenset()  # roles come from the stored user, never from the provider
    assert principal.trusted_for == frozenset({"acc-a"})


def test_a_provider_vouches_only_for_its_own_accounts():
    from chalicelib.domain.errors import Unauthorized
    from chalicelib.services.access import AccessService
    from tests.unit.test_access import tenancy_with_demo

    access = AccessService(SERVICE, tenancy_with_demo())
    assert access.authenticate(provider_token()).user_id == "bob"  # bob is in acc-a
    with pytest.raises(Unauthorized) as refused:
        access.authenticate(provider_token(**{"custom:kalexo_user_id": "olga"}))  # olga is in acc-b
    assert refused.value.code == "issuer_not_trusted"
    with pytest.raises(Unauthorized):
        access.authenticate(provider_token(**{"custom:kalexo_user_id": "root"}))  # nor the operator's admins


@pytest.mark.parametrize(("token", "code"), [
    (lambda: provider_token(private=OTHER_PRIVATE), "invalid_token"),   # signed with another key
    (lambda: provider_token(kid="k2"), "invalid_token"),                # unknown key id
    (lambda: provider_token(iss="https://evil.example"), "invalid_token"),
    (lambda: provider_token(aud="other-client"), "invalid_token"),
    (lambda: provider_token(exp=int(time.time()) - 300), "token_expired"),
])
def test_bad_provider_tokens(token, code):
    with pytest.raises(AuthError) as refused:
        SERVICE.verify(token())
    assert refused.value.code == code


def test_our_own_tokens_still_verify_and_an_rs256_token_without_issuers_is_refused():
    assert SERVICE.verify(SERVICE.issue("ann", "acc", [])).user_id == "ann"
    with pytest.raises(AuthError):
        TokenService("h" * 48, 60).verify(provider_token())


BAD_KEY = json.dumps([{"issuer": "x", "jwks": {"keys": [{"kty": "nope"}]}}])


@pytest.mark.parametrize("raw", ["not json", "[{}]", BAD_KEY])
def test_a_malformed_issuer_setting_is_named(raw):
    with pytest.raises(SettingsError, match="KALEXO_JWT_ISSUERS"):
        ExternalIssuers.from_setting(raw)
