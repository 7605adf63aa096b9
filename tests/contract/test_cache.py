"""The cache contract, against the in-function cache and a real memcached server; and what each means for
a revoked grant when two function instances share (or do not share) the cache."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from pymemcache.client.base import Client

from chalicelib.adapters.cache_local import LocalTtlCache
from chalicelib.adapters.cache_memcached import MemcachedCache
from chalicelib.adapters.cached_tenancy import CachedTenancy
from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
from chalicelib.domain.tenancy import Membership, WorkspaceRole
from tests.orphans import signalled_when_parent_goes
from tests.ports import free_port


@pytest.fixture(scope="module")
def memcached_port() -> Iterator[int]:
    binary = shutil.which("memcached")
    assert binary, "memcached is not installed: `make test` installs it (scripts/system-packages.sh)"
    port = free_port()
    as_root = ["-u", "root"] if os.geteuid() == 0 else []  # memcached refuses root without -u
    server = subprocess.Popen([binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", *as_root],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=lambda: signalled_when_parent_goes(signal.SIGTERM))  # noqa: PLW1509
    deadline = time.time() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if server.poll() is not None or time.time() > deadline:
            pytest.fail(f"memcached did not start: {server.stderr.read().decode() if server.stderr else ''}")
        time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def memcached(port: int) -> MemcachedCache:
    return MemcachedCache(Client(("127.0.0.1", port), connect_timeout=1, timeout=1), prefix="test:")


@pytest.fixture(params=["local", "memcached"])
def cache(request, memcached_port):
    return LocalTtlCache() if request.param == "local" else memcached(memcached_port)


def test_cache_contract(cache):
    key = uuid.uuid4().hex
    assert cache.get(key) is None
    cache.set(key, b"\x00value", ttl_seconds=60)
    assert cache.get(key) == b"\x00value"
    cache.set(key, b"newer", ttl_seconds=60)
    assert cache.get(key) == b"newer"
    cache.delete(key)
    cache.delete(key)  # deleting a missing key is fine
    assert cache.get(key) is None
    cache.set(key + "ttl", b"short", ttl_seconds=1)
    time.sleep(2.1)
    assert cache.get(key + "ttl") is None
    cache.set("a key with spaces", b"ok", ttl_seconds=60)
    assert cache.get("a key with spaces") == b"ok"


def test_memcached_outage_degrades_to_misses():
    dead = MemcachedCache(Client(("127.0.0.1", free_port()), connect_timeout=0.2, timeout=0.2), prefix="x:")
    assert dead.get("k") is None
    dead.set("k", b"v", ttl_seconds=5)  # no exception: the read path falls back to the table
    with pytest.raises(OSError):
        dead.delete("k")  # an invalidation that cannot happen must not pass silently


@pytest.fixture
def store(clients, stack) -> DynamoTenancyStore:
    return DynamoTenancyStore(clients["dynamodb"], stack.outputs["MainTableName"])


def grant(store: DynamoTenancyStore) -> tuple[str, str]:
    workspace, user = f"ws-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    store.put_membership(Membership(workspace, user, "acc", WorkspaceRole.EDITOR, 0))
    return workspace, user


def test_two_instances_sharing_memcached_see_a_revocation_at_once(store, memcached_port):
    first = CachedTenancy(store, memcached(memcached_port), ttl_seconds=300)
    second = CachedTenancy(store, memcached(memcached_port), ttl_seconds=300)
    workspace, user = grant(store)
    assert first.membership(workspace, user) is not None  # now cached
    store.delete_membership(workspace, user)
    second.forget_membership(workspace, user)  # the instance that made the change invalidates
    assert first.membership(workspace, user) is None  # no stale grant in the other instance


def test_in_function_cache_is_invalidated_in_its_own_instance_and_bounded_by_ttl_elsewhere(store):
    this = CachedTenancy(store, LocalTtlCache(), ttl_seconds=1)
    other = CachedTenancy(store, LocalTtlCache(), ttl_seconds=1)
    workspace, user = grant(store)
    assert this.membership(workspace, user) is not None
    assert other.membership(workspace, user) is not None
    store.delete_membership(workspace, user)
    this.forget_membership(workspace, user)
    assert this.membership(workspace, user) is None
    assert other.membership(workspace, user) is not None  # the documented bound: stale until its TTL
    time.sleep(1.1)
    assert other.membership(workspace, user) is None


def test_absent_entries_are_cached_and_invalidated_by_a_grant(store):
    tenancy = CachedTenancy(store, LocalTtlCache(), ttl_seconds=300)
    workspace, user = f"ws-{uuid.uuid4().hex[:8]}", "newcomer"
    assert tenancy.membership(workspace, user) is None
    store.put_membership(Membership(workspace, user, "acc", WorkspaceRole.VIEWER, 0))
    tenancy.forget_membership(workspace, user)
    membership = tenancy.membership(workspace, user)
    assert membership is not None and membership.role is WorkspaceRole.VIEWER
