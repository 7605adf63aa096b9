"""Cache in memcached (ElastiCache Serverless for Memcached on AWS), shared by every function, so an
invalidation is seen by all of them at once. A memcached outage degrades to uncached reads, never to errors."""

from __future__ import annotations

from typing import Any

from chalicelib.observability import logger


class MemcachedCache:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client  # pymemcache client, configured by chalicelib.aws
        self._prefix = prefix

    def _key(self, key: str) -> str:
        # memcached keys: at most 250 bytes, no spaces or control characters.
        return (self._prefix + key).replace(" ", "_")[:250]

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(self._key(key))
        except Exception as exc:  # any network or protocol failure: read through to the table
            logger.warning("memcached get failed", extra={"error": repr(exc)})
            return None
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        try:
            self._client.set(self._key(key), value, expire=ttl_seconds, noreply=False)
        except Exception as exc:
            logger.warning("memcached set failed", extra={"error": repr(exc)})

    def delete(self, key: str) -> None:
        # An invalidation that fails must not leave a stale grant behind: the error propagates, so the
        # change that caused it is reported as failed rather than silently half-applied.
        self._client.delete(self._key(key), noreply=False)
