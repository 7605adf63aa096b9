"""kalexo documents (list, show, upload with --wait, remove, reprocess, retry, text) and kalexo jobs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from kalexo_client.cli.admin_commands import LIMIT, WORKSPACE_OPTION, pass_config
from kalexo_client.cli.config import Config
from kalexo_client.cli.output import counted, done, emit, emit_list
from kalexo_client.cli.workspace_commands import options_of, tile_options
from kalexo_client.documents import passed_over, poll_until_processed, refused_version, upload_and_wait
from kalexo_client.errors import Refused
from kalexo_client.uploads import UploadResult

DOCUMENT_COLUMNS = ["document_id", "name", "status", "page_count", "size", "created_by", "created_at"]
JOB_COLUMNS = ["job_id", "document_id", "state", "pages_done", "page_count", "created_at", "reason"]


class Bars:
    """Two progress bars on stderr: the bytes going up, then the pages being tiled."""

    def __init__(self, name: str, size: int) -> None:
        self._stack = contextlib.ExitStack()
        self._name, self._size = name, size
        self._upload: Any = None
        self._pages: Any = None
        self._said: str | None = None

    def upload(self, sent: int, total: int) -> None:
        if self._upload is None:
            self._upload = self._stack.enter_context(click.progressbar(
                length=total, label=f"Uploading {self._name}", file=sys.stderr, show_pos=False, width=30))
        self._upload.update(sent - self._upload.pos)

    def status(self, status: str, pages_done: int | None, page_count: int | None) -> None:
        if status == "tiling" and page_count:
            if self._pages is None:
                self._pages = self._stack.enter_context(click.progressbar(
                    length=page_count, label="Tiling pages", file=sys.stderr, show_pos=True, width=30))
            if pages_done is not None and pages_done > self._pages.pos:
                self._pages.update(pages_done - self._pages.pos)
        elif status != self._said and status in ("analysing", "failed"):
            self.close()
            click.echo(f"{self._name}: {status}", err=True)
        elif status == "ready" and self._pages is not None:
            self._pages.update(self._pages.length - self._pages.pos)
        self._said = status

    def close(self) -> None:
        self._stack.close()


@click.group()
def documents() -> None:
    """Documents of a workspace (-w, or KALEXO_WORKSPACE)."""


@documents.command("list")
@WORKSPACE_OPTION
@LIMIT
@pass_config
def documents_list(config: Config, workspace: str | None, limit: int | None) -> None:
    """Newest first."""
    emit_list(config.api().documents(config.need_workspace(workspace), limit), config.output, DOCUMENT_COLUMNS,
              limit)


@documents.command("show")
@click.argument("document_id")
@WORKSPACE_OPTION
@pass_config
def documents_show(config: Config, document_id: str, workspace: str | None) -> None:
    """A document and its manifest (the finished pages' DZI, IIIF, thumbnail and text URLs)."""
    document = config.api().document(config.need_workspace(workspace), document_id)
    if config.output == "json":
        emit(document, "json")
    else:
        pages = document.pop("pages", None) or []
        emit(document, "table")
        emit(pages, "table", ["page", "width", "height", "dzi"])


@documents.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@WORKSPACE_OPTION
@click.option("--document-id", help="Upload a new version of this document.")
@click.option("--content-type", help="Default: guessed from the file name.")
@click.option("--wait", is_flag=True, help="Wait until it is processed, then print its manifest URL.")
@click.option("--timeout", type=click.FloatRange(1), default=1800.0, show_default=True,
              help="How long --wait waits, in seconds.")
@pass_config
def documents_upload(config: Config, file: Path, workspace: str | None, document_id: str | None,
                     content_type: str | None, wait: bool, timeout: float) -> None:
    """Upload FILE with a progress bar (in parts when it is large); with --wait, follow its processing live
    (over the websocket when KALEXO_WS_URL is set) and end with the manifest URL."""
    api, space = config.api(), config.need_workspace(workspace)
    size = file.stat().st_size
    if size == 0:
        raise click.UsageError(f"{file} is empty: there is nothing to upload")
    ws_url = config.need_ws_url() if wait and config.ws_url else None  # checked before anything is sent
    bars = Bars(file.name, size)
    manifest: dict[str, Any] | None = None
    try:
        if ws_url is not None:
            result, manifest = asyncio.run(upload_and_wait(
                api, ws_url, config.need_token(), space, file, document_id=document_id,
                content_type=content_type, on_upload=bars.upload, on_status=bars.status, timeout=timeout))
        else:
            before = api.document(space, document_id) if wait and document_id else {}
            result = api.upload(space, file, content_type=content_type, document_id=document_id,
                                progress=bars.upload)
            if wait:
                manifest = poll_until_processed(api, space, result.document_id, baseline_job=before.get("job_id"),
                                                baseline_refused=before.get("refused_version_id"),
                                                on_status=bars.status, timeout=timeout, version=result.version_id)
    finally:
        bars.close()
    if manifest is None:
        emit({"document_id": result.document_id, "size": result.size, "method": result.method,
              "status": "uploaded"}, config.output)
        return
    _outcome(config, api.manifest_url(space, result.document_id), result, manifest, document_id is not None)


def _outcome(config: Config, url: str, result: UploadResult, manifest: dict[str, Any], new_version: bool) -> None:
    """What became of this upload's version: shown (the manifest URL), refused or passed over (exit 3)."""
    if passed_over(manifest, result.version_id):
        raise Refused("passed_over", "a newer version of the document, uploaded at the same moment, is processed "
                                     "instead of this one; upload it again to make it the newest")
    if config.output == "json":
        emit({**manifest, "manifest_url": url}, "json")
    else:
        pages = counted(int(manifest.get("page_count") or 0), "page")
        shown, status = manifest.get("version_id"), manifest.get("status")
        if result.version_id and shown and shown != result.version_id and status in ("ready", "tiling") and \
                manifest.get("refused_version_id") != result.version_id:
            # This upload's version was shown and a newer one replaced it at once (read after the wait): the
            # document's line would describe another member's file as this upload's (an outside tester).
            click.echo(f"{result.document_id}  ready  (yours was shown; the document has moved on to a newer "
                       f"version: {status}, {pages})")
        else:
            click.echo(f"{result.document_id}  {manifest.get('status')}  {pages}")
    if manifest.get("status") == "failed":
        raise Refused(str(manifest.get("reason_code") or "failed"), str(manifest.get("reason") or ""))
    if new_version and refused_version(manifest):
        reason = str(manifest.get("reason") or "the new version was refused").rstrip(". ")
        raise Refused(str(manifest["reason_code"]), f"{reason}; the document still shows its earlier version")
    if config.output != "json":
        click.echo(url)


@documents.command("remove")
@click.argument("document_id")
@WORKSPACE_OPTION
@pass_config
def documents_remove(config: Config, document_id: str, workspace: str | None) -> None:
    space = config.need_workspace(workspace)
    config.api().remove_document(space, document_id)
    done(config.output, f"removed {document_id} from {space}")


@documents.command("reprocess")
@click.argument("document_id")
@WORKSPACE_OPTION
@tile_options
@pass_config
def documents_reprocess(config: Config, document_id: str, workspace: str | None, dpi: int | None,
                        tile_size: str | None, image_format: str | None, quality: int | None,
                        max_side: int | None, max_pixels: int | None) -> None:
    """Process a document again (owners), optionally with new tile options."""
    options = options_of(dpi, tile_size, image_format, quality, max_side, max_pixels)
    emit(config.api().reprocess_document(config.need_workspace(workspace), document_id, options or None),
         config.output)


@documents.command("retry")
@click.argument("document_id")
@WORKSPACE_OPTION
@pass_config
def documents_retry(config: Config, document_id: str, workspace: str | None) -> None:
    """Process a failed document again with its settings (owners)."""
    emit(config.api().retry_document(config.need_workspace(workspace), document_id), config.output)


@documents.command("text")
@click.argument("document_id")
@click.argument("page", type=click.IntRange(0))
@WORKSPACE_OPTION
@pass_config
def documents_text(config: Config, document_id: str, page: int, workspace: str | None) -> None:
    """The text of one finished page (pages count from 0; past the last page: 404 no_such_page)."""
    answer = config.api().page_text_answer(config.need_workspace(workspace), document_id, page)
    if config.output == "json":
        emit(answer, "json")
    else:
        click.echo(answer.get("text", ""))


@click.group()
def jobs() -> None:
    """Processing jobs."""


@jobs.command("list")
@WORKSPACE_OPTION
@click.option("--state", type=click.Choice(["tiling", "ready", "failed", "superseded"]),
              help="Jobs in this state across the platform (platform admins) instead of one workspace's.")
@LIMIT
@pass_config
def jobs_list(config: Config, workspace: str | None, state: str | None, limit: int | None) -> None:
    api = config.api()
    rows = api.admin_jobs(state, limit) if state else api.jobs(config.need_workspace(workspace), limit)
    emit_list(rows, config.output, JOB_COLUMNS if not state else ["workspace_id", *JOB_COLUMNS], limit)


COMMANDS = [documents, jobs]
