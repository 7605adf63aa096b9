"""The cost model's arithmetic (bench/cost.py) on made-up measurements, so a slip in a formula shows."""

import pytest

from bench.cost import PRICES, Profile, message_costs, monthly_costs, tiling_costs
from bench.cost_measured import manifest_reads, net_units, page_cost
from bench.pipeline import aws_calls


def test_tiling_cost_follows_the_measured_puts_and_cpu():
    measured = {"results": [
        {"contender": "kalexo packed", "input": "report x50", "pages": 50, "cpu": 5.0, "puts": 100, "bytes": 50e6},
        {"contender": "kalexo objects", "input": "report x50", "pages": 50, "cpu": 5.0, "puts": 5000, "bytes": 50e6},
        {"contender": "naive pillow", "input": "report x50", "pages": 50, "cpu": 50.0, "puts": 9500, "bytes": 1},
    ]}
    costs = tiling_costs(measured, memory_gb=2.0, io_s=0.0)
    assert set(costs) == {"kalexo packed", "kalexo objects"}
    packed = costs["kalexo packed"]
    assert packed["s3"] == pytest.approx(1000 * (2 * PRICES["s3_put"] + 0.1 * PRICES["s3_get"]))
    assert packed["lambda"] == pytest.approx(1000 * (0.1 * 2.0 * PRICES["lambda_gb_s_arm"] + PRICES["lambda_request"]))
    assert costs["kalexo objects"]["total"] - packed["total"] == pytest.approx(1000 * 98 * PRICES["s3_put"])
    assert packed["storage_month"] == pytest.approx(1.0 * PRICES["s3_gb_month"])  # 1 MB a page


def test_message_cost_is_dominated_by_fanout():
    small = message_costs({"dynamodb_calls_per_message": 2}, fanout=1, ms=30, memory_gb=0.5)
    large = message_costs({"dynamodb_calls_per_message": 2}, fanout=49, ms=30, memory_gb=0.5)
    assert large["api_gateway"] == pytest.approx(50.0) and small["api_gateway"] == pytest.approx(2.0)
    assert large["total"] - small["total"] == pytest.approx(48.0)


def test_a_month_scales_with_users():
    one = monthly_costs(Profile(), 0.02, {"total": 10.0}, 1.3, 20.0, users=1000)
    two = monthly_costs(Profile(), 0.02, {"total": 10.0}, 1.3, 20.0, users=2000)
    assert sum(two.values()) == pytest.approx(2 * sum(one.values()))
    assert one["tiling"] == pytest.approx(1000 * 40 * 0.02 / 1000)


def _row(units: bool) -> dict:
    line = ('127.0.0.1 - - [01/Dec/2026 23:40:00] "POST / HTTP/1.1" 200 - DynamoDB_20120810.TransactWriteItems '
            '3.1ms' + (" units=0/7" if units else ""))
    get = '127.0.0.1 - - [01/Dec/2026 23:40:00] "POST / HTTP/1.1" 200 - DynamoDB_20120810.GetItem 1.0ms'
    calls = dict(aws_calls([line, line, get + (" units=0.5/0" if units else "")]))
    return {"input": "x.pdf", "pages": 2, "aws_calls": calls, "invocations": {}, "progress_messages": 0,
            "window_s": 1.0, "background_per_s": {"dynamodb-units:write": 4.0}, "polls": 0}


def test_measured_capacity_units_replace_the_model_and_are_netted_like_requests():
    measured, modelled = page_cost(_row(units=True), "arm64"), page_cost(_row(units=False), "arm64")
    # 2 transactions of 7 units, less the idle rate's 4 over the window: 10 write units for 2 pages
    assert measured["wru"] == 5.0 and measured["rru"] == 0.25
    assert modelled["wru"] == 6.0 * 2 / 2 and modelled["rru"] == 0.5  # 6 a transaction, 1 a read
    assert measured["requests"] == modelled["requests"] == 1.5  # units are not requests
    assert net_units(_row(units=False)) is None


def test_manifest_reads_are_the_reports_that_prompt_them_times_the_members_at_a_measured_read():
    row = {**_row(units=True), "manifest_prompts": 3,
           "poll_calls": {"dynamodb-units:read": 1.5, "dynamodb-units:write": 1.0, "dynamodb:GetItem": 1.0}}
    cost = manifest_reads(row)
    assert cost is not None and cost["reads"] == 3 * 8 / 2
    per_read = PRICES["apigw_rest_request"] + 1.5 * PRICES["ddb_rru"] + 1.0 * PRICES["ddb_wru"]
    assert cost["usd"] == pytest.approx(1000 * 12 * per_read)
    assert manifest_reads(_row(units=True)) is None  # a run from before the prompts were counted


def test_a_refused_request_counts_with_its_units_and_a_server_error_does_not():
    lines = ['x - - [01/Dec/2026 23:40:00] "POST / HTTP/1.1" 400 - DynamoDB_20120810.UpdateItem 1.0ms units=0/1',
             'x - - [01/Dec/2026 23:40:00] "POST / HTTP/1.1" 500 - DynamoDB_20120810.UpdateItem 1.0ms units=0/1',
             'x - - [01/Dec/2026 23:40:00] "HEAD /bucket/key HTTP/1.1" 404 - - 1.0ms']
    assert dict(aws_calls(lines)) == {"dynamodb:UpdateItem": 1, "dynamodb-units:read": 0.0,
                                      "dynamodb-units:write": 1.0, "s3:HEAD": 1}


def test_the_local_runtimes_own_requests_are_not_counted():
    """Its pollers' heartbeats: AWS's event source mappings write nothing to the app's tables."""
    own = 'x - - [01/Dec/2026 23:40:00] "POST / HTTP/1.1" 200 - DynamoDB_20120810.PutItem 1.0ms units=0/1'
    assert dict(aws_calls([own + " local-runtime"])) == {}
    assert dict(aws_calls([own])) == {"dynamodb:PutItem": 1, "dynamodb-units:read": 0.0,
                                      "dynamodb-units:write": 1.0}


def test_a_viewer_reads_the_manifest_only_for_reports_that_bring_pages():
    from bench.pipeline import _brings_pages

    held: dict[str, int] = {}
    reports: list[dict[str, object]] = [
        {"status": "analysing"}, {"status": "tiling", "pages_done": 0}, {"status": "tiling", "pages_done": 2},
        {"status": "tiling", "pages_done": 2}, {"status": "ready", "page_count": 3, "pages_done": 3},
        {"status": "ready", "page_count": 3, "previous_kept": True}]
    assert [_brings_pages(r, held, "d") for r in reports] == [False, False, True, False, True, True]


def test_a_document_without_records_or_messages_keeps_only_its_compute_storage_and_queue():
    from bench.cost_measured import _bare_document

    row = {**_row(units=True), "pages": 1, "op_messages": 2, "background_per_s": {}}
    row["aws_calls"] = {**row["aws_calls"], "s3:PUT": 1}
    full = page_cost(row, "arm64")
    text = " ".join(_bare_document(row))
    bare = 1000 * (PRICES["s3_put"] + PRICES["lambda_gb_s_arm"] * 1769 / 1024 * 0.010)  # the PUT and its round trip
    assert full["dynamodb"] > 0 and full["progress"] > 0
    assert f"would still cost ${bare:.4f}" in text
    assert f"leaving ${0.05 - bare:.4f}" in text
