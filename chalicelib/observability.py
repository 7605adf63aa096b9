"""One logger, tracer and metrics object for the whole app, and the Chalice middleware that wires them.

Powertools reads its own settings from the environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
POWERTOOLS_TRACE_DISABLED). Creating a Powertools Tracer imports and patches the X-Ray SDK (about 250 ms, even
with tracing disabled), so the tracer is created on first use, and not at all where tracing is switched off
(POWERTOOLS_TRACE_DISABLED=true or AWS_XRAY_SDK_ENABLED=false, as on the local stack): importing this module
stays cheap at cold start. The logger and the metrics object are Powertools' too, created when the first line is
logged or the first metric added (importing Powertools is about 5% of a REST or websocket function's cold start,
and a heartbeat or a read logs nothing); the correlation keys an invocation appends before then are kept and
handed to the logger when it is created.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from chalice.app import Request, SQSEvent, WebsocketEvent

from chalicelib.lazy import Deferred

# Most invocations record no metric; flushing then is expected, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer


class _DeferredLogger(Deferred):
    """Until a line is logged, an invocation's correlation keys wait here, per thread (the local runtime runs
    several invocations at once); the thread's first line hands them to the logger."""

    def __init__(self, create: Callable[[], Any]) -> None:
        super().__init__(create)
        self._pending = threading.local()

    def thread_safe_clear_keys(self) -> None:
        self._pending.keys = {}
        if self.created is not None:
            self.created.thread_safe_clear_keys()

    def thread_safe_append_keys(self, **keys: Any) -> None:
        if self.created is None:
            self._pending.keys = {**getattr(self._pending, "keys", {}), **keys}
        else:
            self.created.thread_safe_append_keys(**keys)

    def debug(self, *args: Any, **kwargs: Any) -> None:
        """A debug line creates the logger only where debug lines are written: the websocket `$connect` logs
        each connection at debug level (its event is in the event log), so its cold start imports no
        Powertools (about 20 ms, docs/benchmarks.md, "Cold start")."""
        if self.created is None and not _debug_enabled():
            return
        self.__getattr__("debug")(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        real = self.real()
        pending = getattr(self._pending, "keys", None)
        if pending:
            self._pending.keys = {}
            real.thread_safe_append_keys(**pending)
        return getattr(real, name)


def _debug_enabled() -> bool:
    """The level set in the settings Powertools' Logger reads (Lambda's log level control first) is DEBUG."""
    for setting in ("AWS_LAMBDA_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL", "LOG_LEVEL"):
        if os.environ.get(setting):
            return os.environ[setting].upper() == "DEBUG"
    return False


def _logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service="kalexo")


def _metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="Kalexo", service="kalexo")


_deferred_metrics = Deferred(_metrics)
logger = cast("Logger", _DeferredLogger(_logger))
metrics = cast("Metrics", _deferred_metrics)


def add_count(name: str, value: float = 1) -> None:
    """A Count metric (services use this rather than import Powertools' MetricUnit at module import)."""
    metrics.add_metric(name=name, unit="Count", value=value)


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
        add_count("HandlerErrors")
        logger.exception("handler failed")
        raise
    finally:
        if _deferred_metrics.created is not None:  # none added yet: nothing to flush
            metrics.flush_metrics(raise_on_empty_metrics=False)
        _freeze_init_heap(isinstance(event, SQSEvent))


@cache  # once per instance (a Lambda instance serves one function, so one value of `worker`)
def _freeze_init_heap(worker: bool) -> None:
    """Once, after the instance's first invocation: what the function built to serve it (its modules, boto3's
    service models and clients, the container's services) lives as long as the instance. `gc.freeze` takes it
    out of the cyclic collector's reach, so a full collection walks only what later invocations create. Under
    the router benchmark a function instance's full collections paused it for 40 to 110 ms each (measured with
    `gc.callbacks`), which is where the delivery latency's p99 came from.

    A collection first, so the first invocation's cyclic garbage is freed rather than frozen. A queue worker's
    (a tiling worker's can be large, and may have reached the old generation) gets a full collection; a request
    someone waits for, the young generations only: after a REST or websocket function's import and first
    request a full collection took 26 ms and found 29 objects, the young generations 1 ms."""
    gc.collect() if worker else gc.collect(1)
    gc.freeze()
