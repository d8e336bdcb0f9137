"""Aggregate a round: simple unweighted means, counts, min/max and ranks with ties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from common.codes import GROUPINGS

from .scheme import INDICES

# The group column for each way of aggregating; national is one group keyed "".
# Frame column of each grouping (common.codes.GROUPINGS); national is one group.
BY_CHOICES = dict(zip(GROUPINGS.codes, (None, "state", "level", "kind"), strict=True))
# The Federation is not a state: its institutions form their own group, never ranked.
FEDERAL_KEY = "federal"


def rank_desc(values: pd.Series) -> pd.Series:
    """Rank highest first; ties share the best rank (1, 2, 2, 4); missing values stay unranked."""
    data = values.to_numpy(dtype="float64", na_value=np.nan)
    known = np.flatnonzero(~np.isnan(data))
    negated = -data[known]
    order = np.argsort(negated, kind="quicksort")
    ordered = negated[order]
    # A position starts a new rank where the value changes; ties keep the first position.
    starts = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    ranks = np.where(starts, np.arange(1, len(ordered) + 1), 0)
    np.maximum.accumulate(ranks, out=ranks)
    result = np.zeros(len(data), dtype=np.int64)
    result[known[order]] = ranks
    mask = np.ones(len(data), dtype=bool)
    mask[known] = False
    return pd.Series(pd.arrays.IntegerArray(result, mask), index=values.index)


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
    if BY_CHOICES.get(by, "") is None:  # national: one group, no keys to hash
        codes, uniques = np.zeros(len(frame), dtype=np.int64), np.array([""], dtype=object)
    else:
        # Hash the group names once, sorted, then work on small integers.
        codes, uniques = pd.factorize(group_keys(frame, by).to_numpy(dtype=object), sort=True)
    sizes = np.bincount(codes, minlength=len(uniques))
    # Sort rows by group once; then every statistic of every index is one ufunc.reduceat
    # over contiguous slices (much faster than a groupby per index and statistic).
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    # One row per index, each contiguous, so the reductions run along memory.
    values = np.empty((len(indices), len(frame)), dtype="float64")
    if len(uniques) > 1:
        # Few groups: sorting 16-bit codes lets numpy use a radix sort.
        small = codes.astype(np.int16) if len(uniques) < 2**15 else codes
        order = np.argsort(small, kind="stable")
        for position, index in enumerate(indices):
            column = frame[index].to_numpy(dtype="float64", na_value=np.nan)
            np.take(column, order, out=values[position])
    else:
        for position, index in enumerate(indices):
            values[position] = frame[index].to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(values)
    if len(frame):
        counts = np.add.reduceat(known, starts, axis=1, dtype=np.int64).T
        sums = np.add.reduceat(np.where(known, values, 0.0), starts, axis=1).T
        mins = np.fmin.reduceat(values, starts, axis=1).T  # fmin/fmax skip NaN
        maxs = np.fmax.reduceat(values, starts, axis=1).T
    else:
        counts = np.zeros((len(uniques), len(indices)), dtype=np.int64)
        sums = np.zeros((len(uniques), len(indices)))
        mins = maxs = np.full((len(uniques), len(indices)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    result = pd.DataFrame({"key": np.asarray(uniques, dtype=object), "n": sizes})
    rankable = result["key"] != FEDERAL_KEY if by == "state" else np.ones(len(result), bool)
    for position, index in enumerate(indices):
        result[index] = means[:, position]
        result[f"{index}_n"] = counts[:, position].astype(np.int64)
        result[f"{index}_min"] = mins[:, position]
        result[f"{index}_max"] = maxs[:, position]
        result[f"{index}_rank"] = rank_desc(result[index].where(rankable))
    return result.reset_index(drop=True)
