"""`kalexo`: administering Kalexo Teamwork from a terminal or a script.

Exit codes: 0 done; 2 a usage error (bad arguments, no API URL or token); 3 refused (the API answered 4xx, or
an op, a join or a document was refused: the API's error code and message are printed); 4 failed (5xx, the
network, a timeout: the same command may work later); 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from kalexo_client.cli.config import Config
from kalexo_client.errors import ApiError, Failed, KalexoError, Refused
from kalexo_client.wire import redact

EXIT_USAGE, EXIT_REFUSED, EXIT_FAILED, EXIT_INTERRUPTED = 2, 3, 4, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--api-url", envvar="KALEXO_API_URL", help="The REST API (env KALEXO_API_URL).")
@click.option("--ws-url", envvar="KALEXO_WS_URL", help="The websocket API (env KALEXO_WS_URL).")
@click.option("--token", envvar="KALEXO_TOKEN", help="A bearer token (env KALEXO_TOKEN; prefer it to this option).")
@click.option("--profile", envvar="KALEXO_PROFILE", help="A profile of the profile file (env KALEXO_PROFILE).")
@click.option("-o", "--output", type=click.Choice(["json", "table"]), envvar="KALEXO_OUTPUT",
              help="json (the API's answers) or table (default).")
@click.version_option(package_name="kalexo-client")
@click.pass_context
def cli(ctx: click.Context, api_url: str | None, ws_url: str | None, token: str | None, profile: str | None,
        output: str | None) -> None:
    """Kalexo Teamwork from the command line: accounts, users, tokens, workspaces, members, usage, documents,
    recovery and the live event log.

    Configure it with KALEXO_API_URL (and KALEXO_WS_URL for `events tail` and `documents upload --wait`), a
    token in KALEXO_TOKEN, or a profile file (~/.config/kalexo/config.toml, see the README)."""
    ctx.obj = Config.resolve(profile=profile, api_url=api_url, ws_url=ws_url, token=token,
                             workspace=None, output=output)


def _register() -> None:
    from kalexo_client.cli import admin_commands, document_commands, live_commands, workspace_commands

    for module in (admin_commands, workspace_commands, document_commands, live_commands):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def report(error: KalexoError) -> int:
    """Print an error as the API gave it, on one line and never with a token; the exit code that tells
    refusals from failures."""
    text = f"{error.code}: {error.message} (HTTP {error.status})" if isinstance(error, ApiError) else str(error)
    click.echo(f"error: {' '.join(redact(text).split())}", err=True)
    if isinstance(error, Refused):
        return EXIT_REFUSED
    return EXIT_FAILED if isinstance(error, Failed) else 1


def main(argv: list[str] | None = None) -> Any:
    try:
        # Without standalone mode click returns the code of ctx.exit() (and of --help) instead of exiting.
        code = cli.main(args=argv, prog_name="kalexo", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)  # 2 for usage errors
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KalexoError as exc:
        sys.exit(report(exc))
    except TimeoutError as exc:
        click.echo(f"error: timed out {exc}".rstrip(), err=True)
        sys.exit(EXIT_FAILED)
    except OSError as exc:  # a file or the network, where no command turned it into a KalexoError
        click.echo(f"error: {' '.join(redact(str(exc)).split())}", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
