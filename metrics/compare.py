"""Compare two rounds over the institutions present in both (matched by stable key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .aggregate import aggregate, group_keys, rank_desc
from .scheme import INDICES

ATTRIBUTES = ("name", "level", "kind", "state")


@dataclass
class Comparison:
    """Two rounds compared: the matched institutions, who entered and who left.

    ``matched`` has, per index I, ``I_before``, ``I_after``, ``I_delta`` and, for the ranked
    indices (GA by default), ``I_rank_before``, ``I_rank_after``, ``I_rank_change``
    (positive = moved up), all computed over the matched set only, since samples change
    between rounds.
    """

    matched: pd.DataFrame
    entered: pd.DataFrame
    left: pd.DataFrame
    before_all: pd.DataFrame = field(repr=False)
    after_all: pd.DataFrame = field(repr=False)
    indices: tuple[str, ...] = INDICES
    ranked: tuple[str, ...] = ("GA",)

    def by(self, by: str) -> pd.DataFrame:
        """Compare groups (national/state/level/type) over matched institutions only.

        Columns: key, n_matched, entered, left, then per index I_before, I_after, I_delta,
        I_rank_before, I_rank_after, I_rank_change (group ranks among matched groups).
        """
        matched = self.matched.rename(columns={f"{a}_after": a for a in ATTRIBUTES})
        before = aggregate(
            matched.rename(columns={f"{i}_before": i for i in self.indices}), by, self.indices
        )
        after = aggregate(
            matched.rename(columns={f"{i}_after": i for i in self.indices}), by, self.indices
        )
        result = pd.DataFrame({"key": after["key"], "n_matched": after["n"]})
        for i in self.indices:
            result[f"{i}_before"] = before[i].to_numpy()
            result[f"{i}_after"] = after[i].to_numpy()
            result[f"{i}_delta"] = result[f"{i}_after"] - result[f"{i}_before"]
            result[f"{i}_rank_before"] = before[f"{i}_rank"].to_numpy()
            result[f"{i}_rank_after"] = after[f"{i}_rank"].to_numpy()
            result[f"{i}_rank_change"] = (
                result[f"{i}_rank_before"] - result[f"{i}_rank_after"]
            ).astype("Int64")
        for name, frame in (("entered", self.entered), ("left", self.left)):
            counts = group_keys(frame, by).value_counts() if len(frame) else pd.Series(dtype=int)
            result[name] = result["key"].map(counts).fillna(0).astype(int).to_numpy()
            extra = counts.index.difference(pd.Index(result["key"]))
            if len(extra):  # groups with no matched institution at all
                rows = pd.DataFrame({"key": list(extra), "n_matched": 0, name: counts[extra]})
                result = pd.concat([result, rows], ignore_index=True)
        for name in ("entered", "left"):
            result[name] = result[name].fillna(0).astype(int)
        return result.sort_values("key", kind="stable").reset_index(drop=True)

    def all_institutions(self, by: str) -> pd.DataFrame:
        """Aggregate every institution of each round, matched or not: NOT a like-for-like view.

        Columns: key, n_before, n_after, then per index I_before, I_after, I_delta, and
        ``basis`` = "all institutions (samples differ)" so nobody mistakes it for a comparison.
        """
        before = aggregate(self.before_all, by, self.indices).set_index("key")
        after = aggregate(self.after_all, by, self.indices).set_index("key")
        keys = before.index.union(after.index)
        before, after = before.reindex(keys), after.reindex(keys)
        result = pd.DataFrame(
            {"key": keys, "n_before": before["n"].fillna(0).astype(int).to_numpy(),
             "n_after": after["n"].fillna(0).astype(int).to_numpy()}
        )
        for i in self.indices:
            result[f"{i}_before"] = before[i].to_numpy()
            result[f"{i}_after"] = after[i].to_numpy()
            result[f"{i}_delta"] = result[f"{i}_after"] - result[f"{i}_before"]
        result["basis"] = "all institutions (samples differ)"
        return result


def _positions(
    before: pd.DataFrame, after: pd.DataFrame, on: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return, for each row of each round, the row of the same key in the other round or -1.

    Keys are hashed once (``pd.factorize`` over both rounds); the rest is integer work.
    """
    first, second = before[on].to_numpy(), after[on].to_numpy()
    if first.dtype.kind not in "iu" or second.dtype.kind not in "iu":
        first, second = first.astype(object), second.astype(object)
    codes, uniques = pd.factorize(np.concatenate([first, second]))
    if (codes < 0).any():
        raise ValueError("an institution key is missing")
    code_before, code_after = codes[: len(before)], codes[len(before):]
    for label, code in (("first", code_before), ("second", code_after)):
        counts = np.bincount(code, minlength=len(uniques))
        if (counts > 1).any():
            key = uniques[int(np.flatnonzero(counts > 1)[0])]
            raise ValueError(f"{label} round: institution key {key!r} appears more than once")
    where_after = np.full(len(uniques), -1, dtype=np.int64)
    where_after[code_after] = np.arange(len(after))
    where_before = np.full(len(uniques), -1, dtype=np.int64)
    where_before[code_before] = np.arange(len(before))
    return where_after[code_before], where_before[code_after]


def compare_rounds(
    before: pd.DataFrame,
    after: pd.DataFrame,
    indices: Sequence[str] = INDICES,
    ranked: Sequence[str] = ("GA",),
    on: str = "key",
) -> Comparison:
    """Match two round frames by ``key``; deltas and rank changes over the matched set only.

    ``matched`` follows the first round's row order; ranks are computed for the ``ranked``
    indices (GA by default: ranking every index of a million rows costs seconds). ``on``
    names the column that identifies an institution in both rounds: its stable key, or the
    database id the importer resolved that key to (integers match faster).
    """
    indices = tuple(i for i in indices if i in before.columns and i in after.columns)
    in_after, in_before = _positions(before, after, on)
    rows_before = np.flatnonzero(in_after >= 0)
    rows_after = in_after[rows_before]
    columns: dict[str, object] = {"key": before["key"].to_numpy()[rows_before]}
    if on != "key":
        columns[on] = before[on].to_numpy()[rows_before]
    sides = ((before, rows_before, "_before"), (after, rows_after, "_after"))
    for attribute in ATTRIBUTES:
        for frame, rows, suffix in sides:
            if attribute in frame.columns:
                columns[attribute + suffix] = frame[attribute].to_numpy()[rows]
    for i in indices:
        b = before[i].to_numpy(dtype="float64")[rows_before]
        a = after[i].to_numpy(dtype="float64")[rows_after]
        columns[f"{i}_before"], columns[f"{i}_after"], columns[f"{i}_delta"] = b, a, a - b
    matched = pd.DataFrame(columns, copy=False)
    for i in ranked:
        if i not in indices:
            continue
        matched[f"{i}_rank_before"] = rank_desc(matched[f"{i}_before"])
        matched[f"{i}_rank_after"] = rank_desc(matched[f"{i}_after"])
        matched[f"{i}_rank_change"] = matched[f"{i}_rank_before"] - matched[f"{i}_rank_after"]
    entered = after.iloc[np.flatnonzero(in_before < 0)].reset_index(drop=True)
    left = before.iloc[np.flatnonzero(in_after < 0)].reset_index(drop=True)
    return Comparison(matched, entered, left, before, after, indices, tuple(ranked))
