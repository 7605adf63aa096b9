"""The AWS emulator process: moto's server, with one correction so browsers can upload with presigned URLs,
and DynamoDB's atomic conditional writes (local/emulator_faults.py, which also injects failures for tests).

A browser's PUT to a presigned URL is preceded by a CORS preflight (`OPTIONS`, no body, no Content-Type, no
credentials). S3 answers a preflight from the bucket's CORS rules alone. moto 5.2 first checks the presigned
URL's signed metadata against the request's headers when the object does not exist yet: the preflight has
no Content-Type, so moto answers 403 SignatureDoesNotMatch and the browser never sends the PUT. Here a
preflight to an object goes straight to moto's own bucket-CORS answer (the one it gives for bucket URLs),
which is what S3 does; every other request is unchanged.
"""

from __future__ import annotations

import sys
from typing import Any


def _answer_preflights_from_bucket_cors() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._key_response

    def _key_response(self: Any, request: Any, full_url: str) -> Any:
        if request.method == "OPTIONS":
            return self._response_options(request.headers, self.parse_bucket_name_from_url(request, full_url))
        return original(self, request, full_url)

    S3Response._key_response = _key_response  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    import gc
    import threading

    from moto.server import main as moto_main

    from local import emulator_faults

    _answer_preflights_from_bucket_cors()
    emulator_faults.install()  # DynamoDB requests one at a time, and failures on purpose
    # moto keeps everything in one Python heap: its service models, the deployed stack, every item and object.
    # Full cyclic collections walk all of it, and paused the emulator 100-130 ms at a time under the router
    # benchmark. Freezing what exists after start-up (the deploy and the seed happen in the first seconds)
    # keeps those collections to what requests create since. Local tooling only: nothing of the app changes.
    gc.freeze()
    for delay in (5, 15, 30, 60):
        timer = threading.Timer(delay, gc.freeze)
        timer.daemon = True
        timer.start()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
