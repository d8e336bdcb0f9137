"""Invariants of the engine, checked on generated inputs (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import INDICES, aggregate, compute_indices
from tests.metrics.helpers import scheme_2017

SCHEME = scheme_2017()
COMPONENTS = [f"{sub}.{c}" for sub, weights in SCHEME.items() for c in weights]
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
maybe_unit = st.one_of(unit, st.just(float("nan")))


@st.composite
def component_rounds(draw, min_rows: int = 1, max_rows: int = 30) -> pd.DataFrame:
    n = draw(st.integers(min_rows, max_rows))
    data = {c: draw(st.lists(maybe_unit, min_size=n, max_size=n)) for c in COMPONENTS}
    data["key"] = [f"k{i}" for i in range(n)]
    data["state"] = draw(st.lists(st.sampled_from(["01", "02", "09", None]), min_size=n,
                                  max_size=n))
    data["level"] = ["federal" if s is None else "state" for s in data["state"]]
    data["kind"] = draw(st.lists(st.sampled_from(["party", "union", "trust"]), min_size=n,
                                 max_size=n))
    return pd.DataFrame(data)


@st.composite
def subindex_rounds(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    data = {s: draw(st.lists(maybe_unit, min_size=n, max_size=n)) for s in ("TG", "TC", "PG", "PC")}
    data["key"] = [f"k{i}" for i in range(n)]
    data["state"] = draw(st.lists(st.sampled_from(["01", "02", None]), min_size=n, max_size=n))
    data["level"] = ["federal" if s is None else "state" for s in data["state"]]
    data["kind"] = "party"
    return pd.DataFrame(data)


@settings(max_examples=60, deadline=None)
@given(component_rounds())
def test_every_index_lies_in_the_unit_interval(rows):
    out = compute_indices(rows, SCHEME).frame
    for name in INDICES:
        values = out[name].dropna()
        assert ((values >= 0) & (values <= 1 + 1e-12)).all(), name


@settings(max_examples=60, deadline=None)
@given(st.one_of(component_rounds(), subindex_rounds()))
def test_ga_is_the_mean_of_t_and_p(rows):
    out = compute_indices(rows, SCHEME).frame
    known = out["T"].notna() & out["P"].notna()
    assert np.allclose(out.loc[known, "GA"], (out.loc[known, "T"] + out.loc[known, "P"]) / 2)
    assert out.loc[~known, "GA"].isna().all()  # never invented


@settings(max_examples=40, deadline=None)
@given(component_rounds(min_rows=2), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(rows, rnd):
    order = list(rows.index)
    rnd.shuffle(order)
    shuffled = rows.loc[order]
    a = compute_indices(rows, SCHEME).frame.set_index("key").sort_index()
    b = compute_indices(shuffled, SCHEME).frame.set_index("key").sort_index()
    pd.testing.assert_frame_equal(a[list(INDICES)], b[list(INDICES)])
    for by in ("national", "state", "type"):
        pd.testing.assert_frame_equal(
            aggregate(a.reset_index(), by), aggregate(b.reset_index(), by),
            check_exact=False, rtol=1e-12, atol=1e-12,
        )


@settings(max_examples=80, deadline=None)
@given(component_rounds(max_rows=5), st.data())
def test_raising_a_weighted_component_never_lowers_its_sub_index(rows, data):
    column = data.draw(st.sampled_from(COMPONENTS))
    sub, component = column.split(".")
    if SCHEME[sub][component] <= 0:
        return
    row = data.draw(st.integers(0, len(rows) - 1))
    raised = rows.copy()
    current = raised.at[row, column]
    low = 0.0 if np.isnan(current) else current
    raised.at[row, column] = data.draw(st.floats(min_value=low, max_value=1))
    before = compute_indices(rows, SCHEME).frame.at[row, sub]
    after = compute_indices(raised, SCHEME).frame.at[row, sub]
    if not np.isnan(before):
        assert after >= before
