"""Where a wait for one's own upload ends, from a document's fields (docs/protocol.md: shown, refused or passed
over); a `ready` of an earlier version is not an end (an outside tester's wait could end with another's)."""

from __future__ import annotations

from typing import Any

from kalexo_client.documents import not_yet, passed_over, poll_until_processed

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


class Documents:
    """The REST document as successive reads find it (the last one repeats)."""

    def __init__(self, *reads: dict[str, Any]) -> None:
        self.reads = list(reads)

    def document(self, workspace: str, document_id: str) -> dict[str, Any]:
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]


def test_polling_waits_through_an_earlier_version_to_this_uploads_own() -> None:
    earlier = {"status": "ready", "job_id": "job-1", "version_id": EARLIER}
    mine = {"status": "ready", "job_id": "job-2", "version_id": MINE}
    reads = Documents(earlier, earlier, {"status": "tiling", "job_id": "job-2"}, mine)
    found = poll_until_processed(reads, "ws", "doc", baseline_job="job-0", version=MINE,  # type: ignore[arg-type]
                                 interval=0.001, timeout=30)
    assert found is mine


def test_polling_ends_once_another_version_stays_shown() -> None:
    """Its own was shown for less than a poll, then replaced: no trace is left, and the wait must still end."""
    newer = {"status": "ready", "job_id": "job-3", "version_id": NEWER}
    found = poll_until_processed(Documents(newer), "ws", "doc", baseline_job="job-0", version=MINE,  # type: ignore[arg-type]
                                 interval=0.001, timeout=30, patience=0.05)
    assert found is newer
