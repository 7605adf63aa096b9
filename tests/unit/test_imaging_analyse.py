"""`analyse`: real files made here with PyMuPDF, Pillow and zipfile; every bad one refused with its code."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from chalicelib.imaging.analyse import Limits, analyse
from chalicelib.imaging.errors import DocumentRejected
from chalicelib.imaging.formats import Kind

DEFAULTS = Limits()


def _pdf(path: Path, pages: int = 2, size: tuple[float, float] = (612, 792), **save: object) -> str:
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=size[0], height=size[1])
        page.insert_text((72, 72), f"Page {n + 1} of the site survey", fontsize=12)
        page.draw_rect(pymupdf.Rect(72, 100, 300, 200), color=(0, 0, 0), fill=(0.2, 0.4, 0.8))
    doc.set_metadata({"title": "Site survey", "author": "Vera\n\t Example"})
    doc.save(str(path), **save)
    return str(path)


def _rejected(path: str, limits: Limits = DEFAULTS) -> str:
    with pytest.raises(DocumentRejected) as caught:
        analyse(path, limits)
    assert caught.value.reason.endswith(".")
    return caught.value.code


def xps_file(path: Path, pages: int = 2) -> str:
    """A minimal XPS package written by hand (PyMuPDF reads XPS but cannot write it)."""
    ns = 'xmlns="http://schemas.microsoft.com/xps/2005/06"'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Type="http://schemas.microsoft.com/xps/2005/06/fixedrepresentation" '
                   'Target="/FixedDocumentSequence.fdseq" Id="R0"/></Relationships>')
        z.writestr("FixedDocumentSequence.fdseq", f'<FixedDocumentSequence {ns}><DocumentReference '
                   'Source="/Documents/1/FixedDocument.fdoc"/></FixedDocumentSequence>')
        z.writestr("Documents/1/FixedDocument.fdoc", f"<FixedDocument {ns}>" + "".join(
            f'<PageContent Source="/Documents/1/Pages/{n}.fpage"/>' for n in range(pages)) + "</FixedDocument>")
        for n in range(pages):
            z.writestr(f"Documents/1/Pages/{n}.fpage", f'<FixedPage {ns} Width="816" Height="1056" xml:lang="en">'
                       '<Path Data="M 96,96 L 400,96 L 400,300 L 96,300 Z" Fill="#FF3366CC"/></FixedPage>')
    return str(path)


def epub_file(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
                   'container"><rootfiles><rootfile full-path="book.opf" media-type="application/oebps-package+xml"/>'
                   "</rootfiles></container>")
        z.writestr("book.opf", '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
                   '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Handbook</dc:title>'
                   '<dc:identifier id="id">x</dc:identifier></metadata><manifest><item id="c1" href="c1.xhtml" '
                   'media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>')
        z.writestr("c1.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Chapter one</h1>'
                   + "<p>The site is level and dry.</p>" * 20 + "</body></html>")
    return str(path)


def bomb_png(path: Path, side: int = 30_000) -> str:
    """A valid 1-bit PNG of side x side pixels (900 Mpx at 30000), about 100 KB on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return str(path)


def test_pdf_pages_geometry_and_metadata(tmp_path):
    result = analyse(_pdf(tmp_path / "survey.bin", pages=3, size=(842, 595)))
    assert (result.kind, result.page_count) == (Kind.PDF, 3)
    assert [(p.index, p.width_pt, p.height_pt) for p in result.pages] == [(i, 842, 595) for i in range(3)]
    assert result.metadata["title"] == "Site survey"
    assert result.metadata["author"] == "Vera Example"  # whitespace runs folded
    assert all(isinstance(v, str) and len(v) <= 200 for v in result.metadata.values())


def test_encrypted_pdf_with_an_empty_user_password_opens(tmp_path):
    path = _pdf(tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner-only", user_pw="",  # type: ignore[attr-defined]
                permissions=pymupdf.PDF_PERM_PRINT)  # type: ignore[attr-defined]
    result = analyse(path)
    assert result.page_count == 2
    assert "AES" in result.metadata["encryption"]  # really encrypted, with no password needed to read


def test_pdf_needing_a_password_is_refused(tmp_path):
    path = _pdf(tmp_path / "secret.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="secret")  # type: ignore[attr-defined]
    assert _rejected(path) == "password_protected"


def test_empty_garbage_truncated(tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    garbage = tmp_path / "noise.pdf"
    garbage.write_bytes(os.urandom(5000).replace(b"%PDF", b"").replace(b"PK", b""))
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.7\n" + b"\x00\x01garbage" * 300)
    assert (_rejected(str(empty)), _rejected(str(garbage)), _rejected(str(fake))) == (
        "empty", "unsupported_type", "corrupt")
    whole = Path(_pdf(tmp_path / "whole.pdf", pages=5)).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 3])
    # MuPDF repairs what it can; either it reads pages or it says the file is damaged, nothing else.
    try:
        assert analyse(str(cut)).page_count >= 1
    except DocumentRejected as rejected:
        assert rejected.code in ("corrupt", "no_pages")


def test_png_bytes_named_pdf_are_an_image(tmp_path):
    path = tmp_path / "drawing.pdf"
    Image.new("RGB", (40, 30), "red").save(path, "PNG")
    result = analyse(str(path))
    assert (result.kind, result.pages[0].width_pt, result.pages[0].height_pt) == (Kind.PNG, 40, 30)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = bomb_png(tmp_path / "bomb.png")
    assert os.path.getsize(path) < 200_000
    assert _rejected(path) == "image_too_large"
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(small)
    assert _rejected(str(small), Limits(max_image_pixels=9_999)) == "image_too_large"


def test_page_and_size_limits(tmp_path):
    assert _rejected(_pdf(tmp_path / "many.pdf", pages=5), Limits(max_pages=4)) == "too_many_pages"
    assert _rejected(_pdf(tmp_path / "big.pdf", pages=1), Limits(max_file_bytes=100)) == "file_too_large"


def test_multipage_tiff_gif_and_exif_rotation(tmp_path):
    frames = [Image.new("RGB", (60 + 10 * n, 40), (50 * n, 0, 0)) for n in range(3)]
    frames[0].save(tmp_path / "scan.tif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    exif[0x013B] = "Vera"
    Image.new("RGB", (80, 20)).save(tmp_path / "phone.jpg", exif=exif)
    tiff = analyse(str(tmp_path / "scan.tif"))
    assert (tiff.kind, [p.width_pt for p in tiff.pages]) == (Kind.TIFF, [60, 70, 80])
    assert analyse(str(tmp_path / "anim.gif")).page_count == 1  # GIF: the first frame only
    photo = analyse(str(tmp_path / "phone.jpg"))
    assert (photo.pages[0].width_pt, photo.pages[0].height_pt, photo.metadata["author"]) == (20, 80, "Vera")


def test_svg_xps_epub_cbz(tmp_path):
    svg = tmp_path / "plan.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">'
                   '<rect x="10" y="10" width="100" height="50" fill="teal"/></svg>')
    cbz = tmp_path / "comic.cbz"
    with zipfile.ZipFile(cbz, "w") as z:
        for n in range(3):
            out = io.BytesIO()
            Image.new("RGB", (90, 120), (n * 80, 100, 100)).save(out, "PNG")
            z.writestr(f"{n:03d}.png", out.getvalue())
    results = [analyse(p) for p in (str(svg), xps_file(tmp_path / "doc"), epub_file(tmp_path / "book"), str(cbz))]
    assert [(r.kind, r.page_count) for r in results[:2]] == [(Kind.SVG, 1), (Kind.XPS, 2)]
    assert (results[0].pages[0].width_pt, results[0].pages[0].height_pt) == (300, 200)
    assert results[2].kind is Kind.EPUB and results[2].page_count >= 1
    assert (results[3].kind, results[3].page_count) == (Kind.CBZ, 3)


def test_office_refused_without_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    path = tmp_path / "minutes.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(DocumentRejected) as caught:
        analyse(str(path))
    assert caught.value.code == "unsupported_here"
    assert "LibreOffice" in caught.value.reason and "PDF" in caught.value.reason
