"""The one-machine runtime: emulator, REST and websocket gateways, SQS pollers. Never packaged to Lambda."""
