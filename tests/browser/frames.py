"""Holding what the server tells a browser, to see each step of a document's processing as a member sees it.
Manifest reads of the document wait, and are answered with as many of its finished pages as the test allows
(HeldManifests); for another member, the websocket's frames from the server also pass through until the
document's `tiling` status arrives, then wait, in order, until the test lets them go (HeldProcessing).
Nothing is invented: every frame and every page is the server's own, only later (tiling is faster than a
person can watch, and progress is coalesced)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

MANIFEST = re.compile(r"/workspaces/[^/]+/documents/[^/?]+(\?.*)?$")


class HeldManifests:
    """Reads of one document's manifest (of any, until `focus` names it) wait for `answer` or `release`."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.document: str | None = None
        self.holding = True
        self.reads: list[Any] = []
        page.route(MANIFEST, self._read)

    def _read(self, route: Any) -> None:
        if self.holding and route.request.method == "GET" and (not self.document or
                                                                self.document in route.request.url):
            self.reads.append(route)
        else:
            route.fallback()

    def focus(self, document: str) -> None:
        """From now on only this document's reads wait; the others held so far go on."""
        self.document = document
        for route in [r for r in self.reads if document not in r.request.url]:
            self.reads.remove(route)
            route.fallback()

    def answer(self, pages: int, timeout: float = 60.0) -> None:
        """The next read, answered once the server has `pages` pages finished, with those pages only."""
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

    def release(self) -> None:
        self.holding = False
        for route in self.reads:
            route.fallback()
        self.reads.clear()

    def stop(self) -> None:
        self.release()
        self.page.unroute(MANIFEST, self._read)


class HeldProcessing:
    """A member's view of the named document's processing, step by step: its manifest reads held, and the
    server's frames held from the document's `tiling` status on."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.manifests = HeldManifests(page)
        self.paused = False
        self.frames: list[str | bytes] = []
        self.client: Any = None
        page.route_web_socket(lambda url: url.startswith("ws"), self._connect)

    def _connect(self, ws: Any) -> None:
        self.client = ws
        ws.connect_to_server().on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        if self.paused:
            self.frames.append(message)
            return
        self.client.send(message)
        fields = _item_fields(message)
        if fields.get("name") == self.name and fields.get("document_id"):
            self.manifests.focus(str(fields["document_id"]))
        if self._is_status(message, "tiling"):
            self.paused = True

    def _is_status(self, message: str | bytes, status: str) -> bool:
        msg = json.loads(message) if isinstance(message, str) else {}
        data = (msg.get("op") or {}).get("data") or {} if msg.get("action") == "op" else {}
        return bool(self.manifests.document) and data.get("item_id") == f"doc:{self.manifests.document}" and \
            (data.get("fields") or {}).get("status") == status

    def answer_read(self, pages: int) -> None:
        """The page's next manifest read, answered with `pages` pages. Frames held since the `tiling` status go
        on first, in order, until the page reads: the read may need one of them (an op that arrived after the
        status, filling a gap in the sequence, or the answer to the history request a gap makes)."""
        self.release_until_read()
        self.manifests.answer(pages)

    def release_until_read(self, timeout: float = 60.0) -> None:
        """Let frames go, in order, until the page reads the document's manifest again (a progress message
        has it do so)."""
        deadline = time.monotonic() + timeout
        while not self.manifests.reads:
            assert time.monotonic() < deadline, f"the page never read the manifest (paused: {self.paused}, " \
                f"document: {self.manifests.document}, frames held: {[str(f)[:200] for f in self.frames[:5]]})"
            if not self.frames:
                self.page.wait_for_timeout(100)
                continue
            message = self.frames.pop(0)
            self.client.send(message)
            assert not self._is_status(message, "ready"), "the document was ready before any progress message"
            self.page.wait_for_timeout(50)

    def release(self) -> None:
        self.paused = False
        while self.frames:
            self.client.send(self.frames.pop(0))
        self.manifests.release()


def _item_fields(message: str | bytes) -> dict[str, Any]:
    msg = json.loads(message) if isinstance(message, str) else {}
    data = (msg.get("op") or {}).get("data") or {} if msg.get("action") == "op" else {}
    return dict(data.get("fields") or {})
