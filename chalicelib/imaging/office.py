"""Word, PowerPoint and Excel files, shown as the PDF LibreOffice makes of them, where LibreOffice is installed.

The Lambda imaging layer has no LibreOffice (it is far past the layer size limit), so there the answer is a
polite refusal that says what to do instead. Where `soffice` exists (a container image, a developer machine),
the conversion runs once per file version: the PDF is cached in the temp dir under the source's path, size and
modification time, because `analyse` and every page's `tile_page` would otherwise each convert again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from chalicelib.imaging.errors import UNSUPPORTED_HERE, DocumentRejected, corrupt
from chalicelib.imaging.formats import Kind

CONVERT_TIMEOUT_SECONDS = 180.0
_CACHE_DIR = "kalexo-office-pdf"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def as_pdf(path: str, kind: Kind, timeout: float = CONVERT_TIMEOUT_SECONDS) -> str:
    """The path of a PDF made from the Office document at `path`, converting only if not done already."""
    executable = soffice()
    if executable is None:
        raise DocumentRejected(UNSUPPORTED_HERE, "Word, PowerPoint and Excel files need LibreOffice, which this "
                                                 "deployment does not have; export the file as PDF and upload that.")
    stat = os.stat(path)
    key = hashlib.sha256(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    cache = Path(tempfile.gettempdir()) / _CACHE_DIR
    cached = cache / f"{key}.pdf"
    if cached.is_file():
        return str(cached)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        # LibreOffice names its output after the input and picks its import filter partly by extension, while
        # uploads are stored under ids; a link named for the sniffed kind settles both.
        source = Path(work) / f"document.{kind.value}"
        try:
            source.symlink_to(os.path.abspath(path))
        except OSError:
            shutil.copyfile(path, source)
        # Its own profile per conversion: two soffice processes sharing one profile block each other.
        profile = Path(work, "profile").as_uri()
        command = [executable, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", work, str(source)]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired as error:
            raise corrupt(f"LibreOffice took longer than {timeout:.0f} s") from error
        except (subprocess.CalledProcessError, OSError) as error:
            raise corrupt(f"LibreOffice failed: {error}") from error
        produced = Path(work) / "document.pdf"
        if not produced.is_file() or produced.stat().st_size == 0:
            raise corrupt("LibreOffice produced no PDF")
        os.replace(produced, cached)  # atomic: a concurrent reader sees no half-written PDF
    return str(cached)
