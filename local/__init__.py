"""The one-machine runtime: emulator, REST and websocket gateways, SQS pollers. Never packaged to Lambda."""

from local.gc_trace import install_from_env

install_from_env()
