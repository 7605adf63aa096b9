import json
import time

import jwt
import pytest

from chalicelib.auth.tokens import AuthError, TokenService
from chalicelib.domain.principal import Role

SERVICE = TokenService(secret="s" * 48, ttl_seconds=60)


def test_issued_token_verifies_to_the_same_principal():
    principal = SERVICE.verify(SERVICE.issue("alice", "acc-1", [Role.MEMBER, Role.ACCOUNT_ADMIN]))
    assert principal.user_id == "alice"
    assert principal.account_id == "acc-1"
    assert principal.roles == frozenset({Role.MEMBER, Role.ACCOUNT_ADMIN})
    assert not principal.is_platform_admin
    assert principal.expires_at > time.time()


@pytest.mark.parametrize(("token", "code"), [(None, "missing_token"), ("", "missing_token"),
                                             ("garbage", "invalid_token")])
def test_missing_or_garbage_tokens(token, code):
    with pytest.raises(AuthError) as caught:
        SERVICE.verify(token)
    assert caught.value.code == code


def test_expired_token():
    token = SERVICE.issue("alice", "acc-1", [Role.MEMBER], ttl_seconds=-120)
    with pytest.raises(AuthError) as caught:
        SERVICE.verify(token)
    assert caught.value.code == "token_expired"


def test_other_secret_and_tampered_payload_are_refused():
    other = TokenService(secret="t" * 48, ttl_seconds=60).issue("alice", "acc-1", [Role.MEMBER])
    with pytest.raises(AuthError):
        SERVICE.verify(other)
    header, payload, signature = SERVICE.issue("alice", "acc-1", [Role.MEMBER]).split(".")
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    claims.update(sub="admin", roles=["platform_admin"])  # every claim valid; only the signature is wrong
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(AuthError):
        SERVICE.verify(f"{header}.{forged_payload}.{signature}")


def test_unsigned_and_unknown_role_tokens_are_refused():
    unsigned = jwt.encode({"sub": "a", "iss": "kalexo", "exp": time.time() + 60, "iat": time.time(), "jti": "x"},
                          key="", algorithm="none")
    with pytest.raises(AuthError):
        SERVICE.verify(unsigned)
    claims = {"sub": "a", "iss": "kalexo", "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "x",
              "roles": ["god"]}
    with pytest.raises(AuthError):
        SERVICE.verify(jwt.encode(claims, "s" * 48, algorithm="HS256"))
