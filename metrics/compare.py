"""Compare two rounds over the institutions present in both (matched by stable key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .aggregate import aggregate, group_keys, rank_desc
from .scheme import INDICES

ATTRIBUTES = ("name", "level", "kind", "state")


@dataclass
class Comparison:
    """Two rounds compared: the matched institutions, who entered and who left.

    ``matched`` has, per index I, ``I_before``, ``I_after``, ``I_delta`` and the ranks
    ``I_rank_before``, ``I_rank_after``, ``I_rank_change`` (positive = moved up), all
    computed over the matched set only, since samples change between rounds.
    """

    matched: pd.DataFrame
    entered: pd.DataFrame
    left: pd.DataFrame
    before_all: pd.DataFrame = field(repr=False)
    after_all: pd.DataFrame = field(repr=False)
    indices: tuple[str, ...] = INDICES

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
            extra = counts.index.difference(result["key"])
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


def _check_keys(frame: pd.DataFrame, label: str) -> None:
    duplicated = frame["key"].duplicated()
    if duplicated.any():
        first = frame.loc[duplicated, "key"].iloc[0]
        raise ValueError(f"{label} round: institution key {first!r} appears more than once")


def compare_rounds(
    before: pd.DataFrame, after: pd.DataFrame, indices: Sequence[str] = INDICES
) -> Comparison:
    """Match two round frames by ``key``; deltas and rank changes over the matched set only."""
    _check_keys(before, "first")
    _check_keys(after, "second")
    indices = tuple(i for i in indices if i in before.columns and i in after.columns)
    keep = ["key", *(a for a in ATTRIBUTES if a in after.columns), *indices]
    keep_before = ["key", *(a for a in ATTRIBUTES if a in before.columns), *indices]
    matched = before[keep_before].merge(
        after[keep], on="key", how="inner", suffixes=("_before", "_after"), sort=True
    )
    for i in indices:
        matched[f"{i}_delta"] = matched[f"{i}_after"] - matched[f"{i}_before"]
        matched[f"{i}_rank_before"] = rank_desc(matched[f"{i}_before"]).to_numpy()
        matched[f"{i}_rank_after"] = rank_desc(matched[f"{i}_after"]).to_numpy()
        matched[f"{i}_rank_change"] = (
            matched[f"{i}_rank_before"] - matched[f"{i}_rank_after"]
        ).astype("Int64")
    entered = after[~after["key"].isin(before["key"])].reset_index(drop=True)
    left = before[~before["key"].isin(after["key"])].reset_index(drop=True)
    return Comparison(matched, entered, left, before, after, indices)
