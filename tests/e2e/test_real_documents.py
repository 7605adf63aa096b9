"""Documents this project did not write (PDFs shipped in Debian packages, installed by
scripts/system-packages.sh) go through the whole pipeline and open as valid pyramids: every tile of every
level of every page decodes, at the size its descriptor implies, and no page of theirs is said to be damaged.

They are tiled at 96 dpi (a workspace setting) to keep the run short; the pyramid code is the same at any
resolution."""

from __future__ import annotations

import io
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.domain.tile_plan import TilePlan
from chalicelib.ports import PageRef
from tests.e2e.api_client import Api

pytestmark = pytest.mark.e2e

REAL_DOCUMENTS = [
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
    Path("/usr/share/doc/ghostscript/GS9_Color_Management.pdf"),
]


def test_real_documents_become_valid_pyramids(stack):
    from PIL import Image

    missing = [str(p) for p in REAL_DOCUMENTS if not p.is_file()]
    assert not missing, f"run scripts/system-packages.sh first; missing {missing}"
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {  # ids are the server's to choose
        "name": f"Real documents {uuid.uuid4().hex[:4]}", "settings": {"tiling": {"dpi": 96}}},
        status=201)["workspace_id"]
    documents = {}
    for path in REAL_DOCUMENTS:
        body = path.read_bytes()
        grant = alice.ok("POST", f"/workspaces/{workspace}/uploads", {
            "filename": path.name, "size": len(body), "content_type": "application/pdf"}, status=201)
        assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
        documents[grant["document_id"]] = path

    deadline = time.time() + 300
    manifests: dict[str, dict] = {}
    while len(manifests) < len(documents):
        assert time.time() < deadline, f"not ready in time: {set(documents) - set(manifests)}"
        for document_id in set(documents) - set(manifests):
            manifest = alice.ok("GET", f"/workspaces/{workspace}/documents/{document_id}")
            assert manifest["status"] != "failed", manifest
            if manifest["status"] == "ready":
                manifests[document_id] = manifest
        time.sleep(1)

    store = S3TileStore(stack.client("s3"), stack.env["KALEXO_TILES_BUCKET"])
    import pymupdf

    for document_id, manifest in manifests.items():
        assert manifest["page_count"] == pymupdf.open(documents[document_id]).page_count
        assert len(manifest["pages"]) == manifest["page_count"]
        assert [p["page"] for p in manifest["pages"] if p["damage"] is not None] == []  # read whole: no warning
        for page in manifest["pages"]:
            size = ET.fromstring(requests.get(page["dzi"], timeout=10).text)[0].attrib
            plan = TilePlan(int(size["Width"]), int(size["Height"]), page["tile_size"])
            ref = PageRef(workspace, document_id, manifest["job_id"], page["page"])
            for level in plan.levels():
                for col in range(level.cols):
                    for row in range(level.rows):
                        tile = store.read(ref, f"{level.level}/{col}_{row}")
                        assert tile is not None, (document_id, page["page"], level.level, col, row)
                        left, top, right, bottom = plan.tile_box(level.level, col, row)
                        with Image.open(io.BytesIO(tile.data)) as image:
                            image.load()  # decodes every pixel: a truncated tile fails here
                            assert image.size == (right - left, bottom - top)
        # One tile per document through the viewer's URL as well.
        first = manifest["pages"][0]
        viewer_tile = requests.get(first["dzi"].removesuffix(".dzi") + "_files/0/0_0.jpeg", timeout=10)
        assert viewer_tile.status_code == 200 and Image.open(io.BytesIO(viewer_tile.content)).size == (1, 1)
