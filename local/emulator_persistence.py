"""What people put in the local stack survives a restart: the emulator's data on disk, in the state directory.

moto keeps everything in one Python heap and forgets it when the process ends. Here, in `<state>/aws/`:
- `objects/`: every S3 object's body is a file of its own from the moment it is written (moto's in-memory
  buffer is replaced), so bodies never sit in the heap and need no copying to be kept;
- `journal.bin`: after every change, the new state of what changed is appended (pickled): a DynamoDB item
  (or its absence), all versions of one S3 key (their metadata and body file names), one SQS message (the
  queue it is in, or its absence). The records of one DynamoDB request (a transaction's items) are one
  record, so a restart never sees half a transaction; an S3 request's are read when it ends (moto sets an
  object's metadata after storing it). A record is flushed to the operating system before the request is answered:
  killing the emulator (or the whole stack, `kill -9`) loses nothing that was acknowledged; a power cut may
  lose the last seconds the OS had not written (no fsync per request);
- `snapshot.pickle`: everything, written when the stack starts (after the journal is replayed onto the last
  snapshot), then the journal starts empty and body files nothing refers to are deleted; also while it runs,
  when the journal passes 512 MB (then no body file is deleted: parts of an upload in progress are in none).

Infrastructure (tables, buckets, queues, their settings) is not kept: each start deploys infra/template.yaml
anew, then `restore()` puts the data back into it. Not kept either: multipart uploads still in progress,
and which SQS messages were in flight (they are visible again after a restart, so they are delivered once
more, as SQS does when a consumer dies), S3 tags, ACLs and object locks, PartiQL writes (the app uses none of
these). Records for a table, bucket or queue missing from one start's template are kept for a later one. The
records are moto's own objects: a state written by another moto
version is refused with a message saying so (`make reset` starts clean).
"""

from __future__ import annotations

import io
import os
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FORMAT = 1
JOURNAL_COMPACT_BYTES = 512 * 1024**2  # a journal this large is folded into a new snapshot while running

Key = tuple[Any, ...]


def describe(root: Path) -> str:
    """What a kept state holds, in words (for `python -m local reset`)."""
    objects = root / "objects"
    if not objects.exists():
        return "no kept data"
    files = [p for p in objects.iterdir() if p.is_file()]
    size = sum(p.stat().st_size for p in files) + sum(
        p.stat().st_size for p in (root / "journal.bin", root / "snapshot.pickle") if p.exists())
    return (f"every account, user, token, workspace, op, item and document kept there ({len(files)} object "
            f"bodies, {size / 1024**2:.1f} MB in all)")


class DiskBody(io.RawIOBase):
    """An S3 object's body as a file of its own, opened only while it is read or written (a stack holds
    hundreds of thousands of tiles: one open descriptor each would not do)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path, self._position = path, 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        size = self.path.stat().st_size if self.path.exists() else 0
        self._position = {io.SEEK_SET: offset, io.SEEK_CUR: self._position + offset, io.SEEK_END: size + offset}[
            whence]
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        with open(self.path, "rb") as file:  # a body file that is gone is an error, never an empty object
            file.seek(self._position)
            data = file.read() if size is None or size < 0 else file.read(size)
        self._position += len(data)
        return data

    def write(self, data: Any) -> int:
        with open(self.path, "r+b" if self.path.exists() else "wb") as file:
            file.seek(self._position)
            written = file.write(data)
        self._position += written
        return written

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        with open(self.path, "r+b" if self.path.exists() else "wb") as file:
            file.truncate(size)
        return size

    def close(self) -> None:
        pass  # nothing is held open; the file stays until no kept state names it (Store.compact)


class Store:
    """The journal and the snapshot of one state directory."""

    def __init__(self, root: Path, version: str) -> None:
        self.root, self.version = root, version
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._journal_path, self._snapshot_path = root / "journal.bin", root / "snapshot.pickle"
        self._journal: Any = None
        self._lock = threading.RLock()
        self._pending = threading.local()  # the records of one request, written as one
        self.recording = False

    def new_body(self) -> DiskBody:
        return DiskBody(self.objects / uuid.uuid4().hex)

    def empty(self) -> bool:
        return not self._snapshot_path.exists() and not (self._journal_path.exists()
                                                         and self._journal_path.stat().st_size)

    # -- writing ---------------------------------------------------------------------------------------
    @contextmanager
    def one_record(self) -> Iterator[None]:
        """Everything recorded inside is read and appended as one record when the block ends (so what is kept
        is the state at the end of the request: an S3 object's metadata set after it was stored included)."""
        if getattr(self._pending, "reads", None) is not None:
            yield
            return
        self._pending.reads = {}
        try:
            yield
        finally:
            reads, self._pending.reads = self._pending.reads, None
            if reads and self.recording:
                with self._lock:
                    self._append({key: read() for key, read in reads.items()})

    def record(self, key: Key, read: Callable[[], Any]) -> None:
        """Keep the current state of `key`, as `read` returns it under the store's lock (so records are in
        the order of the changes they follow): now, or when the enclosing `one_record` block ends."""
        if not self.recording:
            return
        pending = getattr(self._pending, "reads", None)
        if pending is not None:
            pending[key] = read
            return
        with self._lock:
            self._append({key: read()})

    def _append(self, records: dict[Key, Any]) -> None:
        with self._lock:
            pickle.dump(records, self._journal, protocol=pickle.HIGHEST_PROTOCOL)
            self._journal.flush()
            if self._journal.tell() > JOURNAL_COMPACT_BYTES:
                self._pending_compaction = True

    # -- reading, at start ---------------------------------------------------------------------------
    def load(self) -> dict[Key, Any]:
        """The kept state: the snapshot with the journal's records over it (a torn last record is dropped)."""
        state: dict[Key, Any] = {}
        if self._snapshot_path.exists():
            with open(self._snapshot_path, "rb") as file:
                header = pickle.load(file)  # noqa: S301 - the developer's own state directory
                if header.get("moto") != self.version or header.get("format") != FORMAT:
                    raise RuntimeError(
                        f"the local state in {self.root} was written by moto {header.get('moto')} (format "
                        f"{header.get('format')}); this emulator is moto {self.version}. `make reset` starts "
                        "clean (it deletes that state).")
                state.update(pickle.load(file))  # noqa: S301
        if self._journal_path.exists():
            with open(self._journal_path, "rb") as file:
                while True:
                    try:
                        state.update(pickle.load(file))  # noqa: S301
                    except EOFError:
                        break
                    except (pickle.UnpicklingError, ValueError, AttributeError, IndexError):
                        break  # the emulator was killed while appending: that record was never acknowledged
        return state

    @property
    def lock(self) -> threading.RLock:
        """Held while a record is taken and written: whoever holds it sees no record written meanwhile."""
        return self._lock

    def compact(self, state: dict[Key, Any], delete_unreferenced: bool) -> int:
        """Write `state` as the snapshot, start an empty journal, and (`delete_unreferenced`: at start, when no
        upload is in progress) delete body files no kept key names (collected while the state is pickled:
        `referenced`). Returns the snapshot's size."""
        with self._lock:
            names = self.referenced = set()
            temporary = self._snapshot_path.with_suffix(".tmp")
            with open(temporary, "wb") as file:
                pickle.dump({"format": FORMAT, "moto": self.version, "written_at": time.time()}, file)
                pickle.dump({k: v for k, v in state.items() if v is not None}, file,
                            protocol=pickle.HIGHEST_PROTOCOL)
                file.flush()
                os.fsync(file.fileno())
            self.referenced = None
            os.replace(temporary, self._snapshot_path)
            if self._journal is not None:
                self._journal.close()
            self._journal = open(self._journal_path, "wb")  # open for the emulator's life
            self._pending_compaction = False
            settled = time.time() - 600  # a body written in the last minutes may belong to a write in flight
            for path in self.objects.iterdir() if delete_unreferenced else ():
                if path.name not in names and path.stat().st_mtime < settled:
                    path.unlink(missing_ok=True)
            return self._snapshot_path.stat().st_size

    _pending_compaction = False
    referenced: set[str] | None = None

    @property
    def wants_compaction(self) -> bool:
        return self._pending_compaction
