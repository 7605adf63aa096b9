"""Runs the app's functions the way Lambda does: import the handler by its handler string, call it with
(event, context), with the per-function name, memory and timeout from .chalice/config.json."""

from __future__ import annotations

import cProfile
import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config

from local.log import log

PROJECT_DIR = Path(__file__).resolve().parent.parent


class LambdaContext:
    """The attributes and method of the context object Lambda hands a Python handler."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int, region: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Function:
    name: str
    handler_string: str
    memory_mb: int
    timeout_s: int
    handler: Callable[[dict[str, Any], Any], Any]


class AppFunctions:
    """The Chalice app imported once per process, and its functions by name."""

    def __init__(self, config_stage: str, deployed_stage: str, region: str) -> None:
        began = time.monotonic()
        if str(PROJECT_DIR) not in sys.path:
            sys.path.insert(0, str(PROJECT_DIR))
        factory = CLIFactory(str(PROJECT_DIR))
        self.config: Config = factory.create_config_obj(chalice_stage_name=config_stage)
        self.app: Chalice = importlib.import_module("app").app
        self._config_stage = config_stage
        self._deployed_stage = deployed_stage
        self._region = region
        self._lock = threading.Lock()
        # KALEXO_LOCAL_REPORTS=1: a line per invocation as Lambda's REPORT, and the INIT (the app's import) of
        # this process; bench.pipeline reads them to cost a pipeline run. Local tooling only.
        self._reports = os.environ.get("KALEXO_LOCAL_REPORTS") == "1"
        if self._reports:
            log("lambda", f"INIT app duration_ms={(time.monotonic() - began) * 1000:.1f}")

    def function(self, name: str, handler_string: str) -> Function:
        scoped = self.config.scope(self._config_stage, name)
        module_name, _, attribute = handler_string.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        return Function(name=name, handler_string=handler_string, memory_mb=scoped.lambda_memory_size or 128,
                        timeout_s=scoped.lambda_timeout or 60, handler=handler)

    @staticmethod
    def _profiler(function: Function) -> cProfile.Profile | None:
        """KALEXO_LOCAL_PROFILE=name,name and KALEXO_LOCAL_PROFILE_DIR=dir: a cProfile file per invocation of
        those functions (local tooling only: where a function's CPU goes, as `bench.pipeline` counts it)."""
        names = os.environ.get("KALEXO_LOCAL_PROFILE", "").split(",")
        return cProfile.Profile() if function.name in names and os.environ.get("KALEXO_LOCAL_PROFILE_DIR") else None

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        full_name = f"{self.app.app_name}-{self._deployed_stage}-{function.name}"
        context = LambdaContext(full_name, function.memory_mb, function.timeout_s, self._region)
        started, cpu = time.monotonic(), time.thread_time()
        profile = self._profiler(function)
        try:
            result = function.handler(event, context) if profile is None else profile.runcall(function.handler,
                                                                                              event, context)
        finally:
            if profile is not None:
                profile.dump_stats(os.path.join(os.environ["KALEXO_LOCAL_PROFILE_DIR"],
                                                f"{function.name}-{time.time_ns()}.prof"))
            elapsed = time.monotonic() - started
            if self._reports:
                log("lambda", f"REPORT {function.name} duration_ms={elapsed * 1000:.1f} "
                              f"cpu_ms={(time.thread_time() - cpu) * 1000:.1f} memory_mb={function.memory_mb}")
        if elapsed > function.timeout_s:
            # Lambda would have killed this invocation: report it as the failure it would have been, so an
            # SQS batch is retried rather than deleted.
            log("lambda", f"{function.name} ran {elapsed:.1f}s, past its {function.timeout_s}s timeout")
            raise TimeoutError(f"Task timed out after {function.timeout_s} seconds")
        return result
