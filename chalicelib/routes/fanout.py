"""The fan-out queue's consumer: chunks of a large workspace's delivery (chalicelib/services/fanout_overflow.py).

Batch size 1, like the other queue consumers: a batch fails or succeeds whole. A chunk's posts do not fail the
chunk (a dead connection is removed, other failures are logged), so a redelivery is rare and at worst repeats
a message that clients drop by its sequence number.
"""

from __future__ import annotations

from chalice.app import Blueprint, SQSEvent

from chalicelib.container import get_container
from chalicelib.observability import logger
from chalicelib.settings import get_settings

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().fanout_queue, batch_size=1)
def deliver_fanout(event: SQSEvent) -> None:
    chunks = get_container().fanout_chunks
    for record in event:
        delivery = chunks.handle(record.body)
        if delivery is not None:
            logger.info("fan-out chunk", extra={"delivered": delivery.delivered, "gone": delivery.gone,
                                                "failed": delivery.failed})
