# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Whether MuPDF read a page completely, from the warnings it gave while interpreting and rendering it.

MuPDF does not fail a page whose content is partly unreadable (a content stream whose compression is broken, a
syntax error halfway through, an image cut short): it draws what it could read, often nothing, and says so in
its warnings. Without them a damaged sheet is tiled as a plain white page that looks intentionally empty. So
the warnings given while a page is read are kept, and those that mean something of the page was lost make it
`damaged`: it is still tiled (what could be read is shown), and its manifest entry says what went wrong.

Warnings that do not mean lost content (MuPDF also warns about fonts it substitutes, unusual but valid
structure) are not damage: only the phrases below count, and not those given before MuPDF repaired the file's
cross-reference table while reading the page (an object looked for at a wrong offset, found after the repair).
MuPDF keeps one warnings buffer per process, which is right for a tiling function (one page at a time).

An image shared by several pages is decoded once while the document stays open (`held_document`), and MuPDF
warns about a damaged one only then. So the damage of a page whose warnings name an image is remembered with
the document, for each image the page draws, and a later page drawing one of them is damaged the same way. (An
undamaged image drawn beside a damaged one is then blamed too: rare, and a false warning costs less than a
damaged sheet passed off as whole.)
"""

from __future__ import annotations

import pymupdf

# Lines of MuPDF's warnings that mean part of a page could not be read (lower case).
LOST_CONTENT = ("page may not be correct", "read error", "library error", "truncated", "cannot find",
                "cannot load", "cannot open", "syntax error", "zlib error", "premature end")
REPEATED = "... repeated"  # MuPDF's summary of a warning given many times
MAX_DETAIL_CHARS = 200
PREFIXES = ("library error: ", "syntax error: ", "format error: ", "generic error: ")
REMEMBERED = "_kalexo_damaged_images"  # on a pymupdf.Document: image xref -> the damage its decoding showed


def begin() -> None:
    """Forget the warnings given so far (another page's, or the document's opening: a repaired cross-reference
    table is not a fault of any one page)."""
    pymupdf.TOOLS.mupdf_warnings(reset=True)


def found(page: pymupdf.Page) -> str:
    """What was lost of `page`, read since `begin`, as MuPDF said it (its first such warning), or ""."""
    warnings = pymupdf.TOOLS.mupdf_warnings(reset=True)
    lost = judged(warnings)
    images = sorted(item[0] for item in page.get_images())  # their xrefs
    remembered: dict[int, str] = page.parent.__dict__.setdefault(REMEMBERED, {})
    if lost and "image" in warnings.lower():
        for xref in images:
            remembered.setdefault(xref, lost)
    return lost or next((remembered[xref] for xref in images if xref in remembered), "")


def judged(warnings: str) -> str:
    """The first line of `warnings` that means lost content, without MuPDF's error-class prefix, or ""."""
    lines = warnings.splitlines()
    repaired = [n for n, line in enumerate(lines) if "repair" in line.lower()]
    for line in lines[repaired[-1] + 1:] if repaired else lines:
        # A resource's name may hold any byte (a lone surrogate here), which no store takes as text.
        text = "".join(c if c.isprintable() else "?" for c in line.strip())
        if not text or text.startswith(REPEATED) or not any(p in text.lower() for p in LOST_CONTENT):
            continue
        for prefix in PREFIXES:
            if text.lower().startswith(prefix):
                text = text[len(prefix):]
                break
        return text[:MAX_DETAIL_CHARS]
    return ""
