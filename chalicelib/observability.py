"""One logger, tracer and metrics object for the whole app, and the Chalice middleware that wires them.

Powertools reads its own settings from the environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
POWERTOOLS_TRACE_DISABLED). Creating a Powertools Tracer imports and patches the X-Ray SDK (about 250 ms, even
with tracing disabled), so the tracer is created on first use, and not at all where tracing is switched off
(POWERTOOLS_TRACE_DISABLED=true or AWS_XRAY_SDK_ENABLED=false, as on the local stack): importing this module
stays cheap at cold start.
"""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, SQSEvent, WebsocketEvent

# Most invocations record no metric; flushing then is expected, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger(service="kalexo")
metrics = Metrics(namespace="Kalexo", service="kalexo")


def tracing_enabled() -> bool:
    off = ("1", "true", "yes")
    return (os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in off
            and os.environ.get("AWS_XRAY_SDK_ENABLED", "true").lower() not in ("0", "false", "no"))


@cache
def get_tracer() -> Tracer | None:
    """The one tracer, created on first use; None where tracing is off."""
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="kalexo")


@contextlib.contextmanager
def subsegment(name: str) -> Iterator[None]:
    """A traced section (S3, DynamoDB, rendering); nothing where tracing is off. Never records payloads."""
    tracer = get_tracer()
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(name):
        yield


def _correlation_keys(event: Any) -> dict[str, str]:
    """Ids that let one request be followed through the logs (connection, request, message)."""
    if isinstance(event, WebsocketEvent):
        return {"connection_id": event.connection_id,
                "route": str(event.to_dict().get("requestContext", {}).get("routeKey", ""))}
    if isinstance(event, Request):
        request_id = (event.context or {}).get("requestId", "")
        return {"request_id": request_id, "path": event.path}
    if isinstance(event, SQSEvent):
        ids = [record.to_dict().get("messageId", "") for record in event]
        keys = {"sqs_message_ids": ",".join(ids)}
        # Page tasks carry the document and job: every log line of the task can be found by them.
        with contextlib.suppress(Exception):
            import json

            body = json.loads(next(iter(event)).body)
            keys.update({k: str(body[k]) for k in ("workspace_id", "document_id", "job_id") if k in body})
        return keys
    return {}


def _lambda_context(event: Any) -> Any:
    if isinstance(event, Request):
        return getattr(event, "lambda_context", None)
    return getattr(event, "context", None)


def observability_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Attach correlation ids to every log line, trace the handler, count errors, flush metrics."""
    context = _lambda_context(event)
    # Per thread: an invocation's keys stay with its own log lines, also where one process runs several
    # functions at once (the local runtime's SQS pollers); on Lambda an invocation is one thread anyway.
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(**_correlation_keys(event))
    if context is not None:
        logger.thread_safe_append_keys(function_name=getattr(context, "function_name", ""),
                                       aws_request_id=getattr(context, "aws_request_id", ""))
    try:
        with subsegment(f"## {type(event).__name__}"):
            return get_response(event)
    except Exception:
        metrics.add_metric(name="HandlerErrors", unit=MetricUnit.Count, value=1)
        logger.exception("handler failed")
        raise
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
        _freeze_init_heap()


@cache  # once per instance
def _freeze_init_heap() -> None:
    """Once, after the instance's first invocation: what the function built to serve it (its modules, boto3's
    service models and clients, the container's services) lives as long as the instance. `gc.freeze` takes it
    out of the cyclic collector's reach, so a full collection walks only what later invocations create. Under
    the router benchmark a function instance's full collections paused it for 40 to 110 ms each (measured with
    `gc.callbacks`), which is where the delivery latency's p99 came from. A full collection first, so the first
    invocation's cyclic garbage (a tiling worker's can be large) is freed rather than frozen: that costs the
    first invocation one collection, tens of milliseconds, once."""
    gc.collect()
    gc.freeze()
