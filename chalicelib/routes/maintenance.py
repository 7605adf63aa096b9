"""Scheduled housekeeping. Expired events are deleted here rather than left to DynamoDB's TTL alone, which
deletes up to days late (and never in the emulator)."""

from __future__ import annotations

import time

from chalice.app import Blueprint, CloudWatchEvent, Rate

from chalicelib.container import get_container
from chalicelib.observability import logger

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="purge_expired_events")
def purge_expired_events(event: CloudWatchEvent) -> None:
    deleted = get_container().event_log.purge_expired(time.time())
    logger.info("expired events purged", extra={"deleted": deleted})
