"""Documents served to the standards, through the whole local stack: tile grants read strictly and checked
against their workspace on every route, IIIF ids from configuration only, IIIF Image API 3.0 level 0 as IIIF's
own validator checks it (a JPEG-tiled and a PNG-tiled document), and RFC 9110/9111 conditional requests."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.services.tile_access import TileAccess
from tests.e2e.api_client import Api
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.stack import LocalStack, start_stack, stop_stack
from tests.e2e.test_documents import settle, upload

pytestmark = pytest.mark.e2e
WS = "ws-demo"
VALIDATOR = Path(sys.executable).with_name("iiif-validate.py")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def validator_pattern() -> bytes:
    """The image IIIF's validator expects: 1000 x 1000, a 10 x 10 grid of 100 px squares of its colours."""
    from iiif_validator.validator import ValidationInfo
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1000, 1000))
    draw = ImageDraw.Draw(image)
    for x, column in enumerate(ValidationInfo().colorInfo):
        for y, colour in enumerate(column):
            draw.rectangle((x * 100, y * 100, x * 100 + 99, y * 100 + 99), fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def ready(api: Api, name: str, body: bytes, content_type: str, options: dict[str, Any] | None = None) -> Any:
    document = settle(api, upload(api, name, body, content_type)["document_id"])
    if options is None:
        assert document["status"] == "ready", document
        return document
    path = f"/workspaces/{WS}/documents/{document['document_id']}"
    api.ok("POST", f"{path}/reprocess", {"options": options}, status=202)
    deadline = time.time() + 90
    while time.time() < deadline:
        again = api.ok("GET", path)
        if again["status"] == "ready" and again["job_id"] != document["job_id"]:
            return again
        time.sleep(0.5)
    pytest.fail(f"{name} not reprocessed with {options}")


@pytest.fixture(scope="module")
def alice(stack: LocalStack) -> Api:
    return Api(stack, stack.token("alice"))


@pytest.fixture(scope="module")
def letter(alice: Api) -> Any:
    return ready(alice, "letter.pdf", letter_pdf(1, text="standards"), "application/pdf")


@pytest.fixture(scope="module")
def patterns(alice: Api) -> dict[str, Any]:
    """The validator's image tiled as JPEG (the default) and as PNG."""
    return {fmt: ready(alice, f"pattern-{fmt}.png", validator_pattern(), "image/png", options)
            for fmt, options in (("jpeg", None), ("png", {"format": "png"}))}


def grant_of(page: dict[str, Any]) -> str:
    return str(page["dzi"].split("/tiles/")[1].split("/")[0])


def urls(stack: LocalStack, grant: str) -> dict[str, str]:
    return {"dzi": f"{stack.rest}/tiles/{grant}/0/page.dzi",
            "tile": f"{stack.rest}/tiles/{grant}/0/page_files/0/0_0.jpeg",
            "thumbnail": f"{stack.rest}/tiles/{grant}/0/thumbnail.jpg",
            "info": f"{stack.rest}/iiif/{grant}/0/info.json",
            "image": f"{stack.rest}/iiif/{grant}/0/full/1,1/0/default.jpg"}


def test_grants_are_read_in_their_one_canonical_spelling(stack, letter):
    grant = grant_of(letter["pages"][0])
    body, signature = grant.split(".")
    spellings = [f"{body}..{signature}", f"{body}.{signature}=", f"{body}=.{signature}", f"{body}.{signature}.",
                 f"{body}.{signature[:9]}*{signature[9:]}", f"{body[:5]}~{body[5:]}.{signature}"]
    if len(body) % 4:  # the last character carries unused bits: flipping one spells the same bytes
        spellings.append(f"{body[:-1]}{ALPHABET[ALPHABET.index(body[-1]) ^ 1]}.{signature}")
    for name, url in urls(stack, grant).items():
        assert requests.get(url, timeout=10).status_code == 200, name
        for spelling in spellings:
            answer = requests.get(url.replace(grant, spelling), timeout=10)
            assert answer.status_code == 404, (name, spelling, answer.status_code)


def test_every_route_checks_the_grants_workspace(stack, letter):
    """A grant signed with the stack's own secret for the document's job, but naming another workspace."""
    elsewhere = TileAccess(stack.env["KALEXO_JWT_SECRET"], None, None, 3600).grant(  # type: ignore[arg-type]
        "ws-elsewhere", letter["document_id"], letter["job_id"])
    for name, url in urls(stack, elsewhere).items():
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 404, (name, answer.status_code, answer.text)


def test_iiif_ids_come_from_configuration_not_from_request_headers(stack, letter):
    assert stack.env["KALEXO_PUBLIC_API_URL"] == stack.rest
    info_url = letter["pages"][0]["iiif"]
    spoofed = requests.get(info_url, headers={"Host": "evil.example", "X-Forwarded-Proto": "javascript"},
                           timeout=10)
    assert spoofed.status_code == 200
    assert spoofed.json()["id"] == info_url.removesuffix("/info.json")
    assert spoofed.json()["id"].startswith(f"{stack.rest}/iiif/")


@pytest.fixture
def unconfigured(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own whose public URL is set empty, as on a deployment that names none."""
    running = start_stack(tmp_path / "unconfigured", settings={"KALEXO_PUBLIC_API_URL": ""})
    try:
        yield running
    finally:
        stop_stack(running)


def test_without_a_configured_url_iiif_is_not_offered_and_deep_zoom_still_is(unconfigured):
    bob = Api(unconfigured, unconfigured.token("bob"))
    page = ready(bob, "unconfigured.pdf", letter_pdf(1), "application/pdf")["pages"][0]
    for headers in ({}, {"Host": "evil.example", "X-Forwarded-Proto": "javascript"}):
        answer = requests.get(page["iiif"], headers=headers, timeout=10)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "iiif_unavailable", answer.text
        assert "evil.example" not in answer.text
    assert requests.get(page["dzi"], timeout=10).status_code == 200


def test_a_letter_page_has_sane_scale_factors_and_a_declared_max(letter):
    from PIL import Image

    info = requests.get(letter["pages"][0]["iiif"], timeout=10).json()
    assert (info["width"], info["height"]) == (2550, 3300)
    # 2550 x 3300 in 256 px tiles: one tile at scale 16 (160 x 207), so the scale factors stop there.
    assert info["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4, 8, 16]}]
    assert (info["maxWidth"], info["maxHeight"]) == (638, 825)
    assert {"width": 638, "height": 825} in info["sizes"] and {"width": 160, "height": 207} in info["sizes"]
    whole = requests.get(f"{info['id']}/full/max/0/default.jpg", timeout=10)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(whole.content)).size == (638, 825)
    assert requests.get(f"{info['id']}/full/638,825/0/default.jpg", timeout=10).content == whole.content
    assert requests.get(f"{info['id']}/full/full/0/default.jpg", timeout=10).status_code == 400  # 3.0 says max


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_iiifs_own_validator_passes_level_0(stack, patterns, fmt):
    page = patterns[fmt]["pages"][0]
    assert (page["format"], page["width"], page["height"]) == (fmt, 1000, 1000)
    prefix = page["iiif"].removeprefix(f"{stack.rest}/").removesuffix("/0/info.json")
    run = subprocess.run([sys.executable, str(VALIDATOR), "--server", stack.rest.removeprefix("http://"),
                          "--prefix", prefix, "--identifier", "0", "--version", "3.0", "--level", "0"],
                         capture_output=True, text=True, timeout=120, check=False)
    report = run.stdout + run.stderr
    done = re.search(r"Done \((\d+) tests, (\d+) failures\)", report)
    assert run.returncode == 0 and done and int(done.group(1)) >= 5 and done.group(2) == "0", report


def test_a_png_document_says_so_and_serves_png(patterns):
    from PIL import Image

    info = requests.get(patterns["png"]["pages"][0]["iiif"], timeout=10).json()
    assert info["extraFormats"] == info["preferredFormats"] == ["png"]
    tile = requests.get(f"{info['id']}/0,0,256,256/256,256/0/default.png", timeout=10)
    assert tile.status_code == 200 and tile.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(tile.content)).format == "PNG"
    smallest = requests.get(f"{info['id']}/full/1,1/0/default.png", timeout=10)
    assert smallest.status_code == 200 and smallest.headers["Content-Type"] == "image/png"
    # Its tiles are not offered as JPEG (level 0 serves what is stored); its `max` image is.
    assert requests.get(f"{info['id']}/0,0,256,256/256,256/0/default.jpg", timeout=10).status_code == 400
    assert requests.get(f"{info['id']}/full/max/0/default.jpg", timeout=10).headers["Content-Type"] == "image/jpeg"
    jpeg_info = requests.get(patterns["jpeg"]["pages"][0]["iiif"], timeout=10).json()
    assert "extraFormats" not in jpeg_info and "preferredFormats" not in jpeg_info
    # Deep Zoom: one URL per tile, the one its descriptor names; another format's extension is no tile.
    for fmt, other in (("png", "jpeg"), ("jpeg", "png")):
        base = patterns[fmt]["pages"][0]["dzi"].removesuffix(".dzi") + "_files/0/0_0"
        right = requests.get(f"{base}.{fmt}", timeout=10)
        assert right.status_code == 200 and right.headers["Content-Type"] == f"image/{fmt}", (fmt, right.text)
        for method in (requests.get, requests.head):
            wrong = method(f"{base}.{other}", timeout=10)
            assert wrong.status_code == 404, (fmt, other, wrong.status_code)
        assert requests.get(f"{base}.{other}", timeout=10).json()["error"]["code"] == "no_such_tile"
        # A miss says which: a tile outside its level, or a page the document does not have (a client from the
        # docs alone read "no such tile (or the page is not ready)" for both).
        outside = requests.get(base.replace("_files/0/0_0", "_files/0/1_0") + f".{fmt}", timeout=10).json()
        assert outside["error"]["code"] == "no_such_tile" and "not ready" not in outside["error"]["message"]
        pages = len(patterns[fmt]["pages"])
        beyond = base.replace(f"/{patterns[fmt]['pages'][0]['page']}/page_files", f"/{pages}/page_files")
        assert requests.get(f"{beyond}.{fmt}", timeout=10).json()["error"]["code"] == "no_such_page"
        # An image for whoever accepts one; anyone else is told so in the API's error shape (406).
        for accept, status in (("application/json", 406), ("text/html", 406), ("image/*;q=0", 406),
                               ("*/*;q=0, text/html", 406), ("image/png", 200),
                               ("image/avif,image/webp,*/*;q=0.8", 200), ("image/*", 200)):
            answer = requests.get(f"{base}.{fmt}", headers={"Accept": accept}, timeout=10)
            assert answer.status_code == status, (accept, answer.status_code, answer.text[:200])
            if status == 406:
                assert answer.json()["error"]["code"] == "not_acceptable", answer.text
        # Numbers in their one spelling: a leading zero is another URL for the same image.
        root = base.removesuffix("_files/0/0_0")
        for spelling in (f"{root}_files/00/0_0.{fmt}", f"{root}_files/0/00_0.{fmt}", f"{root}_files/0/0_00.{fmt}",
                         root.replace("/0/page", "/00/page") + f"_files/0/0_0.{fmt}"):
            answer = requests.get(spelling, timeout=10)
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_tile", (spelling, answer.text)


def _conditional(url: str) -> None:
    first = requests.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["ETag"].startswith('"'), (url, first.headers)
    etag = first.headers["ETag"]
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = requests.get(url, headers={"If-None-Match": if_none_match}, timeout=10)
        assert again.status_code == 304 and again.content == b"", (url, if_none_match)
        for header in ("ETag", "Cache-Control", "Expires", "Content-Type"):
            assert again.headers.get(header) == first.headers[header], (url, header, again.headers)
        assert again.headers.get("Content-Length") in (None, first.headers.get("Content-Length")), again.headers
    other = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=10)
    assert other.status_code == 200 and other.content == first.content


def test_304s_carry_what_the_200_would_and_descriptors_have_etags(letter):
    page = letter["pages"][0]
    files = page["dzi"].removesuffix(".dzi") + "_files"
    for url in (f"{files}/12/0_0.jpeg", page["thumbnail"], page["dzi"], page["iiif"],
                page["iiif"].replace("info.json", "full/max/0/default.jpg")):
        _conditional(url)
    info = requests.get(page["iiif"], timeout=10)
    assert info.headers["Content-Type"].startswith("application/ld+json")
    assert requests.get(page["dzi"], timeout=10).headers["Content-Type"] == "application/xml"
