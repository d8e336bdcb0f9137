"""Computing indices from components or sub-indices, never inventing what is missing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics import compute_indices
from tests.metrics.helpers import NAN, frame, scheme_2017

COMPONENTS_2017 = {
    "TG.access_info": 0.8, "TG.reactive": 0.5, "TG.proactive": 0.0, "TG.open_data": 1.0,
    "TC.available": 1.0, "TC.clear": 0.5, "TC.complete": 0.5, "TC.speed": 0.0,
    "PG.mechanisms": 1.0, "PG.actors": 0.0, "PG.functioning": 1.0, "PG.format": 0.0,
    "PG.follow_up": 0.0,
    "PC.contact": 1.0, "PC.receipt": 1.0, "PC.activated": 0.0, "PC.speed": 0.0,
}


def test_sub_indices_from_components_with_the_2017_weights():
    result = compute_indices(frame([COMPONENTS_2017]), scheme_2017())
    row = result.frame.iloc[0]
    assert row["TG"] == pytest.approx(0.5 * 0.8 + 0.2 * 0.5 + 0.1 * 1.0)
    assert row["TC"] == pytest.approx(0.5)
    assert row["PG"] == pytest.approx(0.5)
    assert row["PC"] == pytest.approx(0.5)
    assert row["T"] == pytest.approx((0.6 + 0.5) / 2)
    assert row["P"] == pytest.approx(0.5)
    assert row["GA"] == pytest.approx((0.55 + 0.5) / 2)
    assert row["GAg"] == pytest.approx((0.6 + 0.5) / 2)
    assert row["GAc"] == pytest.approx(0.5)
    assert result.rejected.empty


def test_sub_indices_given_directly():
    result = compute_indices(frame([{"TG": 0.4, "TC": 0.6, "PG": 0.2, "PC": 0.0}]))
    row = result.frame.iloc[0]
    assert (row["T"], row["P"], row["GA"]) == pytest.approx((0.5, 0.1, 0.3))


def test_only_dimensions_given_derives_ga_and_nothing_else():
    result = compute_indices(frame([{"T": 0.6, "P": 0.2}]))
    row = result.frame.iloc[0]
    assert row["GA"] == pytest.approx(0.4)
    for name in ("TG", "TC", "PG", "PC"):
        assert math.isnan(row[name])


def test_missing_stays_missing_never_zero():
    result = compute_indices(frame([{"TG": 0.4, "TC": NAN, "PG": 0.2, "PC": 0.2}]))
    row = result.frame.iloc[0]
    assert math.isnan(row["T"]) and math.isnan(row["GA"])
    assert row["P"] == pytest.approx(0.2)
    # A missing component leaves its sub-index unknown, even when the others are there.
    partial = dict(COMPONENTS_2017, **{"TG.open_data": NAN})
    out = compute_indices(frame([partial]), scheme_2017()).frame.iloc[0]
    assert math.isnan(out["TG"]) and not math.isnan(out["TC"])


def test_out_of_range_and_unreadable_values_are_rejected_and_left_missing():
    rows = frame([{"TG": "0.5", "TC": "1.2", "PG": "abc", "PC": -0.1}]).astype(object)
    result = compute_indices(rows)
    row = result.frame.iloc[0]
    assert row["TG"] == 0.5
    assert math.isnan(row["TC"]) and math.isnan(row["PG"]) and math.isnan(row["PC"])
    reasons = dict(zip(result.rejected["field"], result.rejected["reason"], strict=True))
    assert reasons == {"TC": "outside [0, 1]", "PG": "not a number", "PC": "outside [0, 1]"}
    assert list(result.rejected["row"]) == [0, 0, 0]


def test_given_values_within_rounding_are_kept_contradictions_rejected():
    ok = compute_indices(frame([{"TG": 0.4, "TC": 0.6, "T": 0.5001}]))
    assert ok.frame.iloc[0]["T"] == 0.5001 and ok.rejected.empty
    bad = compute_indices(frame([{"TG": 0.4, "TC": 0.6, "T": 0.9}]))
    assert bad.frame.iloc[0]["T"] == pytest.approx(0.5)
    assert list(bad.rejected["field"]) == ["T"]
    assert "(TG+TC)/2" in bad.rejected.iloc[0]["reason"]


def test_input_frame_is_not_modified():
    original = frame([{"TG": 0.4, "TC": 0.6, "PG": 0.2, "PC": 0.0}])
    before = original.copy()
    compute_indices(original)
    assert original.equals(before)
    assert "GA" not in original


def test_vectorised_on_many_rows():
    rng = np.random.default_rng(1)
    rows = frame([{"TG": 0.0}] * 1000)
    for name in ("TG", "TC", "PG", "PC"):
        rows[name] = rng.random(1000)
    out = compute_indices(rows).frame
    assert np.allclose(out["GA"], (out["TG"] + out["TC"] + out["PG"] + out["PC"]) / 4)
