"""Documents, jobs and finished pages in the main table.

The counting that decides when a document is ready is done by DynamoDB, not by the workers: a page is
recorded with `attribute_not_exists` in the same transaction that adds one to its job's `pages_done`, so a
redelivered or duplicated page task counts nothing twice. The transition to ready is a conditional update
(`pages_done = page_count AND state = tiling`) that exactly one worker wins, whichever finished last; the
account's monthly `pages_processed` grows by the page count in that same transaction (once per document, not
once per page: every page transaction touching one usage item would make concurrent pages collide).

Pages are reserved when a job is admitted: the job's record and the month's `pages_admitted` (checked against
the plan with `pages_admitted <= limit - pages`) are one transaction, so racing documents never admit more
pages than the plan allows. A job that fails gives its pages back to the month it was admitted in.

Many functions finish pages of one document at once, so their transactions on its job item conflict
(`TransactionConflict`); those are retried here with jittered backoff, which boto3 does not do.
"""

from __future__ import annotations

import random
import time
from typing import Any

from chalicelib.adapters.dynamo_fail_back import fail_back_items
from chalicelib.adapters.dynamo_items import from_item, query_page, to_item
from chalicelib.adapters.dynamo_job_notes import doc_key, job_key
from chalicelib.adapters.dynamo_job_start import job_start_items
from chalicelib.adapters.dynamo_page_quota import admission, give_back
from chalicelib.adapters.dynamo_upload_deadlines import ABANDONED_KEPT_SECONDS, DynamoUploadDeadlines
from chalicelib.adapters.dynamo_usage import period_of
from chalicelib.domain.documents import Document, DocumentStatus, Job, JobState, PageRecord, PagesRefused
from chalicelib.domain.paging import Page
from chalicelib.port_types import RequestedSince


class DynamoDocumentStore(DynamoUploadDeadlines):
    # documents ------------------------------------------------------------------------------------------
    def create(self, document: Document) -> None:
        item = {**doc_key(document.workspace_id, document.document_id), **document.to_dict(),
                "gsi1pk": f"WORKSPACE#{document.workspace_id}#DOCS",
                "gsi1sk": f"{document.created_at:012d}#{document.document_id}"}
        if document.upload_deadline is not None:
            item["expires_at"] = document.upload_deadline + ABANDONED_KEPT_SECONDS
        self._client.put_item(TableName=self._table, Item=to_item(item),
                              ConditionExpression="attribute_not_exists(pk)")

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                                     ConsistentRead=True).get("Item")
        return Document.from_dict(from_item(item)) if item else None

    def in_workspace(self, workspace_id: str, limit: int, start_key: dict[str, Any] | None) -> Page[Document]:
        items, next_key = query_page(
            self._client, limit, start_key, TableName=self._table, IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p", ExpressionAttributeValues=to_item(
                {":p": f"WORKSPACE#{workspace_id}#DOCS"}), ScanIndexForward=False)
        return Page([Document.from_dict(i) for i in items], next_key)

    def update(self, workspace_id: str, document_id: str, changes: dict[str, Any]) -> None:
        """Set the fields of `changes`; a field given as None is removed."""
        changes = {**changes, "updated_at": int(time.time())}
        names = {f"#{k}": k for k in changes}
        values = to_item({f":{k}": v for k, v in changes.items()})
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k, v in changes.items() if v is not None)
        removed = [f"#{k}" for k, v in changes.items() if v is None]
        if changes.get("status", DocumentStatus.AWAITING_UPLOAD.value) != DocumentStatus.AWAITING_UPLOAD.value:
            removed += ["upload_deadline", "expires_at"]  # the upload arrived: nothing to expire
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        self._client.update_item(TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                                 UpdateExpression=expression, ExpressionAttributeNames=names,
                                 ExpressionAttributeValues=values, ConditionExpression="attribute_exists(pk)")

    def delete(self, workspace_id: str, document_id: str) -> bool:
        """Forget the document: its jobs then conclude as superseded (their document no longer points at them).
        False when there was none."""
        response = self._client.delete_item(TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                                            ReturnValues="ALL_OLD")
        return "Attributes" in response

    # jobs -----------------------------------------------------------------------------------------------
    def job(self, document_id: str, job_id: str) -> Job | None:
        found = self.tiling_job(document_id, job_id)
        return found[0] if found else None

    def tiling_job(self, document_id: str, job_id: str) -> tuple[Job, bool] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(job_key(document_id, job_id)),
                                     ConsistentRead=True).get("Item")
        return (Job.from_dict(from_item(item)), bool(from_item(item).get("first_job"))) if item else None

    def start_job(self, job: Job, document_changes: dict[str, Any], account_id: str = "",
                  page_limit: int | None = None, first: bool = False) -> bool:
        """Record the job, point the document at it and admit its pages against the account's monthly
        `page_limit` (None: no limit), in one transaction; False if the job exists, PagesRefused when the
        plan has no room left, RequestedSince when a newer reprocessing was asked for (dynamo_job_start.py).
        `first`: marked its document's first job if the document still names none."""
        admit = [admission(self._client, self._table, account_id, job, page_limit)] if account_id else []
        try:
            items: list[Any] = [*job_start_items(self._table, job, document_changes, int(time.time()), first), *admit]
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as exc:
            if self._failed_condition(exc, 0):
                return False
            if first and self._failed_condition(exc, 1):  # another job came first after all
                return self.start_job(job, document_changes, account_id, page_limit)
            if job.run and self._failed_condition(exc, 1):
                raise RequestedSince(job.job_id) from exc
            if admit and self._failed_condition(exc, 2):
                raise PagesRefused(job.page_count) from exc  # another job took the room meanwhile
            raise
        return True

    def set_job_state(self, job: Job, state: JobState, reason: str | None = None, account_id: str = "") -> bool:
        """Move a job out of `tiling` (superseded, or failed without touching the document); False when it
        already left it. Its pages go back to the month that admitted them, as a failed job's do: nothing of a
        superseded job is shown (its tiles are removed), and a member whose version lost to another's upload at
        the same moment must not find the plan's pages taken by it. `account_id`: its document's (read when not
        given; a removed document's must be)."""
        now = int(time.time())
        values = {":s": state.value, ":t": JobState.TILING.value, ":now": now, ":g": f"JOBS#{state.value}",
                  ":gs": f"{now:012d}#{job.job_id}", ":r": reason or ""}
        account_id = account_id or (self._account_of(job) if job.page_count else "")
        try:
            self._transact([{"Update": {
                "TableName": self._table, "Key": to_item(job_key(job.document_id, job.job_id)),
                "UpdateExpression": "SET #st = :s, finished_at = :now, updated_at = :now, gsi2pk = :g, gsi2sk = :gs,"
                                    " reason = :r",
                "ConditionExpression": "#st = :t", "ExpressionAttributeNames": {"#st": "state"},
                "ExpressionAttributeValues": to_item(values)}},
                *([give_back(self._table, account_id, job)] if account_id else [])])
        except self._client.exceptions.TransactionCanceledException as exc:
            if self._failed_condition(exc, 0):
                return False
            raise
        return True

    def jobs(self, workspace_id: str, limit: int, start_key: dict[str, Any] | None) -> Page[Job]:
        items, next_key = query_page(
            self._client, limit, start_key, TableName=self._table, IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues=to_item({":p": f"WORKSPACE#{workspace_id}#JOBS"}), ScanIndexForward=False)
        return Page([Job.from_dict(i) for i in items], next_key)

    def jobs_in_state(self, state: JobState, limit: int, start_key: dict[str, Any] | None) -> Page[Job]:
        items, next_key = query_page(
            self._client, limit, start_key, TableName=self._table, IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :p", ExpressionAttributeValues=to_item({":p": f"JOBS#{state.value}"}),
            ScanIndexForward=False)
        return Page([Job.from_dict(i) for i in items], next_key)

    # pages ----------------------------------------------------------------------------------------------
    def page_done(self, account_id: str, job: Job, record: PageRecord) -> bool:
        """Record a finished page and count it, once, while its job is tiling; False when it was recorded
        already, or the job concluded meanwhile (a failed document's count, pages and manifest then agree)."""
        now = int(time.time())
        page_item = {"pk": f"DOC#{job.document_id}", "sk": f"PAGE#{job.job_id}#{record.page:05d}",
                     **record.to_dict(), "done_at": now}
        try:
            self._transact([
                {"Put": {"TableName": self._table, "Item": to_item(page_item),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {"TableName": self._table, "Key": to_item(job_key(job.document_id, job.job_id)),
                            "UpdateExpression": "ADD pages_done :one SET updated_at = :now",
                            "ConditionExpression": "#st = :tiling", "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": to_item({":one": 1, ":now": now,
                                                                  ":tiling": JobState.TILING.value})}},
            ])
        except self._client.exceptions.TransactionCanceledException as exc:
            if self._failed_condition(exc, 0) or self._failed_condition(exc, 1):
                return False
            raise
        return True

    def _transact(self, items: list[Any], attempts: int = 8) -> None:
        """TransactWriteItems, retried while it is cancelled only by conflicts with concurrent transactions."""
        for attempt in range(attempts):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = {r.get("Code") for r in exc.response.get("CancellationReasons", [])} - {"None", None}
                if codes != {"TransactionConflict"} or attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 (jitter)

    def pages(self, document_id: str, job_id: str) -> list[PageRecord]:
        items: list[PageRecord] = []
        start: dict[str, Any] | None = None
        while True:
            batch, start = query_page(
                self._client, 500, start, TableName=self._table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                ExpressionAttributeValues=to_item({":p": f"DOC#{document_id}", ":s": f"PAGE#{job_id}#"}))
            items.extend(PageRecord.from_dict(i) for i in batch)
            if start is None:
                return items

    def page(self, document_id: str, job_id: str, page: int) -> PageRecord | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(
            {"pk": f"DOC#{document_id}", "sk": f"PAGE#{job_id}#{page:05d}"})).get("Item")
        return PageRecord.from_dict(from_item(item)) if item else None

    # completion -----------------------------------------------------------------------------------------
    def finish(self, job: Job, account_id: str) -> bool:
        """Turn job and document ready when every page is counted, and meter its pages: exactly one caller gets
        True. A job the document no longer points at becomes `superseded` instead."""
        usage = {"Update": {"TableName": self._table, "Key": to_item(
            {"pk": f"ACCOUNT#{account_id}", "sk": f"USAGE#{period_of(time.time())}"}),
            "UpdateExpression": "ADD pages_processed :n", "ExpressionAttributeValues": to_item({":n": job.page_count})}}
        return self._conclude(job, JobState.READY, DocumentStatus.READY, None, None,
                              extra_condition="pages_done = page_count", also=[usage])

    def fail(self, job: Job, code: str, reason: str, account_id: str = "", pages_done: int | None = None) -> bool:
        """Fail a job that is still tiling, and its document if it still points at this job (with `pages_done`,
        the job's count as last read, so the record never says failed with an older one); its pages go back to
        the month that admitted them."""
        account_id = account_id or self._account_of(job)
        returned = [give_back(self._table, account_id, job)] if account_id else []
        return self._conclude(job, JobState.FAILED, DocumentStatus.FAILED, code, reason, also=returned,
                              pages_done=pages_done)

    def fail_back(self, job: Job, code: str, reason: str) -> bool | None:
        """Fail a job that replaced a ready one (`job.previous`) and show that one again (dynamo_fail_back.py):
        True. False when the job had left `tiling` already, or its document moved on (then it is failed
        alone); None when the earlier job is no longer ready (`fail` it instead)."""
        try:
            self._transact(fail_back_items(self._table, job, code, reason, self._account_of(job)))
        except self._client.exceptions.TransactionCanceledException as exc:
            if self._failed_condition(exc, 0):
                return False
            if self._failed_condition(exc, 1):
                self.set_job_state(job, JobState.FAILED, reason)
                return False
            if self._failed_condition(exc, 2):
                return None
            raise
        return True

    def _account_of(self, job: Job) -> str:
        item = self._client.get_item(TableName=self._table, Key=to_item(doc_key(job.workspace_id, job.document_id)),
                                     ProjectionExpression="account_id").get("Item")
        return str(from_item(item).get("account_id") or "") if item else ""

    def fail_document(self, workspace_id: str, document_id: str, code: str, reason: str,
                      version_id: str | None = None) -> None:
        """A version that never became a job (rejected at analysis); named, so that it can be retried."""
        self.update(workspace_id, document_id, {"status": DocumentStatus.FAILED.value, "reason": reason,
                                                "reason_code": code, **({"version_id": version_id} if version_id
                                                                        else {})})

    def _conclude(self, job: Job, state: JobState, status: DocumentStatus, code: str | None, reason: str | None,
                  extra_condition: str | None = None, also: list[Any] | None = None,
                  pages_done: int | None = None) -> bool:
        now, ready = int(time.time()), state is JobState.READY
        counted = ready or pages_done is not None
        condition = "#st = :tiling" + (f" AND {extra_condition}" if extra_condition else "")
        job_values = {":s": state.value, ":tiling": JobState.TILING.value, ":now": now,
                      ":g": f"JOBS#{state.value}", ":gs": f"{now:012d}#{job.job_id}", ":r": reason or ""}
        doc_values = {":status": status.value, ":job": job.job_id, ":now": now, ":r": reason or "",
                      ":c": code or "", ":n": job.page_count if ready else pages_done}
        try:
            self._transact([
                {"Update": {"TableName": self._table, "Key": to_item(job_key(job.document_id, job.job_id)),
                            "UpdateExpression": "SET #st = :s, finished_at = :now, updated_at = :now, gsi2pk = :g,"
                                                " gsi2sk = :gs, reason = :r",
                            "ConditionExpression": condition, "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": to_item(job_values)}},
                {"Update": {"TableName": self._table, "Key": to_item(doc_key(job.workspace_id, job.document_id)),
                            "UpdateExpression": "SET #status = :status, updated_at = :now, pages_done = :n REMOVE "
                                                "reason, reason_code, refused_version_id" if ready else
                                                "SET #status = :status, updated_at = :now, reason = :r,"
                                                " reason_code = :c" + (", pages_done = :n" if counted else ""),
                            "ConditionExpression": "job_id = :job", "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_item(
                                {k: v for k, v in doc_values.items() if k not in (":r", ":c")}
                                if state is JobState.READY else
                                {k: v for k, v in doc_values.items() if k != ":n" or counted})}},
                *(also or []),
            ])
        except self._client.exceptions.TransactionCanceledException as exc:
            if self._failed_condition(exc, 0):
                return False
            if self._failed_condition(exc, 1):  # the document moved on to a newer job: conclude this one alone
                self.set_job_state(job, state if state is not JobState.READY else JobState.SUPERSEDED,
                                   reason or "a newer job replaced it")
                return False
            raise
        return True

    @staticmethod
    def _failed_condition(exc: Any, index: int) -> bool:
        reasons = exc.response.get("CancellationReasons", [])
        return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"
