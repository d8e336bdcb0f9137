"""Aggregate a round: simple unweighted means, counts, min/max and ranks with ties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .scheme import INDICES

# The group column for each way of aggregating; national is one group keyed "".
BY_CHOICES = {"national": None, "state": "state", "level": "level", "type": "kind"}
# The Federation is not a state: its institutions form their own group, never ranked.
FEDERAL_KEY = "federal"


def rank_desc(values: pd.Series) -> pd.Series:
    """Rank highest first; ties share the best rank (1, 2, 2, 4); missing values stay unranked."""
    return values.rank(method="min", ascending=False, na_option="keep").astype("Int64")


def group_keys(frame: pd.DataFrame, by: str) -> pd.Series:
    """Return the group of each row for ``by`` (national, state, level or type)."""
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(BY_CHOICES)}")
    column = BY_CHOICES[by]
    if column is None:
        return pd.Series("", index=frame.index, dtype=object)
    keys = frame[column].astype(object)
    if by == "state":
        keys = keys.where(keys.notna(), FEDERAL_KEY)
    return keys


def aggregate(
    frame: pd.DataFrame, by: str, indices: Sequence[str] = INDICES
) -> pd.DataFrame:
    """Return one row per group: n, and for each index its mean, count, min, max and rank.

    Columns: ``key``, ``n`` (institutions), then ``<I>``, ``<I>_n``, ``<I>_min``, ``<I>_max``,
    ``<I>_rank`` for each index I. Means skip missing values (missing is never 0). Ranks are
    highest first with ties sharing the best rank; for ``by="state"`` the Federation is
    shown but not ranked. Rows are sorted by key.
    """
    indices = [i for i in indices if i in frame.columns]
    keys = group_keys(frame, by)
    data = frame[indices].astype("float64")
    grouped = data.groupby(keys.to_numpy(), sort=True, dropna=False)
    means, counts = grouped.mean(), grouped.count()
    mins, maxs = grouped.min(), grouped.max()
    sizes = grouped.size()
    result = pd.DataFrame({"key": sizes.index.astype(object), "n": sizes.to_numpy()})
    rankable = result["key"] != FEDERAL_KEY if by == "state" else np.ones(len(result), bool)
    for index in indices:
        result[index] = means[index].to_numpy()
        result[f"{index}_n"] = counts[index].to_numpy()
        result[f"{index}_min"] = mins[index].to_numpy()
        result[f"{index}_max"] = maxs[index].to_numpy()
        result[f"{index}_rank"] = rank_desc(result[index].where(rankable))
    return result.reset_index(drop=True)
