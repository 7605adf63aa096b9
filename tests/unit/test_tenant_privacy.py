"""Rules that keep one tenant's data out of another's answers, and links in user fields safe to follow."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import User, web_url
from chalicelib.services.access import Actor
from chalicelib.services.directory import require_server_chosen_id


@pytest.mark.parametrize("url", ["", "https://cdn.example.test/a.png", "http://example.test", "HTTPS://X.TEST/",
                                 "https://[2001:db8::1]/avatar"])
def test_http_and_https_urls_with_a_host_are_accepted(url):
    assert web_url(url) == url


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
                                 "java\tscript:alert(1)", "data:image/svg+xml,<svg onload=alert(1)>",
                                 "vbscript:x", "file:///etc/passwd", "//evil.test/a.png", "/relative.png",
                                 "https://", "http:///path", "https://a.test/x y", "https://a.test/\x00",
                                 "ftp://a.test/x", "https://[::1"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        web_url(url)


def actor(role: Role) -> Actor:
    return Actor(User("someone", "acc-a", "s@a.test", "S", role, 0))


@pytest.mark.parametrize("role", [Role.ACCOUNT_ADMIN, Role.MEMBER])
def test_ids_are_chosen_by_the_server_for_anyone_who_cannot_see_every_tenant(role):
    for chosen in ("olga", "never-used-id"):  # the same answer whatever the id: nothing is confirmed
        with pytest.raises(Forbidden) as refused:
            require_server_chosen_id(actor(role), "user_id", chosen)
        assert refused.value.code == "id_chosen_by_server" and chosen not in refused.value.message
    require_server_chosen_id(actor(role), "user_id", None)


def test_platform_administrators_may_choose_ids():
    require_server_chosen_id(actor(Role.PLATFORM_ADMIN), "workspace_id", "ws-chosen")
