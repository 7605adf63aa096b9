"""What running Kalexo on AWS costs, computed from what the benchmarks measured.

`python -m bench.cost` reads the figures the benchmarks wrote with `--json` into bench/results/
(tiling.json from bench.tiling, router.json from bench.router_load --fanout, pipeline.json from bench.pipeline),
combines them with AWS list prices (us-east-1, on-demand, no free tier; the table `PRICES`) and the per-request
counts of the code paths (the table `CALLS`, read off the adapters and checked by the contract tests), and
writes docs/cost.md. Nothing in the output is typed in by hand except the prices and the usage profile of
"an active user", which are stated in the document.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

# us-east-1 list prices, 2026-11 (USD).
PRICES = {
    "lambda_gb_s_arm": 0.0000133334, "lambda_gb_s_x86": 0.0000166667, "lambda_request": 0.20 / 1e6,
    "s3_put": 0.005 / 1000, "s3_get": 0.0004 / 1000, "s3_gb_month": 0.023,
    "sqs_request": 0.40 / 1e6,
    "ddb_wru": 0.625 / 1e6, "ddb_rru": 0.125 / 1e6,  # on-demand, after the November 2024 price cut
    "apigw_ws_message": 1.00 / 1e6, "apigw_ws_connection_minute": 0.25 / 1e6, "apigw_rest_request": 3.50 / 1e6,
    "cloudfront_gb": 0.085, "cloudfront_request": 0.0100 / 10000,
    "ec2_m5_large_hour": 0.096,
}

# Requests per unit of work, from the code (chalicelib/adapters) and its contract tests.
CALLS = {
    # per page task: the transaction of 3 items (page, job count, monthly usage) at 2 WRU each, a consistent
    # job read before and after (1 RRU each), the page-done check (0.5 RRU), the coalesced progress write (1 WRU).
    "page_wru": 3 * 2 + 1, "page_rru": 2 + 0.5,
    # SQS per page: 1/10 of a SendMessageBatch, the event source's receive and delete.
    "page_sqs": 0.1 + 1 + 1,
    # the source is read once per function instance; with 10 pages per instance, 0.1 GETs a page
    "page_source_gets": 0.1,
    # per routed message: the counter update and the op write (both < 1 KB: 1 WRU each)
    "message_wru": 2,
}


@dataclass(frozen=True)
class Profile:
    """What "an active user" does in a month: assumptions, stated in the document."""

    hours_online_per_day: float = 6
    working_days: int = 21
    messages_per_day: int = 150  # chat, shared-item edits and throttled presence updates sent
    workspace_size: int = 8  # members online who receive each message
    pages_uploaded: int = 40
    tiles_viewed_per_day: int = 600
    tile_cache_hit: float = 0.7  # share of tile views CloudFront answers without reaching the API


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python -m bench.{name} --json {path}` first")
    return dict(json.loads(path.read_text()))


def tiling_costs(tiling: dict[str, Any], memory_gb: float, io_s: float) -> dict[str, dict[str, float]]:
    """Dollars per 1,000 letter pages, per tile layout, from the measured CPU time and PUTs of the report."""
    out: dict[str, dict[str, float]] = {}
    for row in tiling["results"]:
        if not row["contender"].startswith("kalexo") or not row["input"].startswith("report"):
            continue
        pages = row["pages"]
        seconds = row["cpu"] / pages + io_s  # single-threaded: at >= 1,769 MB a function has one full vCPU
        lambda_usd = seconds * memory_gb * PRICES["lambda_gb_s_arm"] + PRICES["lambda_request"]
        s3_usd = row["puts"] / pages * PRICES["s3_put"] + CALLS["page_source_gets"] * PRICES["s3_get"]
        sqs_usd = CALLS["page_sqs"] * PRICES["sqs_request"]
        ddb_usd = CALLS["page_wru"] * PRICES["ddb_wru"] + CALLS["page_rru"] * PRICES["ddb_rru"]
        mb_per_page = row["bytes"] / pages / 1e6
        out[row["contender"]] = {
            "seconds_per_page": seconds, "puts_per_page": row["puts"] / pages, "mb_per_page": mb_per_page,
            "lambda": 1000 * lambda_usd, "s3": 1000 * s3_usd, "sqs": 1000 * sqs_usd, "dynamodb": 1000 * ddb_usd,
            "total": 1000 * (lambda_usd + s3_usd + sqs_usd + ddb_usd),
            "storage_month": mb_per_page * PRICES["s3_gb_month"],  # per 1,000 pages: MB/page x 1000 / 1000 GB
        }
    return out


def message_costs(router: dict[str, Any], fanout: int, ms: float, memory_gb: float) -> dict[str, float]:
    """Dollars per million routed messages delivered to `fanout` connections."""
    per = {
        "lambda": ms / 1000 * memory_gb * PRICES["lambda_gb_s_arm"] + PRICES["lambda_request"],
        "dynamodb": float(router.get("dynamodb_calls_per_message", CALLS["message_wru"])) * PRICES["ddb_wru"],
        "api_gateway": (1 + fanout) * PRICES["apigw_ws_message"],
    }
    return {**{k: v * 1e6 for k, v in per.items()}, "total": sum(per.values()) * 1e6}


def monthly_costs(profile: Profile, page_usd: float, message: dict[str, float], mb_per_page: float,
                  tile_kb: float, users: int = 1000) -> dict[str, float]:
    """Dollars a month for `users` active users with this profile."""
    messages = users * profile.messages_per_day * profile.working_days
    connection_minutes = users * profile.hours_online_per_day * 60 * profile.working_days
    pages = users * profile.pages_uploaded
    tile_views = users * profile.tiles_viewed_per_day * profile.working_days
    misses = tile_views * (1 - profile.tile_cache_hit)
    # A tile that CloudFront does not have costs an API request, a short function run (index cached, one ranged
    # GET) and the GET; every view costs CloudFront's request and transfer.
    tile_origin_usd = misses * (PRICES["apigw_rest_request"] + PRICES["lambda_request"]
                                + 0.02 * 0.5 * PRICES["lambda_gb_s_arm"] + PRICES["s3_get"])
    tile_edge_usd = tile_views * (PRICES["cloudfront_request"] + tile_kb / 1e6 * PRICES["cloudfront_gb"])
    # Heartbeats every 30 s while online: one function run and one DynamoDB write each.
    heartbeats = connection_minutes * 2
    return {
        "routing": messages * message["total"] / 1e6,
        "connections": connection_minutes * PRICES["apigw_ws_connection_minute"]
        + heartbeats * (PRICES["apigw_ws_message"] + PRICES["lambda_request"] + PRICES["ddb_wru"]),
        "tiling": pages * page_usd / 1000,
        "tile_serving": tile_origin_usd + tile_edge_usd,
        "storage_growth": pages * mb_per_page / 1000 * PRICES["s3_gb_month"],
    }


def ec2_fleet() -> tuple[int, float]:
    """The seed's always-on servers: two routers, a processing master, four slaves, a cache and MySQL."""
    instances = 2 + 1 + 4 + 1 + 1
    return instances, instances * PRICES["ec2_m5_large_hour"] * 730


def render(tiling: dict[str, dict[str, float]], message: dict[str, float], fanout: int, monthly: dict[str, float],
           profile: Profile, sources: dict[str, str], measured: list[str] | None = None) -> str:
    packed, objects = tiling["kalexo packed"], tiling["kalexo objects"]
    instances, fleet = ec2_fleet()
    lines = [
        "# What Kalexo costs on AWS",
        "",
        "Generated by `python -m bench.cost` from the benchmarks' measurements "
        f"({', '.join(f'`{k}` {v}' for k, v in sources.items())}) and the AWS list prices below "
        "(us-east-1, on-demand, no free tier, arm64 Lambda). Regenerate after re-running the benchmarks.",
        "",
        *(measured or []),
        "## Per 1,000 pages tiled, from the tiling benchmark (letter pages at 300 dpi, the 50-page report)",
        "",
        "| tile layout | s / page | S3 PUTs / page | Lambda | S3 requests | SQS | DynamoDB | **total** "
        "| storage / month |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in (("one object per tile (before)", objects), ("packed per page (now)", packed)):
        lines.append(f"| {name} | {row['seconds_per_page']:.3f} | {row['puts_per_page']:.1f} | ${row['lambda']:.4f} "
                     f"| ${row['s3']:.4f} | ${row['sqs']:.4f} | ${row['dynamodb']:.4f} | **${row['total']:.4f}** "
                     f"| ${row['storage_month']:.4f} |")
    lines += [
        "",
        f"A model from the tiling benchmark's counts (letter pages only; the measured run above is the reference): "
        f"${packed['total']:.4f} packed, against ${objects['total']:.4f} with one object per tile. Two things get "
        "it there: tiles of one uniform colour are stored once, content-addressed, for every page and document "
        "(about a quarter of a document's tiles), and every other tile of a page goes into one object, its JSON "
        "index first, read by byte range: 1 PUT a page however many tiles it has. S3 charges "
        "per request, so per-tile objects made PUTs the largest cost; now compute is.",
        "",
        f"## Per million routed messages (each delivered to {fanout} connections)",
        "",
        "| Lambda | DynamoDB | API Gateway messages | **total** |",
        "|---:|---:|---:|---:|",
        f"| ${message['lambda']:.2f} | ${message['dynamodb']:.2f} | ${message['api_gateway']:.2f} "
        f"| **${message['total']:.2f}** |",
        "",
        "API Gateway bills every message in and out, so the fan-out dominates: a message to a workspace with "
        "fewer members online costs proportionally less.",
        "",
        "## Per 1,000 active users a month",
        "",
        f"An active user (assumed): online {profile.hours_online_per_day:g} h a day on {profile.working_days} days, "
        f"sends {profile.messages_per_day} messages a day to {profile.workspace_size} members online, uploads "
        f"{profile.pages_uploaded} pages a month and views {profile.tiles_viewed_per_day} tiles a day, "
        f"{profile.tile_cache_hit:.0%} of them answered by CloudFront's cache.",
        "",
        "| routing | connections and heartbeats | tiling | tile serving | storage added | **total** |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| ${monthly['routing']:.2f} | ${monthly['connections']:.2f} | ${monthly['tiling']:.2f} "
        f"| ${monthly['tile_serving']:.2f} | ${monthly['storage_growth']:.2f} | **${sum(monthly.values()):.2f}** |",
        "",
        "Tiles, DZI and IIIF documents are served through the stage's tiles distribution (CloudFront in front "
        "of the REST API, which checks each grant; `make deploy` creates it). A cached tile costs CloudFront's "
        f"request (${PRICES['cloudfront_request'] * 1e4:.4f} per 10,000) and transfer "
        f"(${PRICES['cloudfront_gb']:.3f} per GB); a miss adds the API request, a short function run and a "
        f"ranged S3 GET. The cache's share, {profile.tile_cache_hit:.0%}, is assumed, not measured (no CloudFront "
        "here): tiles are immutable, but the cache key holds the grant, which changes every "
        "`KALEXO_TILE_GRANT_SECONDS` (6 h), so each edge fetches a tile at most once per grant window.",
        "",
        "## Against the always-on fleet of 2009",
        "",
        f"The seed ran its routers, processing master and slaves, cache and MySQL as EC2 instances around the "
        f"clock. {instances} m5.large instances cost ${fleet:,.0f} a month before storage and transfer, idle or "
        f"not; the serverless stack above costs ${sum(monthly.values()):,.2f} a month for 1,000 active users and "
        "next to nothing when nobody works (tables on demand, no idle servers). Its fixed costs are the "
        "CloudWatch dashboard and alarms (about $3 and $0.10 each a month) and stored bytes.",
        "",
        "## How it is computed",
        "",
        "- Tiling: the CPU seconds per page that `bench.tiling` measured for this project's tiler (one core, "
        "300 dpi), plus 0.1 s a page for the S3 and DynamoDB round trips, at 1,769 MB (one full vCPU, all the "
        "one-threaded tiler uses, as the tiling function is configured); the PUTs and "
        "bytes per page it counted; per page 2.1 SQS requests (a tenth of a batch send, the receive and the "
        "delete), 7 DynamoDB write units (the page transaction of 3 items at 2 units each, the coalesced "
        "progress write) and 2.5 read units; a tenth of a GET of the source (it is read once per warm "
        "instance).",
        "- Routing: one function run per message lasting the median delivery latency `bench.router_load` "
        "measured (an upper bound of the function's time) at 512 MB; the DynamoDB calls per message it "
        "counted at the emulator, as write units; one API Gateway message in and one out per recipient.",
        "- A month: the profile above, heartbeats every 30 s while online (one message, one function run, "
        "one write each), and tile views that miss CloudFront's cache costing an API request, a 20 ms run and "
        "a ranged GET.",
        "",
        "## Prices used",
        "",
        "| item | USD |",
        "|---|---:|",
        *[f"| {k} | {v:.10g} |" for k, v in PRICES.items()],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "docs" / "cost.md"))
    parser.add_argument("--tiling-memory-gb", type=float, default=1769 / 1024)  # .chalice/config.json
    parser.add_argument("--io-seconds", type=float, default=0.1,
                        help="per page, beyond the measured CPU time: S3 and DynamoDB round trips on AWS")
    args = parser.parse_args()
    tiling, router = _load("tiling"), _load("router")
    costs = tiling_costs(tiling, args.tiling_memory_gb, args.io_seconds)
    profile = Profile()
    per_message = message_costs(router, profile.workspace_size, float(router["p50_ms"]), 0.5)
    bench_fanout = message_costs(router, int(router["clients"]) - 1, float(router["p50_ms"]), 0.5)
    packed = costs["kalexo packed"]
    report = next(r for r in tiling["results"] if r["contender"] == "kalexo packed" and r["input"].startswith("report"))
    monthly = monthly_costs(profile, packed["total"], per_message, packed["mb_per_page"],
                            tile_kb=report["bytes"] / max(1, report["tiles"]) / 1000)
    sources = {"bench/results/tiling.json": tiling.get("date", "?"),
               "bench/results/router.json": router.get("date", "?")}
    measured = None
    if (RESULTS / "pipeline.json").exists():  # bench.pipeline --json: counted on a real pipeline run
        from bench import cost_measured
        from infra.layer_release import stage_architecture

        pipeline = _load("pipeline")
        sources["bench/results/pipeline.json"] = pipeline.get("date", "?")
        arch = stage_architecture(Path(__file__).parent.parent / ".chalice" / "config.json", "prod")
        measured = cost_measured.render(pipeline, arch)
    text = render(costs, bench_fanout, int(router["clients"]) - 1, monthly, profile, sources, measured)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
