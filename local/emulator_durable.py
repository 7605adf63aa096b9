"""The emulator's side of durable local state (local/emulator_persistence.py says what is kept and how): moto's
S3 bodies moved to files, its DynamoDB, S3 and SQS changes recorded as they happen, and everything put back
after a start's deploy. Only the emulator process imports this."""

from __future__ import annotations

import json
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import moto

from local import emulator_dynamodb
from local.emulator_persistence import DiskBody, Key, Store


def install(root: Path) -> Store:
    store = Store(root, moto.__version__)
    _bodies_on_disk(store)
    _record_dynamodb(store)
    _record_s3(store)
    _record_sqs(store)
    emulator_dynamodb.request_scope = store.one_record  # a transaction's items are one record
    return store


# -- S3 bodies ---------------------------------------------------------------------------------------------
def _bodies_on_disk(store: Store) -> None:
    import moto.s3.models as s3_models
    from moto.s3.models import FakeKey

    # moto buffers each body in a SpooledTemporaryFile (in memory up to 5 MB): 2,100 tiled pages held 12.7 GB.
    s3_models.tempfile = types.SimpleNamespace(  # type: ignore[assignment,attr-defined]
        SpooledTemporaryFile=lambda *args, **kwargs: store.new_body())

    def getstate(self: Any) -> dict[str, Any]:
        state: dict[str, Any] = dict(self.__dict__)
        body = state.pop("_value_buffer")
        state.pop("lock", None)
        state["_kalexo_body"] = body.path.name
        if store.referenced is not None:
            store.referenced.add(body.path.name)
        return state

    def setstate(self: Any, state: dict[str, Any]) -> None:
        name = state.pop("_kalexo_body")
        self.__dict__.update(state)
        self.lock = threading.Lock()
        self._value_buffer = DiskBody(store.objects / name)

    FakeKey.__getstate__ = getstate  # type: ignore[method-assign]
    FakeKey.__setstate__ = setstate  # type: ignore[method-assign]


# -- recording ---------------------------------------------------------------------------------------------
def _record_dynamodb(store: Store) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    def keep(backend: Any, table_name: str, attrs: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        store.record(("ddb", backend.account_id, backend.region_name, table_name, hash_key, range_key),
                     lambda: table.get_item(hash_key, range_key))

    def wrap(name: str, attrs_of: Any) -> None:
        original = getattr(DynamoDBBackend, name)

        def recorded(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            result = original(self, table_name, *args, **kwargs)
            keep(self, table_name, attrs_of(args, kwargs))
            return result

        setattr(DynamoDBBackend, name, recorded)

    wrap("put_item", lambda args, kwargs: args[0] if args else kwargs["item_attrs"])
    wrap("update_item", lambda args, kwargs: args[0] if args else kwargs["key"])
    wrap("delete_item", lambda args, kwargs: args[0] if args else kwargs["key"])


def _record_s3(store: Store) -> None:
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    def wrap(name: str) -> None:
        original = getattr(S3Backend, name)

        def recorded(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            result = original(self, bucket_name, key_name, *args, **kwargs)
            bucket = self.get_bucket(bucket_name)
            store.record(("s3", self.account_id, self.region_name, bucket_name, key_name),
                         lambda: list(bucket.keys.getlist(key_name, [])) or None)
            return result

        setattr(S3Backend, name, recorded)

    for name in ("put_object", "delete_object"):  # multipart completion and copies end in put_object
        wrap(name)

    # The versions recorded above are pickled when the request ends: moto's response layer sets an object's
    # content type, metadata and checksum after put_object returns.
    def whole_request(name: str) -> None:
        original = getattr(S3Response, name)

        def scoped(self: Any, *args: Any, **kwargs: Any) -> Any:
            with store.one_record():
                return original(self, *args, **kwargs)

        setattr(S3Response, name, scoped)

    for name in ("key_response", "bucket_response"):
        whole_request(name)


def _record_sqs(store: Store) -> None:
    """Each message by its id: the queue it is in now and its body, or None once deleted. Recorded where moto
    puts a message into a queue (a send, and the move to a dead-letter queue after maxReceiveCount receives)
    and where a message is deleted or purged. A FIFO duplicate that moto drops is not recorded."""
    from moto.sqs.models import Queue, SQSBackend

    def keep(queue: Any, message: Any) -> None:
        store.record(("sqs", queue.account_id, queue.region, message.id),
                     lambda: (queue.name, message) if message in queue._messages else None)

    original_add, original_delete, original_purge = (
        Queue.add_message, SQSBackend.delete_message, SQSBackend.purge_queue)

    def add_message(self: Any, message: Any) -> None:
        original_add(self, message)
        keep(self, message)

    def delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
        queue = self.get_queue(queue_name)
        messages = [m for m in queue._messages if m.had_receipt_handle(receipt_handle)]
        original_delete(self, queue_name, receipt_handle)
        for message in messages:
            keep(queue, message)

    def purge_queue(self: Any, queue_name: str) -> None:
        queue = self.get_queue(queue_name)
        messages = list(queue._messages)
        original_purge(self, queue_name)
        for message in messages:
            keep(queue, message)

    Queue.add_message = add_message  # type: ignore[method-assign]
    SQSBackend.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]


# -- the whole state ---------------------------------------------------------------------------------------
def _everything() -> Iterator[tuple[Key, Any]]:
    yield from _dynamodb_items()
    yield from _s3_keys()
    yield from _sqs_messages()


def _dynamodb_items() -> Iterator[tuple[Key, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    for account, regions in list(dynamodb_backends.items()):
        for region, backend in list(regions.items()):
            for name, table in list(backend.tables.items()):
                for hash_key, entry in list(table.items.items()):
                    if not table.range_key_attr:
                        yield ("ddb", account, region, name, hash_key, None), entry
                        continue
                    for range_key, item in list(entry.items()):
                        yield ("ddb", account, region, name, hash_key, range_key), item


def _s3_keys() -> Iterator[tuple[Key, Any]]:
    from moto.s3.models import s3_backends

    for account, partitions in list(s3_backends.items()):
        for backend in list(partitions.values()):
            for name, bucket in list(backend.buckets.items()):
                for key_name in list(bucket.keys.keys()):
                    versions = list(bucket.keys.getlist(key_name, []))
                    if versions:
                        yield ("s3", account, backend.region_name, name, key_name), versions


def _sqs_messages() -> Iterator[tuple[Key, Any]]:
    from moto.sqs.models import sqs_backends

    for account, regions in list(sqs_backends.items()):
        for region, backend in list(regions.items()):
            for name, queue in list(backend.queues.items()):
                for message in list(queue._messages):
                    yield ("sqs", account, region, message.id), (name, message)


def restore(store: Store) -> dict[str, Any]:
    """Put the kept state into the freshly deployed emulator, fold it into a new snapshot, start recording."""
    started = time.monotonic()
    fresh = store.empty()
    counts = {"items": 0, "objects": 0, "messages": 0, "skipped": 0}
    queued: dict[Any, list[Any]] = {}
    skipped: dict[Key, Any] = {}  # for a table, bucket or queue not in this template: kept for a later start
    for key, value in store.load().items():
        if value is not None:
            counted = _put_back(key, value, queued)
            counts[counted] += 1
            if counted == "skipped":
                skipped[key] = value
    for queue, messages in queued.items():
        queue._messages.extend(sorted(messages, key=lambda m: m.sent_timestamp or 0))
    size = store.compact({**skipped, **dict(_everything())}, delete_unreferenced=True)
    store.recording = True
    return {"restored": not fresh, **counts, "snapshot_bytes": size, "seconds": round(time.monotonic() - started, 2)}


def _put_back(key: Key, value: Any, queued: dict[Any, list[Any]]) -> str:
    """One kept record into the emulator; the count it adds to ("skipped": its table, bucket or queue is not
    in the template any more, or the table's keys changed). SQS records are (queue name, message)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    kind, account, region, container, *rest = key
    if kind == "ddb":
        table = dynamodb_backends[account][region].tables.get(container)
        if table is None or (rest[1] is None) != (table.range_key_attr is None):  # gone, or its keys changed
            return "skipped"
        if rest[1] is not None:
            table.items[rest[0]][rest[1]] = value
        else:
            table.items[rest[0]] = value
        return "items"
    if kind == "s3":
        bucket = _bucket(s3_backends, account, container)
        if bucket is None:
            return "skipped"
        bucket.keys.setlist(rest[0], value)
        return "objects"
    queue_name, value = value
    queue = sqs_backends[account][region].queues.get(queue_name)
    if queue is None:
        return "skipped"
    value.visible_at = 0.0  # in flight when the emulator stopped: delivered again
    queued.setdefault(queue, []).append(value)
    return "messages"


def _bucket(backends: Any, account: str, name: str) -> Any:
    for backend in backends[account].values():
        if name in backend.buckets:
            return backend.buckets[name]
    return None


def compact_while_running(store: Store) -> None:
    """Fold a large journal into a new snapshot. Writes wait meanwhile (DynamoDB's lock and the store's)."""
    with emulator_dynamodb.serialized(), store.lock:  # no record can fall between the state read and the new journal
        for _ in range(5):
            try:
                store.compact(dict(_everything()), delete_unreferenced=False)  # parts of uploads in progress
                return
            except RuntimeError:  # an S3 or SQS change while the state was read: read it again
                time.sleep(0.1)


def serve(app: Any, store: Store) -> Any:
    """The emulator's WSGI app with `POST /_kalexo/restore` (the supervisor calls it after each start's
    deploy), and a thread that folds a large journal into a new snapshot."""

    def compact_large_journals() -> None:
        while True:
            time.sleep(30)
            if store.wants_compaction:
                compact_while_running(store)

    threading.Thread(target=compact_large_journals, name="compaction", daemon=True).start()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/_kalexo/restore" or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        try:
            status, body = "200 OK", restore(store)
        except Exception as exc:  # the supervisor shows it and stops: starting over the state would lose it
            status, body = "500 Internal Server Error", {"error": f"{type(exc).__name__}: {exc}"}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return wsgi
