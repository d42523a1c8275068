"""Shared fixtures: `compute` runs each rules test against both implementations of the engine."""

from __future__ import annotations

import pytest
from oracle import oracle_compute_days


@pytest.fixture(params=["oracle", "vectorised"])
def compute(request: pytest.FixtureRequest):
    """`compute(inputs, rules, date_from, date_to) -> DaysResult`: the oracle, then the fast engine."""
    if request.param == "oracle":
        return oracle_compute_days
    try:
        from punchbridge.rules import compute_days
    except ImportError:
        pytest.skip("vectorised engine not importable yet")
    return compute_days
