# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Whether MuPDF read a page completely, from the warnings it gave while interpreting and rendering it.

MuPDF does not fail a page whose content is partly unreadable (a content stream whose compression is broken, a
syntax error halfway through, an image cut short): it draws what it could read, often nothing, and says so in
its warnings. Without them a damaged sheet is tiled as a plain white page that looks intentionally empty. So
the warnings given while a page is read are kept, and those that mean something of the page was lost make it
`damaged`: it is still tiled (what could be read is shown), and its manifest entry says what went wrong.

Warnings that do not mean lost content (MuPDF also warns about fonts it substitutes, unusual but valid
structure) are not damage: only the phrases below count. MuPDF keeps one warnings buffer per process, which is
right for a tiling function (one page at a time); an image or font shared by several pages is decoded once
while the document stays open (`held_document`), so its damage is reported on the first of them tiled there.
"""

from __future__ import annotations

import pymupdf

# Lines of MuPDF's warnings that mean part of a page could not be read (lower case).
LOST_CONTENT = ("page may not be correct", "read error", "library error", "truncated", "cannot find",
                "cannot load", "cannot open", "syntax error", "zlib error", "premature end")
REPEATED = "... repeated"  # MuPDF's summary of a warning given many times
MAX_DETAIL_CHARS = 200
PREFIXES = ("library error: ", "syntax error: ", "format error: ", "generic error: ")



def begin() -> None:
    """Forget the warnings given so far (another page's, or the document's opening: a repaired cross-reference
    table is not a fault of any one page)."""
    pymupdf.TOOLS.mupdf_warnings(reset=True)


def found() -> str:
    """What was lost of the page read since `begin`, as MuPDF said it (its first such warning), or ""."""
    return judged(pymupdf.TOOLS.mupdf_warnings(reset=True))


def judged(warnings: str) -> str:
    """The first line of `warnings` that means lost content, without MuPDF's error-class prefix, or ""."""
    for line in warnings.splitlines():
        text = line.strip()
        if not text or text.startswith(REPEATED) or not any(p in text.lower() for p in LOST_CONTENT):
            continue
        for prefix in PREFIXES:
            if text.lower().startswith(prefix):
                text = text[len(prefix):]
                break
        return text[:MAX_DETAIL_CHARS]
    return ""
