"""Cost per 1,000 pages from a measured pipeline run (`python -m bench.pipeline --json
bench/results/pipeline.json`): the AWS requests the emulator answered while each document went from upload to
ready (less the idle stack's own rate), and the functions' CPU time from the local runtime's REPORT lines.

What is measured, per page: S3 PUTs, GETs and HEADs (packs, indexes, uniform-tile checks, the source read per
instance), SQS sends and deletes, receives (one per function invocation that got a message), DynamoDB requests
by action and the capacity units they would consume on AWS (local/emulator_capacity.py), the messages about
the document one member received (its `progress` messages and the ops of its `doc:` and `place:` items), and
each function's CPU milliseconds. What is modelled, and stated in the output: the AWS round trips' time on
Lambda (10 ms a request), the members online who get each of those messages, and the INIT of a cold instance
(measured locally as the app's import, counted once per page at most). Runs from before the emulator measured
capacity units are priced by a model of them (1 per read or write, 6 per transaction).
"""

from __future__ import annotations

from typing import Any

from bench.cost import PRICES

AWS_ROUND_TRIP_S = 0.010
MEMBERS_ONLINE = 8
GOAL = 0.05  # dollars per 1,000 pages (issue 16)
TILER_MB = 1769  # the tiling function (.chalice/config.json): one full vCPU, which the one-threaded tiler uses
TRANSACTION_WRU = 6  # runs from before the emulator measured units: 3 items at 2 units each
S3_WRITE = ("s3:PUT", "s3:POST", "s3:LIST", "s3:bucket-PUT", "s3:bucket-POST")
READ_UNITS, WRITE_UNITS = "dynamodb-units:read", "dynamodb-units:write"  # bench.pipeline's sums
UNITS = (READ_UNITS, WRITE_UNITS)
IDLE_ONLY = ("sqs:ReceiveMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes")


def net_calls(row: dict[str, Any]) -> dict[str, float]:
    """The document's own requests: the window's counts less the idle rate over the window and less the
    benchmark's own manifest polls, receives aside. DynamoDB's capacity units, where the run measured them,
    are netted the same way and returned apart, by `net_units`."""
    return {k: v for k, v in _net(row).items() if k not in UNITS}


def net_units(row: dict[str, Any]) -> dict[str, float] | None:
    """DynamoDB's read and write units the document's requests consumed (the emulator measures them from the
    items they touch, local/emulator_capacity.py); None for runs from before it did."""
    if WRITE_UNITS not in row["aws_calls"]:
        return None
    net = _net(row)
    return {"read": net.get(READ_UNITS, 0.0), "write": net.get(WRITE_UNITS, 0.0)}


def _net(row: dict[str, Any]) -> dict[str, float]:
    background, poll = row.get("background_per_s", {}), row.get("poll_calls", {})
    out = {}
    for kind, count in row["aws_calls"].items():
        if kind in IDLE_ONLY:
            continue
        noise = background.get(kind, 0.0) * row.get("window_s", 0.0) + poll.get(kind, 0.0) * row.get("polls", 0)
        out[kind] = max(0.0, count - noise)
    out["sqs:ReceiveMessage"] = sum(v["count"] for f, v in row["invocations"].items() if f != "ws_message")
    return out


def page_cost(row: dict[str, Any], arch: str) -> dict[str, float]:
    """Dollars per 1,000 pages of this document, by service."""
    pages = row["pages"]
    calls = {k: v / pages for k, v in net_calls(row).items()}
    gb_s_price = PRICES["lambda_gb_s_arm" if arch == "arm64" else "lambda_gb_s_x86"]
    functions = {f: v for f, v in row["invocations"].items() if f != "ws_message"}  # the listener's pings
    requests = sum(calls.values())
    seconds = {f: v["cpu_ms"] / 1000 / pages for f, v in functions.items()}
    io_s = requests * AWS_ROUND_TRIP_S
    lambda_usd = sum(seconds[f] * v["memory_mb"] / 1024 * gb_s_price for f, v in functions.items())
    tiler_gb = functions.get("tile_pages", {"memory_mb": TILER_MB})["memory_mb"] / 1024
    lambda_usd += io_s * tiler_gb * gb_s_price
    lambda_usd += sum(v["count"] for v in functions.values()) / pages * PRICES["lambda_request"]
    s3_usd = sum(calls.get(k, 0) for k in S3_WRITE) * PRICES["s3_put"] + sum(
        v for k, v in calls.items() if k.startswith("s3:") and k not in S3_WRITE) * PRICES["s3_get"]
    sqs_usd = sum(v for k, v in calls.items() if k.startswith("sqs:")) * PRICES["sqs_request"]
    wru = sum(v * (TRANSACTION_WRU if k.endswith("TransactWriteItems") else 1) for k, v in calls.items()
              if k.split(":")[-1] in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"))
    rru = sum(v for k, v in calls.items() if k.split(":")[-1] in ("GetItem", "Query", "BatchGetItem"))
    measured = net_units(row)
    if measured is not None:  # what DynamoDB would bill, rather than the model above
        wru, rru = measured["write"] / pages, measured["read"] / pages
    ddb_usd = wru * PRICES["ddb_wru"] + rru * PRICES["ddb_rru"]
    messages = row["progress_messages"] + row.get("op_messages", 0)  # runs before op_messages counted none
    progress_usd = messages / pages * MEMBERS_ONLINE * PRICES["apigw_ws_message"]
    total = lambda_usd + s3_usd + sqs_usd + ddb_usd + progress_usd
    return {"cpu_s": sum(seconds.values()), "io_s": io_s, "requests": requests, "wru": wru, "rru": rru,
            "lambda": 1000 * lambda_usd,
            "s3": 1000 * s3_usd, "sqs": 1000 * sqs_usd, "dynamodb": 1000 * ddb_usd, "progress": 1000 * progress_usd,
            "total": 1000 * total}


def _per_document(rows: list[dict[str, Any]]) -> list[str]:
    """What a document costs beyond its pages: the lone A0 sheet against a page of the A0 drawing set."""
    by_input = {row["input"]: row for row in rows}
    if "a0-sheet.pdf" not in by_input or "a0-set.pdf" not in by_input:
        return []
    lone, drawing_set = (page_cost(by_input[name], "arm64") for name in ("a0-sheet.pdf", "a0-set.pdf"))
    sheet = by_input["a0-sheet.pdf"]
    messages = sheet["progress_messages"] + sheet.get("op_messages", 0)
    message_usd = 1000 * messages * MEMBERS_ONLINE * PRICES["apigw_ws_message"]
    return [
        f"A document costs something beyond its pages, whatever their number: its upload's reservation, its job's "
        f"start and `ready`, the ops that list and place it in the workspace and their messages. The lone A0 sheet "
        f"carries all of it on one page; a sheet of the {by_input['a0-set.pdf']['pages']}-sheet drawing set shares "
        f"it. So the lone sheet costs ${lone['total']:.4f} per 1,000 and a sheet of the set ${drawing_set['total']:.4f}"
        f": about ${lone['total'] - drawing_set['total']:.4f} per 1,000 documents is the document's own (arm64). "
        f"Its {messages} messages about the document ({sheet['progress_messages']} `progress`, "
        f"{sheet.get('op_messages', 0)} ops; each change of status rides on its op) to {MEMBERS_ONLINE} members "
        f"online alone cost ${message_usd:.4f}, "
        + (f"more than the goal: a one-page document cannot meet ${GOAL} per 1,000 pages while its members are told "
           "about it live, however cheaply its page is tiled." if message_usd > GOAL else
           f"{message_usd / GOAL:.0%} of the goal; with the document's other requests of its own (the reservation, "
           f"the job, the ops' DynamoDB writes) a one-page document "
           f"{'still does not meet' if lone['total'] > GOAL else 'meets'} ${GOAL} per 1,000 pages."),
        "",
        *_bare_document(sheet),
    ]


def _bare_document(sheet: dict[str, Any]) -> list[str]:
    """What the lone sheet would cost with no DynamoDB request and no message at all, and so what is left of the
    goal for the records and messages a document cannot go without (its item appears, then turns `ready`)."""
    bare_row = {**sheet, "progress_messages": 0, "op_messages": 0,
                "aws_calls": {k: v for k, v in sheet["aws_calls"].items() if not k.startswith("dynamodb")}}
    bare = page_cost(bare_row, "arm64")
    room = GOAL - bare["total"]
    two_messages = 1000 * 2 * MEMBERS_ONLINE * PRICES["apigw_ws_message"]
    return [
        f"Were its DynamoDB requests and its messages free, the lone sheet would still cost ${bare['total']:.4f} "
        f"per 1,000 (Lambda ${bare['lambda']:.4f}, S3 ${bare['s3']:.4f}, SQS ${bare['sqs']:.4f}), leaving "
        f"${room:.4f} of the goal for every record and message a document needs. Two messages (its item appears, "
        f"then turns `ready`) to {MEMBERS_ONLINE} members online already cost ${two_messages:.4f}"
        + (", before any record is written: no layout of the document's records or of its messages brings a "
           f"one-page document to ${GOAL} per 1,000 pages while its members see it arrive live."
           if two_messages > room else "."),
        "",
    ]


def manifest_reads(row: dict[str, Any]) -> dict[str, float] | None:
    """What the document's reports make members' viewers do, per 1,000 pages: each report that brings pages a
    viewer does not hold has every member online read the document's manifest (docs/protocol.md;
    web/js/documents.js), which costs a REST request and that read's DynamoDB units, measured on the
    benchmark's own polls. A lower bound: the REST function's own time is not counted. None for runs from
    before it was counted."""
    poll = row.get("poll_calls", {})
    if "manifest_prompts" not in row or WRITE_UNITS not in poll:
        return None
    reads = row["manifest_prompts"] * MEMBERS_ONLINE / row["pages"]
    per_read = (PRICES["apigw_rest_request"] + poll.get(READ_UNITS, 0.0) * PRICES["ddb_rru"]
                + poll.get(WRITE_UNITS, 0.0) * PRICES["ddb_wru"])
    return {"reads": reads, "usd": 1000 * reads * per_read}


def _viewers(rows: list[dict[str, Any]]) -> list[str]:
    costs = [(row, manifest_reads(row)) for row in rows]
    if any(cost is None for _, cost in costs):
        return []
    listed = "; ".join(f"{row['input']} {cost['reads']:.1f} reads, ${cost['usd']:.4f}"
                       for row, cost in costs if cost is not None)
    return [
        "Not in the totals above, and not small: what those messages make members' viewers do. A viewer reads the "
        "document's manifest when a report brings pages it does not hold yet, to show them (docs/protocol.md; the "
        f"web client does), so every such report costs each of the {MEMBERS_ONLINE} members online a REST request "
        "and its reads (measured on the benchmark's own manifest polls, its rate limit's write included). Per "
        f"1,000 pages, at least (the REST function's time left out): {listed}. This is why a document's page "
        "reports are coalesced to one a second (PROGRESS_EVERY_MS) and a report that brings no page (a job's "
        "first) has viewers read nothing.",
        "",
    ]


def init_cost(init_ms: float, arch: str, memory_mb: int = TILER_MB) -> float:
    """Dollars per 1,000 pages if every page met a cold tiling instance (Lambda bills INIT)."""
    gb_s_price = PRICES["lambda_gb_s_arm" if arch == "arm64" else "lambda_gb_s_x86"]
    return 1000 * init_ms / 1000 * memory_mb / 1024 * gb_s_price


def render(pipeline: dict[str, Any], arch: str) -> list[str]:
    lines = [
        f"## Per 1,000 pages, measured (`bench.pipeline`, {pipeline.get('date', '?')}; {arch} Lambda, as deployed)",
        "",
        "| document | pages | CPU s / page | AWS requests / page | Lambda | S3 | SQS | DynamoDB | messages "
        "| **total** | + INIT, every page cold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = []
    for row in pipeline["rows"]:
        cost = page_cost(row, arch)
        cold = init_cost(pipeline["init_ms"], arch)
        totals.append(cost["total"])
        lines.append(f"| {row['input']} | {row['pages']} | {cost['cpu_s']:.3f} | {cost['requests']:.1f} "
                     f"| ${cost['lambda']:.4f} | ${cost['s3']:.4f} | ${cost['sqs']:.4f} | ${cost['dynamodb']:.4f} "
                     f"| ${cost['progress']:.4f} | **${cost['total']:.4f}** | ${cost['total'] + cold:.4f} |")
    measured = all(net_units(row) is not None for row in pipeline["rows"])
    units_measured = (", and the DynamoDB capacity units each request would consume on AWS (on demand: by the "
                      "size of the items it read or wrote, twice for a transaction's, and the writes to the "
                      "global indexes holding them; the emulator measures them, `local/emulator_capacity.py`)"
                      if measured else "")
    units_modelled = "" if measured else f"DynamoDB units (1 per read or write, {TRANSACTION_WRU} per transaction), "
    verdicts = ", ".join(f"{row['input']} ${t:.4f} ({'met' if t <= GOAL else 'not met'})"
                         for row, t in zip(pipeline["rows"], totals, strict=True))
    lines += [
        "",
        f"Goal: at most ${GOAL} per 1,000 pages processed, for the letter page and the A0 sheet: {verdicts}; "
        "storage is reported apart (below). Counted from the run, not assumed: every request the emulator "
        "answered between the upload and `ready` (less the local runtime's own heartbeat writes, which AWS would not "
        "see; less the idle stack's own rate: health probes, empty polls; and less the benchmark's own manifest "
        "polls, each measured apart), receives as "
        f"one per invocation, the functions' CPU time{units_measured}. Modelled: "
        f"{AWS_ROUND_TRIP_S * 1000:.0f} ms of Lambda time per AWS request (round trips on AWS), {units_modelled}"
        f"{MEMBERS_ONLINE} members online "
        "receiving each message about the document (its `progress` messages and its items' ops). The INIT "
        "column adds one cold start of the tiling function per page "
        f"({pipeline['init_ms']:.0f} ms, the app's import measured locally; PyMuPDF's import falls in the first "
        "invocation's CPU time), the worst case of a burst that scales out to a new instance per page.",
        "",
        *_per_document(pipeline["rows"]),
        *_viewers(pipeline["rows"]),
        "Where a page's requests go (net, per page; a one-page document carries every per-document request "
        "itself: the upload's reservation, the job's start and its `ready`, their ops in the workspace log and "
        "their progress messages):",
        "",
    ]
    for row in pipeline["rows"]:
        calls = {k: v / row["pages"] for k, v in sorted(net_calls(row).items()) if v > 0}
        listed = ", ".join(f"{k} {v:.2f}" for k, v in calls.items())
        units = net_units(row)
        if units is not None:
            listed += (f"; DynamoDB units {units['read'] / row['pages']:.1f} read and "
                       f"{units['write'] / row['pages']:.1f} write")
        lines.append(f"- {row['input']}: {listed}; progress messages {row['progress_messages'] / row['pages']:.2f}"
                     f" and ops {row.get('op_messages', 0) / row['pages']:.2f} (each to every member online).")
    lines.append("")
    return lines
