# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""The tiling benchmark's inputs, made on the spot so every run tiles the same documents.

- `report_pdf`: letter-size pages like a project report: a heading and justified-looking paragraphs on every
  page, and in turn a ruled table, a vector chart (bars, a line series, axes and labels) or a photograph
  (procedural: gradients, noise and blurred blobs, so JPEG has real detail to encode), 1-inch margins.
- `a0_sheet`: one A0 landscape sheet (3370 x 2384 pt) drawn like an architectural plan: border and title block,
  a column grid with labelled bubbles, rooms with double walls, hatched cuts, door swings, dimension chains
  with ticks and figures, room labels. Tens of thousands of vector strokes, mostly thin lines on white.
"""

from __future__ import annotations

import io
import itertools
import math
import random

import pymupdf
from PIL import Image, ImageDraw, ImageFilter

LETTER = (612.0, 792.0)
A0_LANDSCAPE = (3370.0, 2384.0)
_WORDS = ("site", "level", "survey", "concrete", "façade", "drainage", "timber", "steel", "schedule", "review",
          "client", "planning", "structure", "services", "ventilation", "budget", "tender", "phase", "joinery",
          "insulation", "membrane", "glazing", "coordination", "handover", "programme", "risk", "the", "and", "of")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _photo(rng: random.Random, size: tuple[int, int] = (1600, 1067)) -> bytes:
    """A JPEG with photographic statistics: smooth gradients, soft shapes and sensor-like noise."""
    w, h = size
    base = Image.merge("RGB", [Image.linear_gradient("L").resize(size).rotate(rng.choice((0, 90, 180)), expand=False),
                               Image.radial_gradient("L").resize(size),
                               Image.linear_gradient("L").resize(size).transpose(Image.Transpose.FLIP_TOP_BOTTOM)])
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(20, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    base = base.filter(ImageFilter.GaussianBlur(6))
    noise = Image.effect_noise(size, 24).convert("RGB")
    photo = Image.blend(base, noise, 0.18)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=88)
    return out.getvalue()


def _text_block(page: pymupdf.Page, rng: random.Random, top: float, bottom: float) -> None:
    rect = pymupdf.Rect(72, top, LETTER[0] - 72, bottom)
    paragraphs = [" ".join(_sentence(rng, rng.randrange(6, 16)) for _ in range(rng.randrange(3, 7)))
                  for _ in range(6)]
    # insert_textbox writes nothing when the text overflows: drop paragraphs until the block fits.
    while paragraphs and page.insert_textbox(rect, "\n\n".join(paragraphs), fontsize=10, fontname="helv",
                                             align=pymupdf.TEXT_ALIGN_JUSTIFY) < 0:
        paragraphs.pop()


def _table(page: pymupdf.Page, rng: random.Random, top: float) -> None:
    cols, rows, x0, width, row_h = 5, 14, 72.0, LETTER[0] - 144, 18.0
    shape = page.new_shape()
    for r in range(rows + 1):
        shape.draw_line((x0, top + r * row_h), (x0 + width, top + r * row_h))
    for c in range(cols + 1):
        shape.draw_line((x0 + c * width / cols, top), (x0 + c * width / cols, top + rows * row_h))
    shape.finish(color=(0.2, 0.2, 0.2), width=0.6)
    shape.commit()
    page.draw_rect(pymupdf.Rect(x0, top, x0 + width, top + row_h), color=None, fill=(0.85, 0.9, 0.95), overlay=False)
    for r in range(rows):
        for c in range(cols):
            label = rng.choice(_WORDS).title() if r == 0 or c == 0 else f"{rng.uniform(0, 9999):,.2f}"
            page.insert_text((x0 + c * width / cols + 4, top + r * row_h + 13), label, fontsize=8)


def _chart(page: pymupdf.Page, rng: random.Random, top: float) -> None:
    x0, y0, w, h = 96.0, top, LETTER[0] - 168, 230.0
    page.draw_line((x0, y0 + h), (x0 + w, y0 + h), width=1)
    page.draw_line((x0, y0), (x0, y0 + h), width=1)
    bars = 12
    for i in range(bars):
        value = rng.uniform(0.15, 0.95) * h
        bx = x0 + 8 + i * (w - 16) / bars
        page.draw_rect(pymupdf.Rect(bx, y0 + h - value, bx + (w - 16) / bars * 0.7, y0 + h),
                       color=None, fill=(0.25, 0.45, 0.75))
        page.insert_text((bx, y0 + h + 12), f"Q{i % 4 + 1}", fontsize=7)
    points = [(x0 + i * w / 40, y0 + h * (0.5 + 0.35 * math.sin(i / 5 + rng.random()))) for i in range(41)]
    page.draw_polyline(points, color=(0.85, 0.3, 0.1), width=1.5)
    for i in range(6):
        page.insert_text((x0 - 26, y0 + h - i * h / 5 + 3), f"{i * 20}%", fontsize=7)


def report_pdf(path: str, pages: int = 50, seed: int = 7) -> None:
    rng = random.Random(seed)
    photos = [_photo(rng) for _ in range(max(1, pages // 4))]
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=LETTER[0], height=LETTER[1])
        page.insert_text((72, 60), f"Project report - section {n + 1}", fontsize=16, fontname="hebo")
        _text_block(page, rng, 80, 400)
        match n % 4:
            case 0:
                _table(page, rng, 420)
            case 1:
                _chart(page, rng, 430)
            case 2:
                page.insert_image(pymupdf.Rect(72, 420, LETTER[0] - 72, 720), stream=photos[(n // 4) % len(photos)])
            case _:
                _text_block(page, rng, 420, 720)
        page.insert_text((LETTER[0] / 2 - 10, LETTER[1] - 36), str(n + 1), fontsize=9)
    doc.save(path, garbage=3, deflate=True)


def a0_sheet(path: str, seed: int = 11) -> None:
    a0_set(path, sheets=1, seed=seed)


def a0_set(path: str, sheets: int = 6, seed: int = 11) -> None:
    """A drawing set as architects issue one: `sheets` A0 plan sheets in one PDF (the first is `a0_sheet`'s)."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    for number in range(sheets):
        _a0_page(doc, rng, number)
    doc.save(path, garbage=3, deflate=True)


def _a0_page(doc: pymupdf.Document, rng: random.Random, number: int) -> None:
    width, height = A0_LANDSCAPE
    page = doc.new_page(width=width, height=height)
    shape = page.new_shape()
    shape.draw_rect(pymupdf.Rect(36, 36, width - 36, height - 36))
    shape.draw_rect(pymupdf.Rect(width - 636, height - 236, width - 36, height - 36))
    shape.finish(color=(0, 0, 0), width=2)
    grid_x = [200 + i * 280 for i in range(11)]
    grid_y = [200 + j * 260 for j in range(8)]
    for i, gx in enumerate(grid_x):  # column grid: dash-dot lines with bubbles
        shape.draw_line((gx, 120), (gx, grid_y[-1] + 80))
        shape.draw_circle((gx, 100), 18)
        page.insert_text((gx - 5, 105), chr(65 + i), fontsize=14)
    for j, gy in enumerate(grid_y):
        shape.draw_line((120, gy), (grid_x[-1] + 80, gy))
        shape.draw_circle((100, gy), 18)
        page.insert_text((95, gy + 5), str(j + 1), fontsize=14)
    shape.finish(color=(0.3, 0.3, 0.3), width=0.5, dashes="[12 4 2 4] 0")
    for i in range(len(grid_x) - 1):  # rooms: double walls, a door swing, a label, hatching in some
        for j in range(len(grid_y) - 1):
            room = pymupdf.Rect(grid_x[i] + 6, grid_y[j] + 6, grid_x[i + 1] - 6, grid_y[j + 1] - 6)
            shape.draw_rect(room)
            shape.draw_rect(pymupdf.Rect(room.x0 + 8, room.y0 + 8, room.x1 - 8, room.y1 - 8))
            door = room.tl + pymupdf.Point(40, 0)
            shape.draw_line(door, door + pymupdf.Point(0, 36))
            shape.draw_sector(door, door + pymupdf.Point(36, 0), 90, fullSector=False)
            shape.finish(color=(0, 0, 0), width=0.8)
            if (i + j) % 3 == 0:
                step = rng.choice((4.0, 6.0, 8.0))
                k = -room.height
                while k < room.width:
                    start = pymupdf.Point(room.x0 + 8 + max(k, 0), room.y0 + 8 + max(-k, 0))
                    length = min(room.width - 16 - max(k, 0), room.height - 16 - max(-k, 0))
                    if length > 0:
                        shape.draw_line(start, start + pymupdf.Point(length, length))
                    k += step
                shape.finish(color=(0.4, 0.4, 0.4), width=0.25)
            page.insert_text(room.tl + pymupdf.Point(30, room.height / 2), f"ROOM {i + 1}.{j + 1:02d}", fontsize=11)
            page.insert_text(room.tl + pymupdf.Point(30, room.height / 2 + 16),
                             f"{room.width * room.height / 2800:.1f} m²", fontsize=8)
    for gy in (grid_y[0] - 60, grid_y[-1] + 60):  # dimension chains with ticks and figures
        for x0, x1 in itertools.pairwise(grid_x):
            shape.draw_line((x0, gy), (x1, gy))
            for x in (x0, x1):
                shape.draw_line((x - 6, gy + 6), (x + 6, gy - 6))
            page.insert_text(((x0 + x1) / 2 - 14, gy - 6), f"{(x1 - x0) * 25:.0f}", fontsize=9)
    shape.finish(color=(0, 0, 0.5), width=0.4)
    shape.commit()
    floor = "GROUND FLOOR" if number == 0 else f"LEVEL {number:02d}"
    for k, line in enumerate(("KALEXO ARCHITECTS", f"{floor} GENERAL ARRANGEMENT", "SCALE 1:100 @ A0",
                              f"DRAWING 2026-A-{101 + number:04d} REV C")):
        page.insert_text((width - 616, height - 196 + k * 40), line, fontsize=18 if k == 0 else 13)
