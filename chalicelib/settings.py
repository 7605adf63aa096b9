"""Settings, read once from the environment into a frozen dataclass.

Locally and on AWS the same names are used; only their values differ (the local runtime fills them from the
stack it deployed into the emulator, `make deploy-infra` writes them into `.chalice/config.json` per stage).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """The process's settings, read once from the environment."""
    stage: str
    region: str
    aws_endpoint_url: str | None
    main_table: str
    connections_table: str
    ops_table: str
    events_table: str
    documents_bucket: str
    tiles_bucket: str
    uploads_queue: str
    uploads_dlq: str
    tiles_queue: str
    tiles_dlq: str
    fanout_queue: str  # deliveries to large workspaces, beyond what one invocation posts itself
    # Where workers post to websocket connections (https://{api}.execute-api.{region}.amazonaws.com/{stage}).
    # Empty inside websocket handlers is fine: they configure from the incoming event.
    websocket_endpoint: str | None
    jwt_secret: str | None
    jwt_secret_parameter: str | None
    jwt_issuers: str | None  # JSON list of external RS256 issuers (chalicelib/auth/external.py)
    token_ttl_seconds: int
    # True where something other than Lambda polls the queues (the local runtime) and writes heartbeats.
    event_source_heartbeats: bool
    # "local" (in the function) or "memcached" (shared; ElastiCache Serverless on AWS)
    cache_backend: str
    memcached_endpoint: str | None
    memcached_tls: bool
    cache_ttl_seconds: int
    event_retention_days: int
    rate_limit_per_minute: int  # REST requests per user and minute; 0 turns the limit off
    auth_failures_per_minute: int  # failed authentications per source address and minute before 429
    presence_stale_seconds: int  # a connection not heard from for this long counts as gone
    messages_per_second: float  # per connection, with a burst of twice that
    max_receives: int  # deliveries of a queue message before its dead-letter queue (the template's MaxReceiveCount)
    fanout_inline_max: int  # connections one invocation posts to itself; the rest go to the fan-out queue

    max_upload_bytes: int  # one presigned PUT (S3 allows 5 GB); larger files will go multipart
    s3_addressing: str  # "virtual" (AWS) or "path" (emulators)
    multipart_threshold_bytes: int  # uploads larger than this go up in parts (resumable)
    public_api_url: str | None  # the REST API's public base URL (a CloudFront domain); else taken from requests
    tiles_url: str | None  # the base of tile, DZI and IIIF URLs: a CloudFront distribution caching them
    source_url: str | None  # where users get the running version's source (the AGPL's offer; the site's archive)
    tile_grant_seconds: int  # how long the tile URLs in a manifest stay valid (rounded up to the hour)
    max_document_pages: int  # more pages than this and a document is refused, not processed
    max_image_pixels: int  # decompression-bomb guard for raster uploads
    # The most concurrent invocations an SQS trigger starts (its ScalingConfig). The tiling trigger's must not
    # exceed tile_pages' reserved concurrency: above it Lambda throttles receives, and each throttled receive
    # counts toward the message's maxReceiveCount, sending good pages to the dead-letter queue.
    tiling_concurrency: int
    ingest_concurrency: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"setting {name} is not set (see README, 'Configuration')")
            return value

        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int) -> int:
            try:
                return int(env.get(name, str(default)))
            except ValueError as exc:
                raise SettingsError(f"{name} must be an integer") from exc

        def flag(name: str) -> bool:
            return env.get(name, "").lower() in ("1", "true", "yes")

        if env.get("KALEXO_S3_ADDRESSING", "virtual") not in ("virtual", "path"):
            raise SettingsError("KALEXO_S3_ADDRESSING must be virtual or path")
        cache_backend = env.get("KALEXO_CACHE_BACKEND", "local")
        if cache_backend not in ("local", "memcached"):
            raise SettingsError("KALEXO_CACHE_BACKEND must be local or memcached")
        if cache_backend == "memcached" and not optional("KALEXO_MEMCACHED_ENDPOINT"):
            raise SettingsError("KALEXO_CACHE_BACKEND=memcached needs KALEXO_MEMCACHED_ENDPOINT (host:port)")
        return cls(
            stage=required("KALEXO_STAGE"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            aws_endpoint_url=optional("AWS_ENDPOINT_URL"),
            main_table=required("KALEXO_MAIN_TABLE"),
            connections_table=required("KALEXO_CONNECTIONS_TABLE"),
            ops_table=required("KALEXO_OPS_TABLE"),
            events_table=required("KALEXO_EVENTS_TABLE"),
            documents_bucket=required("KALEXO_DOCUMENTS_BUCKET"),
            tiles_bucket=required("KALEXO_TILES_BUCKET"),
            uploads_queue=required("KALEXO_UPLOADS_QUEUE"),
            uploads_dlq=required("KALEXO_UPLOADS_DLQ"),
            tiles_queue=required("KALEXO_TILES_QUEUE"),
            tiles_dlq=required("KALEXO_TILES_DLQ"),
            fanout_queue=required("KALEXO_FANOUT_QUEUE"),
            websocket_endpoint=optional("KALEXO_WEBSOCKET_ENDPOINT"),
            jwt_secret=optional("KALEXO_JWT_SECRET"),
            jwt_secret_parameter=optional("KALEXO_JWT_SECRET_PARAMETER"),
            jwt_issuers=optional("KALEXO_JWT_ISSUERS"),
            token_ttl_seconds=integer("KALEXO_TOKEN_TTL_SECONDS", 43200),
            event_source_heartbeats=flag("KALEXO_EVENT_SOURCE_HEARTBEATS"),
            cache_backend=cache_backend,
            memcached_endpoint=optional("KALEXO_MEMCACHED_ENDPOINT"),
            memcached_tls=flag("KALEXO_MEMCACHED_TLS"),
            cache_ttl_seconds=integer("KALEXO_CACHE_TTL_SECONDS", 10),
            event_retention_days=integer("KALEXO_EVENT_RETENTION_DAYS", 30),
            rate_limit_per_minute=integer("KALEXO_RATE_LIMIT_PER_MINUTE", 600),
            auth_failures_per_minute=integer("KALEXO_AUTH_FAILURES_PER_MINUTE", 300),
            presence_stale_seconds=integer("KALEXO_PRESENCE_STALE_SECONDS", 90),
            messages_per_second=float(integer("KALEXO_MESSAGES_PER_SECOND", 20)),
            max_receives=integer("KALEXO_MAX_RECEIVES", 5),
            fanout_inline_max=integer("KALEXO_FANOUT_INLINE_MAX", 250),
            max_upload_bytes=integer("KALEXO_MAX_UPLOAD_BYTES", 2 * 1024**3),
            s3_addressing=env.get("KALEXO_S3_ADDRESSING", "virtual"),
            multipart_threshold_bytes=integer("KALEXO_MULTIPART_THRESHOLD_BYTES", 100 * 1024**2),
            public_api_url=optional("KALEXO_PUBLIC_API_URL"),
            tiles_url=optional("KALEXO_TILES_URL"),
            source_url=optional("KALEXO_SOURCE_URL"),
            tile_grant_seconds=integer("KALEXO_TILE_GRANT_SECONDS", 6 * 3600),
            max_document_pages=integer("KALEXO_MAX_DOCUMENT_PAGES", 2000),
            max_image_pixels=integer("KALEXO_MAX_IMAGE_PIXELS", 150_000_000),
            tiling_concurrency=integer("KALEXO_TILING_CONCURRENCY", 50),
            ingest_concurrency=integer("KALEXO_INGEST_CONCURRENCY", 10),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; read on first use and never again."""
    return Settings.from_env(os.environ)
