"""Versions that will never be shown, so that their uploaders can be told.

Two members uploading a new version of one document at the same moment: S3 keeps both, and only the newest
is processed (an older one's notification is skipped once a newer version exists, or its job is superseded
when the newer one's starts). The older upload's member used to see their upload disappear and the document
then show someone else's file under the name they had just replaced (outside tester 4).

The moment to say so is when a newer version's job starts: before that the older one may still be processed
(the newer one can be refused at analysis, and then the newest version below it is). A job started for
version W passes over every version between the one its document showed and W; the one shown is passed over
too when its job was still tiling (superseded part-way). Versions refused on their own (a failed job of no
pages) are left out: their uploaders were told why. A version passed over that is processed after all (the
newer one failed while it was tiled, and the one it displaced is tiled again) leaves the list when its own
job starts. The list is the document's (`passed_over`, on its record and its item), newest first, the last
PASSED_OVER_KEPT: an uploader looks for its own version there, whenever it reads the item.

A job that finished just before the newer one started was shown: its `ready` still goes out while the newer
version is analysed (document_news.as_of). Only if that report comes after the newer job's start (a function
paused between the two) is it never heard; DocumentNews then lists its version here (`unheard`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.domain.documents import Document, JobState, source_key

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, SourceStore

PASSED_OVER_KEPT = 20


def passed_over(documents: DocumentRecords, sources: SourceStore, document: Document, version_id: str,
                job_of: Callable[[str], str]) -> list[str] | None:
    """The document's list once a job of `version_id` starts, or None when it does not change. `job_of(version)`:
    the job id a version's first job has (a version refused at analysis has that job, failed)."""
    earlier = list(document.passed_over or [])
    kept = [v for v in earlier if v != version_id]
    new: list[str] = []
    shown = document.version_id
    if document.job_id is not None and shown is not None and version_id not in ("null", shown):
        # Only for a new version of a processed document: a first job, or a reprocessing, passes over nothing.
        versions = sources.versions(source_key(document.workspace_id, document.document_id))
        older = versions[versions.index(version_id) + 1:] if version_id in versions else []
        if shown in older:
            new = older[:older.index(shown)]
            current = documents.job(document.document_id, document.job_id)
            if current is not None and current.state is JobState.TILING:
                new.append(shown)  # its job is superseded part-way by this one
        new = [v for v in new if v not in kept and not _refused(documents, document.document_id, job_of(v))]
    result = (new + kept)[:PASSED_OVER_KEPT]
    return result if result != earlier else None


def _refused(documents: DocumentRecords, document_id: str, job_id: str) -> bool:
    job = documents.job(document_id, job_id)
    return job is not None and job.state is JobState.FAILED
