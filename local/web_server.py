"""The web client (web/) served locally, the way a static host (S3 + CloudFront) would serve it on AWS, plus
the two things a static host is given at deploy time:

- `/config.json`: where the REST and websocket APIs are (on AWS, a file deployed next to the static site);
- `/dev/users.json`: the seeded users with fresh tokens, so a developer can sign in with one click. It exists
  only here, in the local runtime; the deployed site signs in with a token the operator issues.

OpenSeadragon comes from web/node_modules (installed by `npm ci`, see the Makefile) under `/vendor/`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from aiohttp import web

from local import seed
from local.config import RuntimeConfig
from local.lambda_runtime import PROJECT_DIR
from local.log import log

WEB_DIR = PROJECT_DIR / "web"
VENDOR = {"openseadragon": WEB_DIR / "node_modules" / "openseadragon" / "build" / "openseadragon"}
PORT_FILE = "web.port"  # the port actually bound, for the supervisor's banner
NO_CACHE = {"Cache-Control": "no-cache"}  # a developer's edit shows on reload; ETag/Last-Modified still apply


def create_web_app(cfg: RuntimeConfig, env: dict[str, str]) -> web.Application:
    from local.banner import app_container

    container = app_container(env)

    async def config(_: web.Request) -> web.Response:
        return web.json_response({"api": cfg.rest_url, "websocket": cfg.ws_url, "stage": "local",
                                  "dev_users": "dev/users.json"}, headers=NO_CACHE)

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
    app.router.add_get("/dev/users.json", dev_users)
    app.router.add_get("/{path:.*}", static)
    return app


async def _serve(cfg: RuntimeConfig, env: dict[str, str], stop: asyncio.Event) -> None:
    runner = web.AppRunner(create_web_app(cfg, env), handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", cfg.web_port)
    try:
        await site.start()
    except OSError:
        if not cfg.web_port_fallback:
            raise
        site = web.TCPSite(runner, "127.0.0.1", 0)  # the default port is taken: any free one will do
        await site.start()
    port = int(runner.addresses[-1][1])
    (cfg.state_path / PORT_FILE).write_text(str(port))
    if not VENDOR["openseadragon"].is_dir():
        log("web", "web/node_modules is missing: run `make web` (npm ci) or the viewer cannot load")
    log("web", f"serving the web client at http://127.0.0.1:{port}")
    await stop.wait()
    await runner.cleanup()


def run_web_server(cfg: RuntimeConfig) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _serve(cfg, dict(os.environ), stop)

    asyncio.run(main())


def bound_port(state_dir: Path) -> int | None:
    path = state_dir / PORT_FILE
    return int(path.read_text()) if path.exists() else None

