"""The document pipeline end to end on the local stack: upload -> first page visible -> ready.

`python -m bench.pipeline [--pages 50] [--a0-sheets 6]` starts the local stack, makes the benchmark's inputs
(the 50-page letter-size report with text, tables, vector charts and photos, the A0 vector sheet alone, and a
drawing set of A0 sheets in one PDF, from bench/tiling_inputs.py), and for each: uploads it as a member would
(presigned PUT), then measures from the end of the upload (after a warm-up upload, whose cold-start figure is
printed apart)
- to the first `progress` message on a member's websocket;
- to the first page being visible: listed in the manifest with its top-left tile answering 200;
- to `ready` (every page), with pages per second through the stack's worker processes;
and the emulator's requests per page (S3, SQS, DynamoDB; from its request log). The goal is the first page
visible within 1.5 s of the upload for the 50-page PDF.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.router_fanout import _emulator_requests
from bench.tiling_inputs import a0_set, a0_sheet, report_pdf
from tests.e2e.stack import LocalStack, start_stack, stop_stack

WS = "ws-demo"


def _progress_listener(stack: LocalStack, seen: dict[str, float], stop: threading.Event,
                       counts: dict[str, int]) -> threading.Thread:
    held: dict[str, int] = {}  # pages a viewer holds, per document (one job each here)

    def listen() -> None:
        for _attempt in range(50):  # the websocket function instances may still be starting
            try:
                ws = connect(f"{stack.ws}/?token={stack.token('alice')}&workspace={WS}")
                break
            except OSError:
                time.sleep(0.2)
        with ws:
            while not stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=1))
                except TimeoutError:
                    ws.send(json.dumps({"action": "ping"}))
                    continue
                except ConnectionClosed:
                    return  # the stack stopping at the end of the run
                if isinstance(message.get("progress"), dict):  # a `progress` message, or an op carrying a status
                    seen.setdefault(message["subject"], time.monotonic())
                    if _brings_pages(message["progress"], held, message["subject"]):
                        counts[f"reread:{message['subject']}"] = counts.get(f"reread:{message['subject']}", 0) + 1
                if message.get("action") == "progress":
                    counts[message["subject"]] = counts.get(message["subject"], 0) + 1
                elif message.get("action") == "op":
                    # The document's own ops (its `doc:` and `place:` items, written by the server) reach every
                    # member too, and API Gateway bills each one as it bills a progress message.
                    item = str((message.get("op", {}).get("data") or {}).get("item_id", ""))
                    kind, _, document_id = item.partition(":")
                    if kind in ("doc", "place") and document_id:
                        counts[f"op:{document_id}"] = counts.get(f"op:{document_id}", 0) + 1
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    return thread


def _brings_pages(progress: dict[str, Any], held: dict[str, int], document_id: str) -> bool:
    """Whether a viewer reads the document's manifest on this report: it brings finished pages the viewer does
    not hold yet (docs/protocol.md, "Documents"; web/js/documents.js), and the viewer then holds them."""
    status = progress.get("status")
    done = int(progress.get("page_count" if status == "ready" else "pages_done", 0) or 0)
    if status not in ("tiling", "ready", "failed") or (done <= held.get(document_id, 0)
                                                       and not progress.get("previous_kept")):
        return False
    held[document_id] = done
    return True


def _measure(stack: LocalStack, state: Path, path: Path, seen: dict[str, float],
             counts: dict[str, int]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.token('bob')}"}
    body = path.read_bytes()
    grant = requests.post(f"{stack.rest}/workspaces/{WS}/uploads", headers=headers, timeout=30, json={
        "filename": path.name, "size": len(body), "content_type": "application/pdf"}).json()
    background = _background(state, seconds=6.0)
    requests_before = _emulator_requests(state)
    logs_before = {name: (state / name).stat().st_size for name in ("emulator.log", "stack.log")}
    started = time.monotonic()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=60).status_code == 200
    uploaded = time.monotonic()
    first_visible, polls = None, 0
    while True:
        polls += 1
        manifest = requests.get(f"{stack.rest}/workspaces/{WS}/documents/{grant['document_id']}", headers=headers,
                                timeout=30).json()
        if manifest["status"] == "failed":
            raise RuntimeError(manifest)
        if first_visible is None and manifest.get("pages"):
            top = manifest["pages"][0]
            level = top["levels"] - 1
            tile = requests.get(top["dzi"].removesuffix(".dzi") + f"_files/{level}/0_0.jpeg", timeout=30)
            polls += 1 if tile.status_code != 200 else 0
            if tile.status_code == 200:
                first_visible = time.monotonic()
        if manifest["status"] == "ready":
            ready = time.monotonic()
            break
        time.sleep(0.05)
    pages = manifest["page_count"]
    calls = _emulator_requests(state) - requests_before
    time.sleep(1.0)  # the last progress messages and log lines
    window = {name: _read_from(state / name, offset) for name, offset in logs_before.items()}
    window_s = time.monotonic() - started
    return {"aws_calls": dict(aws_calls(window["emulator.log"])), "invocations": invocations(window["stack.log"]),
            "cancelled_transactions": cancelled_transactions(window["emulator.log"]),
            "window_s": window_s, "background_per_s": background, "polls": polls,
            "poll_calls": _poll_calls(stack, state, f"{stack.rest}/workspaces/{WS}/documents/{grant['document_id']}",
                                      headers),
            "progress_messages": counts.get(grant["document_id"], 0),
            "op_messages": counts.get(f"op:{grant['document_id']}", 0),
            "manifest_prompts": counts.get(f"reread:{grant['document_id']}", 0),
            "input": path.name, "bytes": len(body), "pages": pages, "upload_s": uploaded - started,
            "first_progress_s": seen.get(grant["document_id"], float("nan")) - uploaded,
            "first_visible_s": (first_visible or ready) - uploaded, "ready_s": ready - uploaded,
            "pages_per_s": pages / (ready - uploaded), "emulator_requests_per_page": calls / pages}


def _poll_calls(stack: LocalStack, state: Path, url: str, headers: dict[str, str], n: int = 20) -> dict[str, float]:
    """The requests one manifest GET of this benchmark's polling makes (the REST function's reads and its rate
    limit): they are the benchmark's, not the pipeline's, and are taken out of the window's counts."""
    offset = (state / "emulator.log").stat().st_size
    for _ in range(n):
        requests.get(url, headers=headers, timeout=30)
    time.sleep(0.5)
    return {k: v / n for k, v in aws_calls(_read_from(state / "emulator.log", offset)).items()}


def _background(state: Path, seconds: float) -> dict[str, float]:
    """Requests per second while nothing is processed: the local stack's own heartbeats and health probes, and
    the queue pollers' empty receives (Lambda's pollers make those too, billed per queue, not per page). A
    pipeline window's counts less this rate times its length are the pipeline's own."""
    offset = (state / "emulator.log").stat().st_size
    time.sleep(seconds)
    return {k: v / seconds for k, v in aws_calls(_read_from(state / "emulator.log", offset)).items()}


def _read_from(path: Path, offset: int) -> list[str]:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace").splitlines()


def aws_calls(lines: list[str]) -> Counter[str]:
    """The emulator's requests by billing kind: `dynamodb:<Action>`, `sqs:<Action>`, `ssm:<Action>`, and S3 by
    method on an object (`s3:PUT`, `s3:GET`, `s3:HEAD`) or on a bucket (`s3:LIST` for a GET, `s3:bucket-<M>`);
    and the DynamoDB capacity units they would consume on AWS, summed (READ_UNITS, WRITE_UNITS). Refusals count
    (a write whose condition failed, a HEAD of a missing object: AWS bills those too); server errors do not, nor
    the requests the local runtime makes for itself (its pollers' heartbeats: ` local-runtime`)."""
    found: Counter[str] = Counter()
    for line in lines:
        match = ACCESS.search(line)
        if not match or match["status"][0] not in "234" or line.endswith(" local-runtime"):
            continue
        target = match["target"]
        units = UNITS.search(line)
        if units:  # what DynamoDB would bill for the request (local/emulator_capacity.py)
            found[READ_UNITS] += float(units["read"])  # type: ignore[assignment]
            found[WRITE_UNITS] += float(units["write"])  # type: ignore[assignment]
        if target != "-":
            service, _, action = target.partition(".")
            prefix = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs", "AmazonSSM": "ssm"}.get(service, service)
            found[f"{prefix}:{action}"] += 1
            continue
        _, _, key = match["path"].split("?")[0].lstrip("/").partition("/")
        if key:
            found[f"s3:{match['method']}"] += 1
        else:
            found["s3:LIST" if match["method"] == "GET" else f"s3:bucket-{match['method']}"] += 1
    return found


def cancelled_transactions(lines: list[str]) -> int:
    """TransactWriteItems refused (400: a condition failed, or a conflict). DynamoDB bills their write units, so
    each is a write that bought nothing; most are op appends that lost their sequence to another function."""
    return sum(1 for line in lines if (match := ACCESS.search(line)) and match["status"] == "400"
               and match["target"].endswith(".TransactWriteItems"))


def invocations(lines: list[str]) -> dict[str, dict[str, float]]:
    """Per function: invocations, and the sums of their wall and CPU milliseconds (the REPORT lines the local
    runtime writes with KALEXO_LOCAL_REPORTS=1), with the function's memory."""
    out: dict[str, dict[str, float]] = {}
    for line in lines:
        match = REPORT.search(line)
        if match:
            row = out.setdefault(match["fn"], {"count": 0, "duration_ms": 0.0, "cpu_ms": 0.0,
                                               "memory_mb": float(match["mem"])})
            row["count"] += 1
            row["duration_ms"] += float(match["dur"])
            row["cpu_ms"] += float(match["cpu"])
    return out


def init_ms(stack_log: Path) -> float:
    """The median INIT (the app's import) of the stack's function processes."""
    values = sorted(float(m["dur"]) for m in INIT.finditer(stack_log.read_text(errors="replace")))
    return values[len(values) // 2] if values else float("nan")


ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) - (?P<target>\S+)')
UNITS = re.compile(r" units=(?P<read>[\d.]+)/(?P<write>[\d.]+)")
READ_UNITS, WRITE_UNITS = "dynamodb-units:read", "dynamodb-units:write"  # summed, not requests
REPORT = re.compile(r"REPORT (?P<fn>\w+) duration_ms=(?P<dur>[\d.]+) cpu_ms=(?P<cpu>[\d.]+) memory_mb=(?P<mem>\d+)")
INIT = re.compile(r"INIT app duration_ms=(?P<dur>[\d.]+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--a0-sheets", type=int, default=6, help="sheets in the A0 drawing set (0: no set)")
    parser.add_argument("--stack-option", action="append", default=[], metavar="ARG")
    parser.add_argument("--keep", metavar="DIR", help="keep the inputs and the stack's logs in DIR")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (bench/cost.py reads them)")
    parser.add_argument("--profile", metavar="DIR", help="a cProfile file per invocation of --profile-functions")
    parser.add_argument("--profile-functions", default="tile_pages", metavar="NAMES", help="comma-separated")
    args = parser.parse_args()
    settings = {"KALEXO_LOCAL_REPORTS": "1", "KALEXO_EMULATOR_UNITS": "1"}
    # With --profile the CPU figures include the profiler's overhead, and the profiles are timed by the wall clock
    # (other threads of the stack's processes count in them): for where a function's calls go, not how much.
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        settings |= {"KALEXO_LOCAL_PROFILE": args.profile_functions,
                     "KALEXO_LOCAL_PROFILE_DIR": str(Path(args.profile).resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(args.keep or tmp)
        inputs.mkdir(parents=True, exist_ok=True)
        report, sheet, drawing_set = inputs / "report-50.pdf", inputs / "a0-sheet.pdf", inputs / "a0-set.pdf"
        report_pdf(str(report), pages=args.pages)
        a0_sheet(str(sheet))
        if args.a0_sheets:
            a0_set(str(drawing_set), sheets=args.a0_sheets, seed=12)  # not the lone sheet's drawing
        stack = start_stack(inputs / "stack", *args.stack_option, settings=settings)
        stop, seen, counts = threading.Event(), dict[str, float](), dict[str, int]()
        try:
            _progress_listener(stack, seen, stop, counts)
            time.sleep(1)
            # The first upload meets cold function instances (clients, imports); it is reported apart.
            warmup = inputs / "warm-up.pdf"
            report_pdf(str(warmup), pages=2, seed=3)
            cold = _measure(stack, inputs / "stack", warmup, seen, counts)
            paths = (report, sheet, drawing_set) if args.a0_sheets else (report, sheet)
            rows = [_measure(stack, inputs / "stack", path, seen, counts) for path in paths]
            init = init_ms(inputs / "stack" / "stack.log")
        finally:
            stop.set()
            stop_stack(stack)
    print(f"{'input':<16}{'pages':>6}{'MB':>7}{'upload s':>10}{'1st progress s':>16}{'1st page s':>12}"
          f"{'ready s':>9}{'pages/s':>9}{'requests/page':>15}")
    for r in rows:
        print(f"{r['input']:<16}{r['pages']:>6}{r['bytes'] / 1e6:>7.1f}{r['upload_s']:>10.2f}"
              f"{r['first_progress_s']:>16.2f}{r['first_visible_s']:>12.2f}{r['ready_s']:>9.1f}"
              f"{r['pages_per_s']:>9.2f}{r['emulator_requests_per_page']:>15.1f}")
    print(f"(cold: the first upload of the run, 2 pages, first page visible after {cold['first_visible_s']:.2f} s)")
    print(f"\nper page (requests on the emulator, function time from the local runtime's REPORT lines; INIT "
          f"{init:.0f} ms per cold instance):")
    for r in rows:
        ms = {fn: round(v["cpu_ms"] / r["pages"], 1) for fn, v in r["invocations"].items()}
        calls = {k: round(v / r["pages"], 2) for k, v in sorted(r["aws_calls"].items())}
        print(f"  {r['input']}: cpu ms {ms}; progress messages {r['progress_messages'] / r['pages']:.2f}; "
              f"op messages {r.get('op_messages', 0) / r['pages']:.2f}; cancelled transactions "
              f"{r['cancelled_transactions']} in all; {calls}")
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "init_ms": init, "rows": rows},
                                              indent=1))
    goal = rows[0]["first_visible_s"]
    print(f"\nfirst page visible after upload, {rows[0]['pages']}-page PDF: {goal:.2f} s (goal <= 1.5 s: "
          f"{'met' if goal <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
