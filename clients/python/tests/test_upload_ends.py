"""Where a wait for one's own upload ends, from a document's fields (docs/protocol.md: shown, refused or passed
over); a `ready` of an earlier version is not an end (an outside tester's wait could end with another's)."""

from __future__ import annotations

from kalexo_client.documents import not_yet, passed_over

MINE, EARLIER, NEWER = "v-mine", "v-earlier", "v-newer"


def test_an_earlier_version_ready_is_not_this_uploads_end() -> None:
    assert not_yet({"status": "ready", "version_id": EARLIER}, MINE)
    assert not not_yet({"status": "ready", "version_id": MINE}, MINE)  # shown: the end
    assert not not_yet({"status": "tiling", "version_id": EARLIER}, MINE)  # not `ready`: the usual rules
    assert not not_yet({"status": "ready", "version_id": EARLIER}, None)  # version unknown: as before
    assert not not_yet({"status": "ready"}, MINE)  # an item from before items named their version


def test_a_refused_or_passed_over_version_ends_the_wait() -> None:
    refused = {"status": "ready", "version_id": EARLIER, "refused_version_id": MINE}
    assert not not_yet(refused, MINE)
    overtaken = {"status": "ready", "version_id": NEWER, "passed_over": [MINE, EARLIER]}
    assert passed_over(overtaken, MINE) and not not_yet(overtaken, MINE)
    assert not passed_over(overtaken, NEWER) and not passed_over({"passed_over": None}, MINE)
