"""The cost model's arithmetic (bench/cost.py) on made-up measurements, so a slip in a formula shows."""

import pytest

from bench.cost import PRICES, Profile, message_costs, monthly_costs, tiling_costs


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
