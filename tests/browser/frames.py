"""Holding what the server tells one browser, to see each step of a document's processing as that member sees
it: the websocket's frames from the server pass through until the named document's `tiling` status arrives,
then wait (in order) until the test lets them go; the document's manifest reads wait likewise, and are answered
with as many of its finished pages as the test allows. Nothing is invented: every frame and every page is the
server's own, only later (tiling is faster than a person can watch, and progress is coalesced)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

MANIFEST = re.compile(r"/workspaces/[^/]+/documents/[^/?]+(\?.*)?$")


class HeldProcessing:
    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.document: str | None = None
        self.paused = False
        self.frames: list[str | bytes] = []
        self.reads: list[Any] = []
        self.client: Any = None
        self.holding_reads = True
        page.route_web_socket(lambda url: url.startswith("ws"), self._connect)
        page.route(MANIFEST, self._read)

    def _connect(self, ws: Any) -> None:
        self.client = ws
        ws.connect_to_server().on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        if self.paused:
            self.frames.append(message)
            return
        self.client.send(message)
        msg = json.loads(message) if isinstance(message, str) else {}
        data = (msg.get("op") or {}).get("data") or {} if msg.get("action") == "op" else {}
        fields = data.get("fields") or {}
        if fields.get("name") == self.name and fields.get("document_id"):
            self.document = str(fields["document_id"])
        if self.document and data.get("item_id") == f"doc:{self.document}" and fields.get("status") == "tiling":
            self.paused = True

    def _read(self, route: Any) -> None:
        if self.holding_reads and route.request.method == "GET" and self.document and \
                self.document in route.request.url:
            self.reads.append(route)
        else:
            route.fallback()

    def answer_read(self, pages: int, timeout: float = 60.0) -> None:
        """The next manifest read of the document, answered once the server has `pages` pages finished, with
        those pages only."""
        deadline = time.monotonic() + timeout
        while not self.reads:
            assert time.monotonic() < deadline, "no manifest read"
            self.page.wait_for_timeout(100)
        route = self.reads.pop(0)
        while True:
            answer = route.fetch()
            manifest = answer.json()
            if len(manifest["pages"]) >= pages:
                route.fulfill(response=answer, json={**manifest, "pages": manifest["pages"][:pages]})
                return
            assert time.monotonic() < deadline, f"the server never had {pages} pages done"
            self.page.wait_for_timeout(200)

    def release_until_read(self, timeout: float = 60.0) -> None:
        """Let frames go, in order, until the page reads the document's manifest again (a progress message
        has it do so)."""
        deadline = time.monotonic() + timeout
        while not self.reads:
            assert time.monotonic() < deadline, "the page never read the manifest again"
            if not self.frames:
                self.page.wait_for_timeout(100)
                continue
            message = self.frames.pop(0)
            self.client.send(message)
            msg = json.loads(message) if isinstance(message, str) else {}
            data = (msg.get("op") or {}).get("data") or {} if msg.get("action") == "op" else {}
            assert not (data.get("item_id") == f"doc:{self.document}" and (data.get("fields") or {}).get(
                "status") == "ready"), "the document was ready before any progress message"
            self.page.wait_for_timeout(50)

    def release(self) -> None:
        self.paused = self.holding_reads = False
        while self.frames:
            self.client.send(self.frames.pop(0))
        for route in self.reads:
            route.fallback()
        self.reads.clear()
