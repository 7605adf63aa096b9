"""EventBridge schedules, locally: each `@app.schedule(Rate(...))` function is invoked at its rate with the
scheduled event's shape. Cron expressions are not evaluated locally (the app uses none); they are logged."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from chalice.app import Rate, ScheduledEventConfig

from local.lambda_runtime import AppFunctions
from local.log import log

_SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


def scheduled_event(rule: str, region: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": region, "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule}"], "detail": {}}


def start_schedules(functions: AppFunctions, region: str, stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for source in functions.app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        expression = source.schedule_expression
        if not isinstance(expression, Rate):
            log("schedule", f"{source.name}: {expression!r} is not run locally (only Rate schedules are)")
            continue
        period = expression.value * _SECONDS[expression.unit]
        function = functions.function(source.name, source.handler_string)

        def loop(period: float = period, name: str = source.name, fn: Any = function) -> None:
            while not stop.wait(period):
                try:
                    functions.invoke(fn, scheduled_event(name, region))
                except Exception as exc:
                    log("schedule", f"{name} failed: {exc!r}")

        thread = threading.Thread(target=loop, name=f"schedule-{source.name}", daemon=True)
        thread.start()
        threads.append(thread)
        log("schedule", f"{source.name} every {period}s")
    return threads
