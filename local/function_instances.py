"""Websocket function instances: the gateway hands each $connect/$default/$disconnect event to a separate
process, as API Gateway hands it to a Lambda instance, rather than running it in a thread of its own.

Each instance imports the app once, keeps its own boto3 clients and caches, and runs one invocation at a time
(Lambda's concurrency per instance), so a function's CPU work (SigV4 signing, fan-out posts) no longer
competes for the gateway's GIL, and one invocation's log and correlation keys never mix with another's.
A fixed pool of warm instances is started with the gateway. An event goes to the lowest-numbered idle
instance: as on Lambda, a warm instance is reused while it keeps up, and more of them run only when events
overlap; when all are busy, events wait for the first one free.

The pipe between gateway and instance is a socket pair: a 4-byte big-endian length, then JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import json
import signal
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from local.lambda_runtime import PROJECT_DIR, AppFunctions, Function
from local.log import log
from local.stalls import Stalls

_LENGTH = struct.Struct(">I")


class FunctionError(Exception):
    """The invocation raised, or its instance died; the message is the instance's repr of the error."""


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass(eq=False)
class _Instance:
    index: int
    process: subprocess.Popen[bytes]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(message).encode()
        self.writer.write(_LENGTH.pack(len(data)) + data)
        await self.writer.drain()
        size, = _LENGTH.unpack(await self.reader.readexactly(_LENGTH.size))
        reply: dict[str, Any] = json.loads(await self.reader.readexactly(size))
        return reply


class FunctionInstances:
    """The gateway's side: a pool of warm instance processes, one invocation at a time each."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._instances: list[_Instance | None] = [None] * self.size
        self._idle = list(range(self.size))  # a heap: the lowest index first
        self._freed = asyncio.Condition()
        self.stalls = Stalls()  # faults on purpose (local/stalls.py)

    async def start(self) -> None:
        """Start every instance and wait until each has imported the app (no cold start under load)."""
        await asyncio.gather(*(self._start(i) for i in range(self.size)))

    async def _start(self, index: int) -> _Instance:
        ours, theirs = socket.socketpair()
        process = subprocess.Popen([sys.executable, "-m", "local", "ws-function", str(theirs.fileno())],
                                   cwd=PROJECT_DIR, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent)
        theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        instance = _Instance(index, process, reader, writer)
        try:
            ready = await instance.call({"ready": True})
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise RuntimeError(f"websocket function instance {index} did not start: {exc!r}") from exc
        if not ready.get("ready"):
            raise RuntimeError(f"websocket function instance {index} did not start: {ready}")
        self._instances[index] = instance
        return instance

    async def invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        async with self._freed:
            await self._freed.wait_for(lambda: bool(self._idle))
            index = heapq.heappop(self._idle)
        try:
            reply = await self._call(index, {"route": route_key, "event": event})
        finally:
            async with self._freed:
                heapq.heappush(self._idle, index)
                self._freed.notify_all()  # a waiting `drain` must not take the wake-up an invocation waits for
        if "error" in reply:
            raise FunctionError(reply["error"])
        return reply.get("result")

    async def _call(self, index: int, message: dict[str, Any]) -> dict[str, Any]:
        instance = self._instances[index]
        if instance is None or instance.process.poll() is not None:
            # The instance died (a crash, or killed): Lambda would start a new one for the next event.
            if instance is not None:
                log("lambda", f"websocket function instance {index} exited with {instance.process.returncode}; "
                              "starting a new one")
                instance.writer.close()
            instance = await self._start(index)
        order = self.stalls.take(str(message.get("route")))
        if order is not None:
            self.stalls.apply(order, instance.process.pid)
        try:
            return await instance.call(message)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self._instances[index] = None
            raise FunctionError(f"the function instance died: {exc!r}") from exc

    async def drain(self, timeout_s: float) -> bool:
        """Wait until no invocation is running (True), or `timeout_s` passes (False): at shutdown, the
        invocations under way (a `$default` posting its fan-out) finish while the management API they post
        to still answers."""
        async with self._freed:
            try:
                await asyncio.wait_for(self._freed.wait_for(lambda: len(self._idle) == self.size), timeout_s)
            except TimeoutError:
                return False
        return True

    async def close(self, grace_s: float = 2.0) -> None:
        """End of input stops an instance; one that is still busy after the grace is killed."""
        instances = [i for i in self._instances if i is not None]
        for instance in instances:
            instance.writer.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        for instance in instances:
            while instance.process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.05)
            if instance.process.poll() is None:
                instance.process.kill()
                instance.process.wait()


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, default=str).encode()
    sock.sendall(_LENGTH.pack(len(data)) + data)


def serve_instance(fd: int, config_stage: str, stage: str, region: str) -> None:
    """An instance's side: import the app, then invoke one event at a time until the gateway goes away."""
    # Ctrl-C reaches the whole process group: the gateway decides when its instances stop (end of input),
    # so $disconnect events of its last connections still run.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=fd)
    functions = AppFunctions(config_stage, stage, region)
    routes: dict[str, Function] = {
        route_key: functions.function(config.name, config.handler_string)
        for route_key, config in functions.app.websocket_handlers.items()
    }
    while (header := _recv_exactly(sock, _LENGTH.size)) is not None:
        body = _recv_exactly(sock, _LENGTH.unpack(header)[0])
        if body is None:
            break
        request = json.loads(body)
        if request.get("ready"):
            _send(sock, {"ready": True})
            continue
        try:
            result = functions.invoke(routes[request["route"]], request["event"])
        except Exception as exc:  # reported to the gateway, which answers as API Gateway does
            _send(sock, {"error": repr(exc)})
        else:
            _send(sock, {"result": result})
    with contextlib.suppress(OSError):
        sock.close()
