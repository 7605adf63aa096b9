"""One logger, tracer and metrics object for the whole app, and the Chalice middleware that wires them.

Powertools reads its own settings from the environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
POWERTOOLS_TRACE_DISABLED). The tracer loads the X-Ray SDK lazily and is silent where there is no daemon
(AWS_XRAY_SDK_ENABLED=false locally), so importing this module stays cheap at cold start.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, SQSEvent, WebsocketEvent

# Most invocations record no metric; flushing then is expected, not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="kalexo")
tracer = Tracer(service="kalexo")
metrics = Metrics(namespace="Kalexo", service="kalexo")


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
        return {"sqs_message_ids": ",".join(ids)}
    return {}


def _lambda_context(event: Any) -> Any:
    if isinstance(event, Request):
        return getattr(event, "lambda_context", None)
    return getattr(event, "context", None)


def observability_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Attach correlation ids to every log line, trace the handler, count errors, flush metrics."""
    context = _lambda_context(event)
    logger.remove_keys(["connection_id", "route", "request_id", "path", "sqs_message_ids"])
    logger.append_keys(**_correlation_keys(event))
    if context is not None:
        logger.append_keys(function_name=getattr(context, "function_name", ""),
                           aws_request_id=getattr(context, "aws_request_id", ""))
    try:
        with tracer.provider.in_subsegment(f"## {type(event).__name__}"):
            return get_response(event)
    except Exception:
        metrics.add_metric(name="HandlerErrors", unit=MetricUnit.Count, value=1)
        logger.exception("handler failed")
        raise
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
