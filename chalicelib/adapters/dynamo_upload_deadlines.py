"""A new document's wait for its first upload, in its record (the rest of the document store is in
dynamo_documents.py, which builds on this): the grant's deadline (`upload_deadline`) and the table's TTL
attribute (`expires_at`), which deletes an abandoned document's record some days after the deadline. An
accepted upload removes both; a status other than `awaiting_upload` does too (dynamo_documents.update).
"""

from __future__ import annotations

import contextlib
import time

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.adapters.dynamo_job_notes import DynamoJobNotes, doc_key
from chalicelib.domain.documents import DocumentStatus

# An abandoned upload's document (see Document.abandoned) stays in the table this long after its deadline before
# the table's TTL (`expires_at`) deletes it: far beyond any late settling of its reservation, and beyond the
# bucket's abort of incomplete multipart uploads (seven days after they began).
ABANDONED_KEPT_SECONDS = 8 * 24 * 3600


class DynamoUploadDeadlines(DynamoJobNotes):
    def extend_upload(self, workspace_id: str, document_id: str, deadline: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                UpdateExpression="SET upload_deadline = :d, expires_at = :e",
                # Never earlier: a grant racing a multipart upload's status call, or one after it, keeps the later.
                ConditionExpression="#s = :a AND (attribute_not_exists(upload_deadline) OR upload_deadline < :d)",
                ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=to_item(
                    {":d": deadline, ":e": deadline + ABANDONED_KEPT_SECONDS,
                     ":a": DocumentStatus.AWAITING_UPLOAD.value}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def abandon_upload(self, workspace_id: str, document_id: str) -> bool:
        now = int(time.time())
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                UpdateExpression="SET upload_deadline = :d, expires_at = :e", ConditionExpression="#s = :a",
                ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=to_item(
                    {":d": now - 1, ":e": now + ABANDONED_KEPT_SECONDS, ":a": DocumentStatus.AWAITING_UPLOAD.value}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def upload_arrived(self, workspace_id: str, document_id: str) -> None:
        # Conditional: a new version of a document that has one already, or a redelivery, changes nothing.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(TableName=self._table, Key=to_item(doc_key(workspace_id, document_id)),
                                     UpdateExpression="REMOVE upload_deadline, expires_at",
                                     ConditionExpression="attribute_exists(upload_deadline)")
