"""Sync under faults on purpose, through the real local stack: concurrent writers, function instances paused
and killed mid-invocation (local/stalls.py), DynamoDB writes that fail before or after they happen
(local/emulator_dynamodb.py), and readers joining, resuming and paging throughout. Every intermediate answer
is checked against the final log, not only the end state:

- every fresh join's state is exactly the log's prefix up to its `seq`;
- every history page and every resume is a contiguous run that starts right after what was asked;
- the log has no hole, every acknowledged op is in it once, and nothing refused is;
- clients that joined late and followed live end with the same state.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid

import pytest
import requests

from tests.e2e.api_client import Api
from tests.e2e.sync_client import SyncClient, replay, whole_log

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WRITERS, OPS_EACH, ITEMS = 4, 40, 6


def new_workspace(stack, name: str) -> str:
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": name}, status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
    return workspace


def stall(stack, **order) -> None:
    requests.post(f"http://127.0.0.1:{stack.ports['ws']}/_local/stall", json=order, timeout=10).raise_for_status()


def random_op(rng: random.Random) -> dict:
    item = f"item-{rng.randrange(ITEMS)}"
    kind = rng.choice(["item.create", "item.update", "item.update", "item.delete", "chat"])
    if kind == "chat":
        return {"action": "chat", "text": f"hello {rng.random():.6f}"}
    if kind == "item.delete":
        return {"action": kind, "item_id": item}
    body = {"action": kind, "item_id": item, "fields": {rng.choice("abcd"): rng.choice([rng.randrange(1000), None])}}
    if kind == "item.create":
        body["kind"] = rng.choice(["note", "task"])
    return body


def test_writers_stalls_kills_and_failed_writes_leave_every_answer_a_prefix_of_one_log(stack):
    workspace = new_workspace(stack, f"Faults {uuid.uuid4().hex[:6]}")
    errors: list[BaseException] = []
    done = threading.Event()
    writers = [SyncClient(stack.ws, stack.token(("alice", "bob")[i % 2]), workspace) for i in range(WRITERS)]
    readers: list[SyncClient] = []
    followers = [SyncClient(stack.ws, stack.token("bob"), workspace) for _ in range(2)]
    rest_states: list[dict] = []

    def guarded(work):
        def run():
            try:
                work()
            except BaseException as exc:  # re-raised below with the thread's context
                errors.append(exc)
        return run

    def write(index: int) -> None:
        client, rng = writers[index], random.Random(index)
        client.connect()
        for n in range(OPS_EACH):
            if rng.random() < 0.08:  # a dropped connection; the next write reconnects and resumes
                client.close()
            client.write(random_op(rng), op_id=f"w{index}-{n}")

    def read() -> None:  # fresh joins, resumes and history pages from random points, all the while
        rng = random.Random(99)
        while not done.is_set():
            reader = SyncClient(stack.ws, stack.token("bob"), workspace)
            readers.append(reader)
            reader.connect()
            reader.poll(0.3)
            reader.close()
            reader.connect()  # a resume from where it was
            after = rng.randrange(reader.state.seq + 1)
            page = reader.read({"action": "history", "workspace": workspace, "after": after, "limit": 20})
            reader.seen.pages.append((after, [o["seq"] for o in page["ops"]]))
            reader.close()

    def follow(client: SyncClient) -> None:  # late joiners that stay and apply ops live (and heartbeat)
        time.sleep(2)
        client.connect()
        while not done.is_set():
            client.poll(0.5)

    def rest_reads() -> None:
        api = Api(stack, stack.token("alice"))
        while not done.is_set():
            rest_states.append(api.ok("GET", f"/admin/workspaces/{workspace}/state"))
            time.sleep(1.0)

    def faults() -> None:
        rng = random.Random(5)
        stack.cfg.faults_path.write_text(json.dumps([
            {"action": "TransactWriteItems", "contains": workspace, "when": "after", "probability": 0.1, "count": 12},
            {"action": "TransactWriteItems", "contains": workspace, "when": "before", "probability": 0.1,
             "count": 12}]))
        while not done.is_set():
            stall(stack, seconds=round(rng.uniform(0.3, 1.5), 2), after_ms=rng.randrange(0, 25),
                  kill=rng.random() < 0.15)
            time.sleep(rng.uniform(0.3, 1.0))

    threads = [threading.Thread(target=guarded(lambda i=i: write(i))) for i in range(WRITERS)]
    helpers = [threading.Thread(target=guarded(f)) for f in (read, rest_reads, faults)]
    helpers += [threading.Thread(target=guarded(lambda c=c: follow(c))) for c in followers]
    try:
        for t in threads + helpers:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        done.set()
        for t in helpers:
            t.join(timeout=120)
        stack.cfg.faults_path.unlink(missing_ok=True)
    assert not errors, repr(errors[0])
    applied = requests.get(f"http://127.0.0.1:{stack.ports['ws']}/_local/stall", timeout=10).json()["applied"]
    assert applied >= 5  # function instances really were paused and killed while this ran
    assert sum(w.duplicates for w in writers) > 0  # writes that happened but answered 500 were recognised

    observer = SyncClient(stack.ws, stack.token("alice"), workspace)
    observer.connect()
    log = whole_log(observer)
    observer.close()
    seqs = [o["seq"] for o in log]
    assert seqs == list(range(1, len(log) + 1))  # no hole
    stored = {(o["by"], o.get("op_id")): o["seq"] for o in log}
    assert len(stored) == len(log)  # no op stored twice
    for index, writer in enumerate(writers):
        user = ("alice", "bob")[index % 2]
        assert len(writer.acked) + len(writer.refused) == OPS_EACH  # every op was answered
        for op_id, seq in writer.acked.items():
            assert stored[(user, op_id)] == seq  # acknowledged means stored, at that sequence
        assert not any((user, op_id) in stored for op_id in writer.refused)  # refused means not stored

    for client in [*readers, *writers, *followers, observer]:  # each intermediate answer
        for seq, items in client.seen.states:
            assert items == replay(log, seq), f"a join's state at {seq} is not the log's prefix"
        for after, page in client.seen.pages:
            assert page == list(range(after + 1, after + 1 + len(page))), f"page after {after}: {page}"
        assert all(size < 128 * 1024 for size in client.seen.frames)
    assert len(readers) >= 3 and sum(len(r.seen.states) for r in readers) >= 3
    for state in rest_states:
        assert state["items"] == replay(log, state["seq"])
    final = replay(log, len(log))
    for client in [*followers, *writers]:
        client.close()
        client.resume()
        client.close()
        assert client.state.view()["items"] == final  # late joiners converge
