"""Pure rules of the document pipeline: pyramid geometry, DZI and IIIF descriptions, the IIIF-to-DZI tile
mapping, tile settings, page tasks, source keys and tile grants."""

import hashlib
import json
import math
import xml.etree.ElementTree as ET

import pytest

from chalicelib.domain.documents import PageRecord, PageTask, TileOptions, job_id_for, parse_source_key, source_key
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.tile_plan import DEFAULT_MAX_PIXELS, TilePlan, fit_scale
from chalicelib.domain.viewers import NotATile, dzi_xml, iiif_entry, iiif_info
from chalicelib.services.tile_access import TileAccess

A0 = PageRecord(0, 9933, 14043, 14, 256, "jpeg", 0, 0, 0)


def test_the_pyramid_follows_deep_zoom_rules():
    plan = TilePlan(9933, 14043)
    assert plan.max_level == math.ceil(math.log2(14043)) == 14
    top, bottom = plan.level(14), plan.level(0)
    assert (top.width, top.height, top.cols, top.rows) == (9933, 14043, 39, 55)
    assert (bottom.width, bottom.height, bottom.cols, bottom.rows) == (1, 1, 1, 1)
    assert plan.level(13).width == math.ceil(9933 / 2)
    assert plan.tile_box(14, 38, 54) == (38 * 256, 54 * 256, 9933, 14043)
    assert plan.tile_count() == sum(lv.cols * lv.rows for lv in plan.levels())
    assert TilePlan(1, 1).max_level == 0
    with pytest.raises(ValueError, match="outside"):
        plan.tile_box(14, 39, 0)


def test_giant_pages_are_rendered_below_the_requested_dpi():
    assert fit_scale(612, 792, 300, 16384) == pytest.approx(300 / 72)
    assert max(14400, 14400) * fit_scale(14400, 14400, 300, 16384) == pytest.approx(16384)


# Sheet sizes in points (1/72 inch): A1, A0, ARCH D, ANSI E.
A1_PT, A0_PT, ARCH_D_PT, ANSI_E_PT = (1683.8, 2383.9), (2383.9, 3370.4), (1728, 2592), (2448, 3168)


@pytest.mark.parametrize(("sheet", "dpi"), [(A1_PT, 300), (A0_PT, 212.5), (ARCH_D_PT, 284.6), (ANSI_E_PT, 216.3)])
def test_large_sheets_are_rendered_within_the_default_pixel_budget(sheet, dpi):
    scale = fit_scale(sheet[0], sheet[1], 300, 16384, DEFAULT_MAX_PIXELS)
    assert scale * 72 == pytest.approx(dpi, abs=0.1)
    assert math.ceil(sheet[0] * scale) * math.ceil(sheet[1] * scale) <= DEFAULT_MAX_PIXELS  # sides rounded up
    assert fit_scale(sheet[0], sheet[1], 300, 16384, 0) == pytest.approx(300 / 72)  # 0: no budget
    # The side limit still holds where it is the tighter one.
    assert max(sheet) * fit_scale(sheet[0], sheet[1], 300, 2048, DEFAULT_MAX_PIXELS) == pytest.approx(2048)


def test_the_pixel_budget_is_a_bounded_option_and_keeps_the_default_jobs_ids():
    assert TileOptions().max_pixels == DEFAULT_MAX_PIXELS == 70_000_000
    assert TileOptions.from_dict({"max_pixels": 200_000_000}).max_pixels == 200_000_000
    for wrong in (999_999, 32768 * 32768 + 1, 7e7, True, "70000000"):  # workspace settings are free JSON
        with pytest.raises(ValueError, match="max_pixels"):
            TileOptions.from_dict({"max_pixels": wrong})
    for not_an_object in ("fine", [1], 5):
        with pytest.raises(ValueError, match="must be an object"):
            TileOptions.from_dict(not_an_object)  # type: ignore[arg-type]
    # Jobs started before the option existed were named from the other five settings: the default leaves that
    # name as it was (a redelivered notification finds its job), any other budget makes another job.
    before = {"dpi": 300, "tile_size": 256, "format": "jpeg", "quality": 85, "max_side": 16384}
    assert TileOptions().fingerprint() == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:8]
    assert job_id_for("v1", TileOptions()) != job_id_for("v1", TileOptions(max_pixels=140_000_000))


def test_dzi_descriptor():
    root = ET.fromstring(dzi_xml(A0))
    assert root.tag == "{http://schemas.microsoft.com/deepzoom/2008}Image"
    assert root.attrib == {"Format": "jpeg", "Overlap": "0", "TileSize": "256"}
    size = root[0].attrib
    assert (size["Width"], size["Height"]) == ("9933", "14043")


def test_iiif_info_is_level_0_with_the_stored_tiles():
    info = iiif_info(A0, "https://api.example/iiif/g/0")
    assert info["profile"] == "level0" and info["type"] == "ImageService3"
    # Scale factors stop at 64, where the whole sheet (156 x 220) is one tile.
    assert info["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [2 ** i for i in range(7)]}]
    assert {"width": 1, "height": 1} in info["sizes"]
    assert (info["maxWidth"], info["maxHeight"]) == (621, 878)  # the stored `max` image: level 10, within 1 Mpx


@pytest.mark.parametrize(("region", "size", "expected"), [
    ("0,0,256,256", "256,256", (14, 0, 0)),
    ("9728,13824,205,219", "205,219", (14, 38, 54)),        # the bottom-right edge tile, full size
    ("9728,13824,205,219", "205,", (14, 38, 54)),           # IIIF 2 style size
    ("0,0,512,512", "256,256", (13, 0, 0)),
    ("8192,8192,1741,4096", "218,512", None),               # not a tile boundary at that scale
    ("0,0,9933,14043", "39,55", (6, 0, 0)),                  # scale 256: the whole page in one tile
])
def test_iiif_requests_map_onto_dzi_tiles(region, size, expected):
    if expected is None:
        with pytest.raises(NotATile):
            iiif_entry(A0, region, size, "0", "default.jpg")
    else:
        assert iiif_entry(A0, region, size, "0", "default.jpg") == "{}/{}_{}".format(*expected)


def test_iiif_refuses_what_level_0_does_not_serve():
    for rotation, quality in (("90", "default.jpg"), ("0", "gray.jpg"), ("0", "default.png")):
        with pytest.raises(NotATile):
            iiif_entry(A0, "0,0,256,256", "256,256", rotation, quality)
    assert iiif_entry(A0, "full", "1,", "0", "default.jpg") == "0/0_0"


def test_tile_options_are_bounded():
    assert TileOptions.from_dict(None) == TileOptions()
    assert TileOptions.from_dict({"dpi": 150}).dpi == 150
    for bad in ({"dpi": 5000}, {"tile_size": 300}, {"format": "bmp"}, {"quality": 0}, {"colour": "red"}):
        with pytest.raises(ValueError):
            TileOptions.from_dict(bad)
    assert TileOptions(dpi=150).fingerprint() != TileOptions().fingerprint()


def test_page_tasks_round_trip_and_refuse_foreign_messages():
    task = PageTask("ws-a", "doc-0123456789abcdef", "job-1", 3, "v1", "pdf", TileOptions(dpi=200), 7)
    assert PageTask.from_json(task.to_json()) == task
    for body in ('{"v": 2}', "[]", '{"v": 1, "page": 1}'):
        with pytest.raises(ValueError):
            PageTask.from_json(body)


def test_job_ids_are_stable_per_version_settings_and_run():
    assert job_id_for("v1", TileOptions()) == job_id_for("v1", TileOptions())
    assert len({job_id_for("v1", TileOptions()), job_id_for("v2", TileOptions()),
                job_id_for("v1", TileOptions(dpi=150)), job_id_for("v1", TileOptions(), run=1)}) == 4


def test_only_document_sources_are_document_keys():
    key = source_key("ws-a", "doc-0123456789abcdef")
    assert parse_source_key(key) == ("ws-a", "doc-0123456789abcdef")
    for other in ("workspaces/ws-a/uploads/x/a.pdf", "workspaces/../documents/doc-0123456789abcdef/source",
                  key + "/../x", "workspaces/ws-a/documents/doc-XYZ/source"):
        assert parse_source_key(other) is None


def test_tile_grants_are_signed_scoped_and_expire():
    access = TileAccess("secret", documents=None, tiles=None, grant_seconds=3600)  # type: ignore[arg-type]
    grant = access.grant("ws-a", "doc-1", "job-1", now=1_000_000)
    scope = access.verify(grant, now=1_000_000)
    assert (scope.workspace_id, scope.document_id, scope.job_id) == ("ws-a", "doc-1", "job-1")
    # Rounded up to the hour: the same URL for everyone within the hour, so caches share tiles.
    assert access.grant("ws-a", "doc-1", "job-1", now=1_000_000 + 60) == grant
    with pytest.raises(Forbidden):
        access.verify(grant, now=1_000_000 + 3 * 3600)
    body, signature = grant.split(".")
    forged = TileAccess("other secret", None, None, 3600).grant("ws-b", "doc-1", "job-1", now=1_000_000)  # type: ignore[arg-type]
    for bad in (forged, body + "." + signature[::-1], "nonsense", body, "a.b.c"):
        with pytest.raises(NotFound):
            access.verify(bad, now=1_000_000)


def test_multipart_plans_stay_within_s3_limits():
    from chalicelib.services.multipart_uploads import MIN_PART_BYTES, MultipartPlan

    plan = MultipartPlan.for_size(17_000_000)
    assert plan == MultipartPlan(MIN_PART_BYTES, 2, 17_000_000)
    assert plan.part_bytes(1) == MIN_PART_BYTES and plan.part_bytes(2) == 17_000_000 - MIN_PART_BYTES
    huge = MultipartPlan.for_size(5 * 1024**4)  # S3's largest object
    assert huge.part_count <= 10_000 and huge.part_size * huge.part_count >= 5 * 1024**4


def test_digits_that_int_refuses_are_not_tiles():
    for region in ("0,0,\u00b256,256", "\u0660,0,256,256"):  # superscript two, Arabic-Indic zero
        with pytest.raises(NotATile):
            iiif_entry(A0, region, "256,256", "0", "default.jpg")
