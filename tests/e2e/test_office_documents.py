"""Word, Excel and PowerPoint files through the whole pipeline, converted by LibreOffice (installed by
scripts/system-packages.sh, as a container image deployment would have it). The files are real OOXML written
by LibreOffice itself from HTML, CSV and a flat ODF presentation; a damaged one fails with a reason.

Where LibreOffice is missing (the Lambda imaging layer) Office files are refused as `unsupported_here`: that
branch is covered by tests/unit/test_imaging_analyse.py and test_imaging_tiler.py with LibreOffice hidden."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.api_client import Api
from tests.e2e.test_documents import WS, settle, upload

pytestmark = pytest.mark.e2e

MEMO = """<html><body><h1>Site meeting minutes</h1><p>Grid C columns move 150 mm east.</p>
<table border="1"><tr><th>Action</th><th>Owner</th></tr><tr><td>Revise drawing A-201</td><td>Alice</td></tr>
</table></body></html>"""
COSTS = "Item,Qty,Unit cost\nConcrete C30/37,120,95.5\nRebar B500B,14.2,780\nFormwork,860,22\n"
DECK = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2"
 office:mimetype="application/vnd.oasis.opendocument.presentation"><office:body><office:presentation>
<draw:page draw:name="p1"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
<draw:text-box><text:p>Level 3 progress</text:p></draw:text-box></draw:frame></draw:page>
<draw:page draw:name="p2"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
<draw:text-box><text:p>Next: facade panels</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document>"""

OOXML = "application/vnd.openxmlformats-officedocument"
CASES = {  # name: (source name, source text, convert-to filter, content type, pages, words on the last page)
    "memo.docx": ("memo.html", MEMO, 'docx:MS Word 2007 XML', f"{OOXML}.wordprocessingml.document", 1,
                  "Revise drawing A-201"),
    "costs.xlsx": ("costs.csv", COSTS, "xlsx", f"{OOXML}.spreadsheetml.sheet", 1, "Formwork"),
    "deck.pptx": ("deck.fodp", DECK, "pptx", f"{OOXML}.presentationml.presentation", 2, "facade panels"),
}


def office_file(tmp_path: Path, name: str) -> bytes:
    executable = shutil.which("soffice")
    assert executable, "LibreOffice is missing: run scripts/system-packages.sh first"
    source_name, text, target, *_ = CASES[name]
    (tmp_path / source_name).write_text(text)
    subprocess.run([executable, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", target, "--outdir", str(tmp_path), str(tmp_path / source_name)],
                   check=True, capture_output=True, timeout=120)
    return (tmp_path / name).read_bytes()


def test_word_excel_and_powerpoint_files_become_pyramids_with_their_text(stack, tmp_path):
    from PIL import Image

    bob = Api(stack, stack.token("bob"))
    grants = {name: upload(bob, name, office_file(tmp_path, name), CASES[name][3]) for name in CASES}
    for name, grant in grants.items():
        _, _, _, _, pages, words = CASES[name]
        document = settle(bob, grant["document_id"], timeout=180)
        assert document["status"] == "ready", (name, document)
        assert (document["kind"], document["page_count"]) == (name.rsplit(".", 1)[1], pages), document
        last = document["pages"][-1]
        text = bob.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}/pages/{last['page']}/text")
        assert words in text["text"], (name, text)
        thumbnail = requests.get(last["thumbnail"], timeout=10)
        assert Image.open(io.BytesIO(thumbnail.content)).getextrema() != ((255, 255),) * 3  # something drawn


def test_a_damaged_word_file_fails_with_a_reason(stack, tmp_path):
    bob = Api(stack, stack.token("bob"))
    whole = office_file(tmp_path, "memo.docx")
    damaged = whole[:200] + bytes(len(whole) - 200)  # the zip's directory is gone; the header still says docx
    document = settle(bob, upload(bob, "damaged.docx", damaged, CASES["memo.docx"][3])["document_id"], timeout=180)
    assert document["status"] == "failed" and document["reason_code"] in ("corrupt", "unsupported_type"), document
    assert len(document["reason"]) > 10
