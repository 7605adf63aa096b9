"""One line per runtime event on stderr, prefixed with the component, so `make run` output stays readable."""

from __future__ import annotations

import sys
import time


def log(component: str, message: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} [{component}] {message}\n")
    sys.stderr.flush()
