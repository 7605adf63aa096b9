"""The one-machine default with a large state: resident memory against pages tiled, then a restart.

`python -m bench.local_state [--pages 5000] [--per-document 50] [--state DIR]`

Starts the local stack on a fresh state directory, uploads letter-size PDFs (text, `--per-document` pages
each) as a member would, and after each document is ready prints the pages tiled so far, the S3 objects
stored, the resident memory (RSS) of the whole stack (supervisor and every child) and of the emulator alone,
and the kept state on disk. Then it stops the stack (Ctrl-C), starts it again on the same directory and
prints the start-up time, what was restored and how long that took, and checks that every document is still
ready. The goal (issue 13): under 2 GB resident for the whole stack after 5,000 tiled pages.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.documents_samples import letter_pdf
from tests.e2e.stack import LocalStack, start_stack, stop_stack

WS = "ws-demo"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024**2 if path.exists() else 0.0


def _upload_and_wait(stack: LocalStack, body: bytes, name: str, timeout: float = 1800) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.token('bob')}"}
    grant = requests.post(f"{stack.rest}/workspaces/{WS}/uploads", headers=headers, timeout=30, json={
        "filename": name, "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=60).status_code == 200
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = requests.get(f"{stack.rest}/workspaces/{WS}/documents/{grant['document_id']}", headers=headers,
                                timeout=30).json()
        if document["status"] in ("ready", "failed"):
            return dict(document)
        time.sleep(1.0)
    raise RuntimeError(f"{name} not done in {timeout} s")


def _objects(stack: LocalStack) -> int:
    s3, count = stack.client("s3"), 0
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            count += page.get("KeyCount", 0)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--per-document", type=int, default=50)
    parser.add_argument("--state", help="state directory (default: a temporary one)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(args.state or Path(tmp) / "state")
        settings = {"KALEXO_RATE_LIMIT_PER_MINUTE": "0"}
        stack = start_stack(state, settings=settings)
        rows: list[dict[str, Any]] = []
        documents: list[str] = []
        try:
            body = letter_pdf(pages=args.per_document, text="Kalexo memory benchmark")
            print(f"{'pages':>7} {'objects':>8} {'stack RSS MB':>13} {'emulator RSS MB':>16} {'kept on disk MB':>16}")
            tiled = 0
            while tiled < args.pages:
                document = _upload_and_wait(stack, body, f"report-{len(documents)}.pdf")
                assert document["status"] == "ready", document
                documents.append(document["document_id"])
                tiled += int(document["page_count"])
                emulator = stack.runtime["pids"]["emulator"]
                row = {"pages": tiled, "objects": _objects(stack),
                       "stack_rss_mb": sum(_rss_mb(p) for p in _tree(stack.process.pid)),
                       "emulator_rss_mb": _rss_mb(emulator), "kept_mb": _disk_mb(state / "aws")}
                rows.append(row)
                print(f"{row['pages']:7d} {row['objects']:8d} {row['stack_rss_mb']:13.0f} "
                      f"{row['emulator_rss_mb']:16.0f} {row['kept_mb']:16.0f}", flush=True)
        finally:
            stop_stack(stack)
        started = time.monotonic()
        again = start_stack(state, settings=settings, timeout=1800)
        try:
            start_s = time.monotonic() - started
            restored = next(line for line in again.log(None).splitlines() if "restored" in line)
            headers = {"Authorization": f"Bearer {again.token('bob')}"}
            ready = sum(requests.get(f"{again.rest}/workspaces/{WS}/documents/{d}", headers=headers,
                                     timeout=30).json()["status"] == "ready" for d in documents)
            print(f"\nrestart with {tiled} pages kept: ready in {start_s:.1f} s; {restored.split('] ', 1)[1]}; "
                  f"{ready} of {len(documents)} documents ready; stack RSS after the restart "
                  f"{sum(_rss_mb(p) for p in _tree(again.process.pid)):.0f} MB")
        finally:
            stop_stack(again)
        if args.json:
            Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows,
                                                   "restart_s": start_s, "restored": restored,
                                                   "documents_ready": ready, "documents": len(documents)},
                                                  indent=1))


if __name__ == "__main__":
    main()
