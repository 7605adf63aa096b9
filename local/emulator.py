"""The AWS emulator process: moto's server, with one correction so browsers can upload with presigned URLs,
and DynamoDB's atomic conditional writes (local/emulator_dynamodb.py, which also injects failures for tests).

A browser's PUT to a presigned URL is preceded by a CORS preflight (`OPTIONS`, no body, no Content-Type, no
credentials). S3 answers a preflight from the bucket's CORS rules alone. moto 5.2 first checks the presigned
URL's signed metadata against the request's headers when the object does not exist yet: the preflight has
no Content-Type, so moto answers 403 SignatureDoesNotMatch and the browser never sends the PUT. Here a
preflight to an object goes straight to moto's own bucket-CORS answer (the one it gives for bucket URLs),
which is what S3 does; every other request is unchanged.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from local.config import LOCAL_RUNTIME_AGENT
from local.emulator_capacity import HEADER


def _answer_preflights_from_bucket_cors() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._key_response

    def _key_response(self: Any, request: Any, full_url: str) -> Any:
        if request.method == "OPTIONS":
            return self._response_options(request.headers, self.parse_bucket_name_from_url(request, full_url))
        return original(self, request, full_url)

    S3Response._key_response = _key_response  # type: ignore[method-assign]


def _remember_backends_by_host() -> None:
    """moto matches each request's host against every service's URL patterns (and lists its modules) anew:
    a tenth of the emulator's time under the router benchmark. The answer for a host never changes."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _access_log(app: Any) -> Any:
    """One line per request on stdout (the supervisor writes it to emulator.log; the benchmarks count AWS
    calls from it), in the shape werkzeug's server wrote, then the JSON protocols' target (the DynamoDB action),
    the milliseconds it took to answer and, for DynamoDB, `units=<read>/<write>`: the capacity units the request
    would consume on AWS (local/emulator_capacity.py); ` local-runtime` ends the line of a request the local
    runtime made for itself (LOCAL_RUNTIME_AGENT), which AWS would not see."""

    def logged(environ: dict[str, Any], start_response: Any) -> Any:
        began = time.monotonic()
        own = LOCAL_RUNTIME_AGENT in environ.get("HTTP_USER_AGENT", "")

        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            units = next((v for k, v in headers if k.lower() == HEADER), None)
            sys.stdout.write(f'{environ.get("REMOTE_ADDR", "-")} - - [{time.strftime("%d/%b/%Y %H:%M:%S")}] '
                             f'"{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")} '
                             f'{environ.get("SERVER_PROTOCOL", "")}" {status.split(" ", 1)[0]} - '
                             f'{environ.get("HTTP_X_AMZ_TARGET", "-")} {(time.monotonic() - began) * 1000:.1f}ms'
                             f'{f" units={units}" if units else ""}{" local-runtime" if own else ""}\n')
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def _remember_handler_methods() -> None:
    """moto lists every method of a response class (inspect.getmembers) on every request to find the action's:
    half a millisecond a request. A class's methods do not change."""
    import functools

    import moto.core.responses
    import moto.core.utils

    moto.core.responses.method_names_from_class = functools.cache(  # type: ignore[attr-defined]
        moto.core.utils.method_names_from_class)


def _notifications_with_version_ids() -> None:
    """moto 5.2's S3 event records carry no `versionId` and a constant `sequencer`. S3 sends both: the
    version that was written (on a versioned bucket) and a hex string that orders the events of one key.
    The ingest tells versions of a document apart by `versionId`; without it every version read "null"."""
    import itertools

    from moto.s3 import notifications

    original = notifications._get_s3_event
    sequence = itertools.count(int(time.time() * 1000) << 16)

    def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        record = event["Records"][0]["s3"]["object"]
        if getattr(key, "_version_id", None):
            record["versionId"] = key.version_id
        record["sequencer"] = f"{next(sequence):016X}"
        return event

    notifications._get_s3_event = _get_s3_event


def main(argv: list[str]) -> None:
    import argparse
    import gc
    import threading

    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from local import emulator_cloudformation, emulator_deploy, emulator_dynamodb, emulator_s3

    parser = argparse.ArgumentParser(prog="python -m local.emulator")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    _answer_preflights_from_bucket_cors()
    _remember_backends_by_host()
    _remember_handler_methods()
    _notifications_with_version_ids()
    emulator_dynamodb.install()  # DynamoDB requests one at a time, and failures on purpose
    emulator_s3.install()  # writes that change a key's versions one at a time, listed in the order GET sees
    emulator_deploy.install()  # chalice deploy's Swagger 2.0 REST API (the deploy rehearsal)
    emulator_cloudformation.install()  # the template's alarms
    # moto keeps everything in one Python heap: its service models, the deployed stack, every item and object.
    # Full cyclic collections walk all of it, and paused the emulator 100-130 ms at a time under the router
    # benchmark. Freezing what exists after start-up (the deploy and the seed happen in the first seconds)
    # keeps those collections to what requests create since. Local tooling only: nothing of the app changes.
    gc.freeze()
    for delay in (5, 15, 30, 60):
        timer = threading.Timer(delay, gc.freeze)
        timer.daemon = True
        timer.start()
    # moto's own server (werkzeug's development server) closes the connection after every request: a new
    # TCP connection and thread for each AWS call, 8.5 ms a GetItem. waitress keeps connections alive:
    # 3.2 ms. Same moto application, same wire protocol. Threads: SQS long polls (every worker polls every queue)
    # hold one each for up to 20 s, so there must be plenty besides them.
    app: Any = DomainDispatcherApplication(create_backend_app)
    state = os.environ.get("KALEXO_EMULATOR_STATE")
    if state:  # what people put in the local stack survives a restart (local/emulator_persistence.py)
        from pathlib import Path

        from local import emulator_durable

        app = emulator_durable.serve(app, emulator_durable.install(Path(state)))
    from local import emulator_presigned

    app = emulator_presigned.checked(app)  # presigned URLs' signatures and expiry, as S3 checks them
    waitress.serve(_access_log(app), host=args.host, port=args.port, threads=64, connection_limit=1000, _quiet=True,
                   max_request_body_size=6 * 1024**3)


if __name__ == "__main__":
    main(sys.argv[1:])
