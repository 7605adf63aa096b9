"""The REST API's transport: bearer token, JSON both ways, the API's error body raised as ApiError, paging."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import requests

from kalexo_client import wire
from kalexo_client.errors import ApiError, Failed, ServerError

USER_AGENT = "kalexo-client/0.1"


def error_of_body(body: bytes | bytearray | str, status: int) -> tuple[str, str]:
    """The API's `{"error": {"code", "message"}}`, or a code made from the status when the body is not that
    (a gateway's own answer, a proxy's HTML page)."""
    try:
        error = json.loads(body)["error"]
        return str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        text = bytes(body).decode(errors="replace") if isinstance(body, bytes | bytearray) else body
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "error"
        return f"http_{status}", text.strip()[:300] or reason


def segment(value: str) -> str:
    """One path segment, escaped (ids are plain, but a user's typo should not turn into another route)."""
    return quote(value, safe="")


class Rest:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT,
                                     "Accept": "application/json"})

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Mapping[str, Any] | None = None) -> Any:
        """One call; the decoded JSON answer (None for 204). 4xx raise ApiError, 5xx ServerError, network
        trouble Failed."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        data = wire.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            response = self.session.request(method, self.url(path), params=query, data=data, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            raise Failed(f"{method} {path}: {exc}") from exc
        return self._answer(response)

    @staticmethod
    def _answer(response: requests.Response) -> Any:
        status = response.status_code
        if status >= 400:
            code, message = error_of_body(response.content, status)
            if status >= 500:
                raise ServerError(status, f"{code}: {message}")
            retry = response.headers.get("Retry-After", "")
            raise ApiError(status, code, message, float(retry) if retry.isdigit() else None)
        if status == 204 or not response.content:
            return None
        try:
            return wire.loads(response.content)
        except ValueError as exc:
            raise ServerError(status, f"an answer that is not JSON: {response.text[:200]!r}") from exc

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, body=body if body is not None else {})

    def pages(self, path: str, params: Mapping[str, Any] | None = None, *,
              page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list (`items`, `next_cursor`), page after page as they are read."""
        query = dict(params or {})
        if page_size is not None:
            query["limit"] = page_size
        while True:
            page = self.request("GET", path, params=query)
            yield from page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    def page(self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None,
             cursor: str | None = None) -> dict[str, Any]:
        """One page of a paged list, as the API answered it (`items`, `next_cursor`)."""
        return dict(self.request("GET", path, params={**(params or {}), "limit": limit, "cursor": cursor}))

    def collect(self, path: str, params: Mapping[str, Any] | None = None, *,
                limit: int | None = None) -> list[dict[str, Any]]:
        """The first `limit` items of a list (all of them without one), over as many pages as that takes."""
        out: list[dict[str, Any]] = []
        for item in self.pages(path, params, page_size=min(limit, 100) if limit else 100):
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
        return out
