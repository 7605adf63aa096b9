"""The web client (web/) served locally, the way a static host (S3 + CloudFront) would serve it on AWS, plus
the things a static host is given at deploy time:

- `/config.json`: where the REST and websocket APIs are (on AWS, a file deployed next to the static site);
- `/dev/users.json`: the seeded users with fresh tokens, so a developer can sign in with one click. It exists
  only here, in the local runtime; the deployed site signs in with a token the operator issues;
- `/source.tar.gz`: the source of what runs (the AGPL's offer; `git archive HEAD` of this checkout).

OpenSeadragon comes from web/node_modules (installed by `npm ci`, see the Makefile) under `/vendor/`.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from infra.publish_site import SOURCE_KEY, source_archive
from local import seed
from local.config import RuntimeConfig
from local.lambda_runtime import PROJECT_DIR
from local.log import log

WEB_DIR = PROJECT_DIR / "web"
VENDOR = {"openseadragon": WEB_DIR / "node_modules" / "openseadragon" / "build" / "openseadragon"}
NO_CACHE = {"Cache-Control": "no-cache"}  # a developer's edit shows on reload; ETag/Last-Modified still apply


def create_web_app(cfg: RuntimeConfig, env: dict[str, str]) -> web.Application:
    from local.banner import app_container

    container = app_container(env)

    async def config(_: web.Request) -> web.Response:
        return web.json_response({"api": cfg.rest_url, "websocket": cfg.ws_url, "stage": "local",
                                  "dev_users": "dev/users.json", "source": SOURCE_KEY}, headers=NO_CACHE)

    async def source(_: web.Request) -> web.Response:  # as the deployed site offers it (infra/publish_site.py)
        body = await asyncio.to_thread(source_archive, False)
        return web.Response(body=body, content_type="application/gzip", headers={
            **NO_CACHE, "Content-Disposition": 'attachment; filename="kalexo-teamwork-source.tar.gz"'})

    def users() -> list[dict[str, str | None]]:
        return [{"user_id": u.user_id, "name": u.name, "role": u.role.value, "workspace_role": u.workspace_role,
                 "token": seed.token_for(container, u.user_id)} for u in seed.USERS]

    async def dev_users(_: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(users), headers={"Cache-Control": "no-store"})

    async def static(request: web.Request) -> web.StreamResponse:
        name, base = request.match_info["path"] or "index.html", WEB_DIR
        if name.startswith("vendor/"):
            package, _, name = name.removeprefix("vendor/").partition("/")
            if package not in VENDOR:
                raise web.HTTPNotFound()
            base = VENDOR[package]
        path = (base / name).resolve()
        private = base == WEB_DIR and (path.is_relative_to(WEB_DIR / "node_modules") or path.name.startswith("package"))
        if private or not path.is_relative_to(base) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=NO_CACHE)

    app = web.Application()
    app.router.add_get("/config.json", config)
    app.router.add_get(f"/{SOURCE_KEY}", source)
    app.router.add_get("/dev/users.json", dev_users)
    app.router.add_get("/{path:.*}", static)
    return app


class WebServer:
    """The web client's server, on an event loop of its own in a thread of the supervisor: it only reads
    files and issues dev tokens, so it needs no process of its own."""

    def __init__(self, cfg: RuntimeConfig, env: dict[str, str]) -> None:
        self.cfg, self.env = cfg, env
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def start(self, timeout: float = 30.0) -> int:
        """Serve, and return the port (another free one when the default is taken)."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the web client's server did not start in {timeout:.0f}s")
        if self._error is not None:
            raise RuntimeError(f"the web client's server failed to start: {self._error}")
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=3)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(create_web_app(self.cfg, self.env), handle_signals=False, access_log=None,
                               shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self.cfg.web_port).start()
        except OSError:
            if not self.cfg.web_port_fallback:
                raise
            await web.TCPSite(runner, "127.0.0.1", 0).start()  # the default port is taken: any free one will do
            log("web", f"port {self.cfg.web_port} is taken (another stack?): using a free one")
        self.port = int(runner.addresses[-1][1])
        if not VENDOR["openseadragon"].is_dir():
            log("web", "web/node_modules is missing: run `make web` (npm ci) or the viewer cannot load")
        log("web", f"serving the web client at http://127.0.0.1:{self.port}")
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
