"""Pure rules behind serving documents to the standards: the IIIF level-0 description (scale factors that stop
at one tile, a `max` image consistent with the tiles, formats said as stored), the mapping of requests onto
stored entries, strict tile grants and If-None-Match."""

from __future__ import annotations

import base64

import pytest

from chalicelib.domain.documents import PageRecord
from chalicelib.domain.errors import NotFound
from chalicelib.domain.tile_plan import TilePlan
from chalicelib.domain.viewers import (
    MAX_IMAGE,
    MAX_IMAGE_PIXELS,
    NotATile,
    iiif_entry,
    iiif_info,
    max_image_level,
    scale_factors,
)
from chalicelib.routes.tiles import matches
from chalicelib.services.tile_access import TileAccess

SIZES = [(1, 1), (255, 256), (1000, 1000), (2550, 3300), (9933, 14043), (16384, 300), (300, 16384), (4097, 3)]


def page(width: int, height: int, tile_size: int = 256, fmt: str = "jpeg") -> PageRecord:
    return PageRecord(0, width, height, TilePlan(width, height, tile_size).max_level, tile_size, fmt, 0, 0, 0)


@pytest.mark.parametrize("tile_size", [128, 256, 512, 1024])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_description_is_consistent_for_any_page(width, height, tile_size):
    plan = TilePlan(width, height, tile_size)
    info = iiif_info(page(width, height, tile_size), "https://api.example/iiif/g/0")
    factors = info["tiles"][0]["scaleFactors"]
    assert factors == scale_factors(plan) and factors[0] == 1
    # They stop at the first scale where the page is one tile.
    last = plan.level(plan.max_level - len(factors) + 1)
    assert (last.cols, last.rows) == (1, 1)
    if len(factors) > 1:
        before = plan.level(last.level + 1)
        assert (before.cols, before.rows) != (1, 1)
    big = max_image_level(plan)
    max_w, max_h = info.get("maxWidth", width), info.get("maxHeight", height)
    assert (max_w, max_h) == (big.width, big.height)
    # Every advertised tile and size fits within maxWidth x maxHeight.
    assert min(tile_size, width) <= max_w and min(tile_size, height) <= max_h
    assert all(s["width"] <= max_w and s["height"] <= max_h for s in info["sizes"])
    assert {"width": big.width, "height": big.height} in info["sizes"]
    # The largest level within MAX_IMAGE_PIXELS, unless that is narrower or shorter than a tile: then the
    # smallest one that is not.
    need_w, need_h = min(tile_size, width), min(tile_size, height)
    consistent = [lv for lv in plan.levels() if lv.width >= need_w and lv.height >= need_h]
    within = [lv for lv in consistent if lv.width * lv.height <= MAX_IMAGE_PIXELS]
    assert big == (within[0] if within else consistent[-1])
    assert iiif_entry(page(width, height, tile_size), "full", "max", "0", "default.jpg") == MAX_IMAGE


def test_the_max_image_is_about_a_megapixel_and_whole_when_the_page_is_small():
    assert (max_image_level(TilePlan(1000, 1000)).width, max_image_level(TilePlan(1000, 1000)).height) == (1000, 1000)
    letter = max_image_level(TilePlan(2550, 3300))
    assert (letter.width, letter.height) == (638, 825)
    strip = max_image_level(TilePlan(16384, 300))  # a narrower one would be shorter than a tile
    assert (strip.width, strip.height) == (16384, 300)


def test_png_pages_advertise_png_and_serve_jpeg_only_as_max():
    png = page(2550, 3300, fmt="png")
    info = iiif_info(png, "https://api.example/iiif/g/0")
    assert info["extraFormats"] == info["preferredFormats"] == ["png"]
    assert iiif_entry(png, "0,0,256,256", "256,256", "0", "default.png") == "12/0_0"
    assert iiif_entry(png, "full", "160,207", "0", "default.png") == "8/0_0"
    assert iiif_entry(png, "full", "max", "0", "default.jpg") == MAX_IMAGE
    assert iiif_entry(png, "full", "638,825", "0", "default.jpg") == MAX_IMAGE
    for region, size, quality in (("0,0,256,256", "256,256", "default.jpg"), ("full", "max", "default.png"),
                                  ("full", "max", "default.webp"), ("full", "full", "default.jpg"),
                                  ("full", "max", "gray.jpg"), ("0,0,0256,256", "256,256", "default.png"),
                                  ("00,0,256,256", "256,256", "default.png"), ("0,0,256,256", "0256,", "default.png")):
        with pytest.raises(NotATile):
            iiif_entry(png, region, size, "0", quality)
    one_tile = page(200, 100, fmt="png")  # the whole page is its top tile: `max` in PNG is that tile
    assert iiif_entry(one_tile, "full", "max", "0", "default.png") == f"{one_tile.max_level}/0_0"
    assert "maxWidth" not in iiif_info(one_tile, "https://api.example/iiif/g/0")


def test_grants_have_one_spelling():
    access = TileAccess("secret", documents=None, tiles=None, grant_seconds=3600)  # type: ignore[arg-type]
    grant = access.grant("ws-a", "doc-0123456789abcdef", "job-1", now=1_000_000)
    assert access.verify(grant, now=1_000_000).workspace_id == "ws-a"
    body, signature = grant.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = [f"{body}..{signature}", f"{body}.{signature}=", f"{body}==.{signature}", f" {body}.{signature}",
                 f"{body}.{signature}\n", f"{body}.{signature[:4]}!{signature[4:]}", f"{body}.{signature}.",
                 f"{body}.", f".{signature}", f"{body}.{signature[:-1]}", f"{body}.{signature}A"]
    if len(body) % 4:  # the last character has unused bits: another value of them spells the same bytes
        respelled.append(f"{body[:-1]}{alphabet[alphabet.index(body[-1]) ^ 1]}.{signature}")
    standard = base64.b64encode(base64.urlsafe_b64decode(body + "==")).decode().rstrip("=")
    if standard != body:  # the standard alphabet's `+` and `/`
        respelled.append(f"{standard}.{signature}")
    for spelling in respelled:
        with pytest.raises(NotFound):
            access.verify(spelling, now=1_000_000)


def test_if_none_match_follows_rfc_9110():
    assert matches('"abc"', "abc") and matches('W/"abc"', "abc") and matches('"x", W/"abc" ,"y"', "abc")
    assert matches("*", "abc") and matches(" * ", "abc")
    assert not matches("", "abc") and not matches('"abcd"', "abc") and not matches('"ab", "c"', "abc")
