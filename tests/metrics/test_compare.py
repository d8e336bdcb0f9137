"""Comparing rounds over the matched set only; who entered and who left."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics import compare_rounds, compute_indices
from tests.metrics.helpers import frame


def _round(rows):
    return compute_indices(frame(rows)).frame


BEFORE = _round(
    [
        {"key": "a", "state": "01", "kind": "party", "T": 0.2, "P": 0.2},
        {"key": "b", "state": "01", "kind": "union", "T": 0.6, "P": 0.6},
        {"key": "c", "state": "02", "kind": "party", "T": 0.4, "P": 0.4},
        {"key": "gone", "state": "02", "kind": "party", "T": 1.0, "P": 1.0},
    ]
)
AFTER = _round(
    [
        {"key": "c", "state": "02", "kind": "party", "T": 0.9, "P": 0.9},
        {"key": "a", "state": "01", "kind": "party", "T": 0.4, "P": 0.4},
        {"key": "b", "state": "01", "kind": "union", "T": 0.5, "P": 0.5},
        {"key": "new", "state": "03", "kind": "party", "T": 0.0, "P": 0.0},
    ]
)


def test_matched_deltas_and_rank_changes_over_the_matched_set():
    result = compare_rounds(BEFORE, AFTER)
    matched = result.matched.set_index("key")
    assert list(matched.index) == ["a", "b", "c"]
    assert matched.loc["a", "GA_delta"] == pytest.approx(0.2)
    assert matched.loc["b", "GA_delta"] == pytest.approx(-0.1)
    # Ranks among a, b, c only: "gone" (1.0 before) does not push anyone down.
    assert matched.loc["b", "GA_rank_before"] == 1
    assert matched.loc["c", "GA_rank_before"] == 2 and matched.loc["c", "GA_rank_after"] == 1
    assert matched.loc["c", "GA_rank_change"] == 1
    assert matched.loc["b", "GA_rank_change"] == -1


def test_entered_and_left():
    result = compare_rounds(BEFORE, AFTER)
    assert list(result.entered["key"]) == ["new"]
    assert list(result.left["key"]) == ["gone"]


def test_by_state_over_matched_institutions_with_entered_and_left_counts():
    table = compare_rounds(BEFORE, AFTER).by("state").set_index("key")
    assert table.loc["02", "n_matched"] == 1
    assert table.loc["02", "GA_before"] == pytest.approx(0.4)  # not pulled up by "gone"
    assert table.loc["02", "GA_delta"] == pytest.approx(0.5)
    assert table.loc["02", "left"] == 1 and table.loc["02", "entered"] == 0
    assert table.loc["03", "n_matched"] == 0 and table.loc["03", "entered"] == 1
    # Before, 01 and 02 tie at 0.4 (both first); after, 02 leads.
    assert table.loc["01", "GA_rank_before"] == 1 and table.loc["02", "GA_rank_before"] == 1
    assert table.loc["02", "GA_rank_change"] == 0 and table.loc["01", "GA_rank_change"] == -1
    types = compare_rounds(BEFORE, AFTER).by("type").set_index("key")
    assert types.loc["party", "n_matched"] == 2


def test_the_all_institutions_view_is_labelled():
    view = compare_rounds(BEFORE, AFTER).all_institutions("national")
    assert view.iloc[0]["basis"] == "all institutions (samples differ)"
    assert view.iloc[0]["n_before"] == 4 and view.iloc[0]["n_after"] == 4
    assert view.iloc[0]["GA_before"] == pytest.approx((0.2 + 0.6 + 0.4 + 1.0) / 4)


def test_duplicate_keys_are_refused():
    doubled = pd.concat([BEFORE, BEFORE.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="appears more than once"):
        compare_rounds(doubled, AFTER)
