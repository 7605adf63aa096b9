"""Where the command line finds its API, websocket URL, token and default workspace.

Each setting comes from the first of: the command-line option, the environment (KALEXO_API_URL, KALEXO_WS_URL,
KALEXO_TOKEN, KALEXO_WORKSPACE, KALEXO_OUTPUT), the profile file. The profile file is TOML,
`$KALEXO_CONFIG` or `~/.config/kalexo/config.toml`, one table per profile (`--profile`, KALEXO_PROFILE,
else `default`):

    [default]
    api_url = "http://127.0.0.1:8000"
    ws_url = "ws://127.0.0.1:8001"
    token_file = "~/.config/kalexo/alice.token"   # or token = "..."
    workspace = "ws-demo"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from kalexo_client.api import KalexoApi
from kalexo_client.wire import redact

KEYS = ("api_url", "ws_url", "token", "token_file", "workspace", "output")


def config_path() -> Path:
    explicit = os.environ.get("KALEXO_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "kalexo" / "config.toml"


def read_profile(name: str | None) -> dict[str, Any]:
    """The profile's settings; a profile named explicitly must exist, `default` may be absent."""
    path = config_path()
    wanted = name or "default"
    try:
        profiles = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if os.environ.get("KALEXO_CONFIG"):  # named on purpose: a typo must not silently mean no profile
            raise click.UsageError(f"KALEXO_CONFIG names {path}, which does not exist") from None
        if name is not None:
            raise click.UsageError(f"profile {name!r} asked for, but there is no profile file at {path}") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.UsageError(f"the profile file {path} cannot be read: {exc}") from exc
    profile = profiles.get(wanted)
    if profile is None:
        if name is not None:
            raise click.UsageError(f"no profile [{wanted}] in {path}")
        return {}
    if not isinstance(profile, dict):
        raise click.UsageError(f"[{wanted}] in {path} is not a table")
    unknown = sorted(set(profile) - set(KEYS))
    if unknown:
        raise click.UsageError(f"[{wanted}] in {path}: unknown keys {unknown} (known: {', '.join(KEYS)})")
    return profile


def check_ws_url(url: str) -> str:
    """A websocket URL or a usage error: an http:// URL (the REST API's, say) would only fail later, with the
    token in the message."""
    scheme = urlsplit(url).scheme
    if scheme not in ("ws", "wss"):
        raise click.UsageError(f"the websocket URL must start with ws:// or wss:// (got {redact(url)!r})")
    return url


@dataclass
class Config:
    api_url: str | None
    ws_url: str | None
    token: str | None
    workspace: str | None
    output: str

    @classmethod
    def resolve(cls, *, profile: str | None, api_url: str | None, ws_url: str | None, token: str | None,
                workspace: str | None, output: str | None) -> Config:
        saved = read_profile(profile)
        if token is None and saved.get("token") is None and saved.get("token_file"):
            token_file = Path(str(saved["token_file"])).expanduser()
            try:
                token = token_file.read_text().strip()
            except OSError as exc:
                raise click.UsageError(f"token_file {token_file}: {exc.strerror}") from exc
        return cls(api_url=api_url or saved.get("api_url"), ws_url=ws_url or saved.get("ws_url"),
                   token=token or saved.get("token"), workspace=workspace or saved.get("workspace"),
                   output=output or str(saved.get("output") or "table"))

    def api(self) -> KalexoApi:
        if not self.api_url:
            raise click.UsageError("no API URL: set KALEXO_API_URL (or --api-url, or api_url in the profile)")
        return KalexoApi(self.api_url, self.need_token())

    def need_token(self) -> str:
        if not self.token:
            raise click.UsageError("no token: set KALEXO_TOKEN (or --token, or token / token_file in the profile)")
        return self.token

    def need_ws_url(self) -> str:
        if not self.ws_url:
            raise click.UsageError("no websocket URL: set KALEXO_WS_URL (or --ws-url, or ws_url in the profile)")
        return check_ws_url(self.ws_url)

    def need_workspace(self, given: str | None) -> str:
        workspace = given or self.workspace
        if not workspace:
            raise click.UsageError("which workspace? name it (-w/--workspace), or set KALEXO_WORKSPACE")
        return workspace
