"""Aggregation: simple unweighted means, counts, min/max, ranks with ties."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics import aggregate, compute_indices, rank_desc
from tests.metrics.helpers import NAN, frame


def _round():
    rows = [
        {"key": "a", "state": "01", "level": "state", "kind": "party", "T": 0.8, "P": 0.4},
        {"key": "b", "state": "01", "level": "municipal", "kind": "municipality",
         "T": 0.2, "P": 0.2},
        {"key": "c", "state": "02", "level": "state", "kind": "party", "T": 0.6, "P": 0.6},
        {"key": "d", "state": None, "level": "federal", "kind": "party", "T": 1.0, "P": 1.0},
        {"key": "e", "state": "03", "level": "state", "kind": "union", "T": NAN, "P": 0.1},
    ]
    return compute_indices(frame(rows)).frame


def test_national_is_the_simple_mean_of_institutions():
    table = aggregate(_round(), "national")
    assert list(table["key"]) == [""]
    row = table.iloc[0]
    assert row["n"] == 5 and row["GA_n"] == 4
    assert row["GA"] == pytest.approx((0.6 + 0.2 + 0.6 + 1.0) / 4)
    assert row["GA_min"] == pytest.approx(0.2) and row["GA_max"] == pytest.approx(1.0)
    assert row["P"] == pytest.approx((0.4 + 0.2 + 0.6 + 1.0 + 0.1) / 5)


def test_by_state_keeps_the_federation_apart_and_unranked():
    table = aggregate(_round(), "state").set_index("key")
    assert list(table.index) == ["01", "02", "03", "federal"]
    assert table.loc["01", "GA"] == pytest.approx(0.4)
    assert table.loc["01", "n"] == 2
    assert table.loc["02", "GA_rank"] == 1 and table.loc["01", "GA_rank"] == 2
    assert pd.isna(table.loc["federal", "GA_rank"])
    assert math.isnan(table.loc["03", "GA"]) and pd.isna(table.loc["03", "GA_rank"])
    assert table.loc["03", "P_rank"] == 3


def test_by_level_and_type():
    levels = aggregate(_round(), "level").set_index("key")
    assert set(levels.index) == {"federal", "state", "municipal"}
    assert levels.loc["state", "n"] == 3
    types = aggregate(_round(), "type").set_index("key")
    assert types.loc["party", "GA"] == pytest.approx((0.6 + 0.6 + 1.0) / 3)


def test_ranks_share_ties_and_skip():
    ranks = rank_desc(pd.Series([0.5, 0.9, 0.5, NAN, 0.1]))
    assert ranks.tolist() == [2, 1, 2, pd.NA, 4]


def test_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="unknown grouping"):
        aggregate(_round(), "municipality")
