"""Compute sub-indices, dimensions and GA from what a round gives, never inventing the rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scheme import DIMENSIONS, INDICES, PERSPECTIVES, SUBINDICES, component_column, validate_scheme

# Given and derived values may differ by rounding (files print 4 decimals); more is an error.
DEFAULT_TOLERANCE = 0.0005
REJECTED_COLUMNS = ["row", "field", "value", "reason"]


@dataclass
class ComputeResult:
    """The computed frame and the values rejected on the way (row, field, value, reason)."""

    frame: pd.DataFrame
    rejected: pd.DataFrame


def _coerce(frame: pd.DataFrame, column: str, problems: list[pd.DataFrame]) -> np.ndarray:
    """Return ``column`` as floats; unreadable or out-of-range values become NaN and are logged.

    A clean float column is returned without copying (the caller never writes into it).
    """
    raw = frame[column]
    if pd.api.types.is_float_dtype(raw.dtype) or pd.api.types.is_integer_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64", na_value=np.nan, copy=False)
        unreadable = None
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan, copy=True
        )
        unreadable = np.isnan(values) & raw.notna().to_numpy()
    with np.errstate(invalid="ignore"):
        # NaN compares False, so only known values can be outside.
        outside = (values < 0) | (values > 1) | np.isinf(values)
    bad = outside if unreadable is None else (outside | unreadable)
    if not bad.any():
        return values
    for mask, reason in ((unreadable, "not a number"), (outside, "outside [0, 1]")):
        if mask is not None and mask.any():
            idx = np.flatnonzero(mask)
            problems.append(
                pd.DataFrame(
                    {
                        "row": frame.index.to_numpy()[idx],
                        "field": column,
                        "value": raw.to_numpy()[idx].astype(str),
                        "reason": reason,
                    }
                )
            )
    values = values.copy()
    values[bad] = np.nan
    return values


def _combine(
    name: str,
    given: np.ndarray | None,
    derived: np.ndarray | None,
    index: pd.Index,
    tolerance: float,
    formula: str,
    problems: list[pd.DataFrame],
) -> np.ndarray:
    """Keep a given value; fill a missing one from ``derived``; reject a contradicting one."""
    if derived is None:
        return given if given is not None else np.full(len(index), np.nan)
    if given is None:
        return derived
    with np.errstate(invalid="ignore"):
        contradicts = np.abs(given - derived) > tolerance  # False where either is NaN
    if contradicts.any():
        idx = np.flatnonzero(contradicts)
        problems.append(
            pd.DataFrame(
                {
                    "row": index.to_numpy()[idx],
                    "field": name,
                    "value": given[idx].astype(str),
                    "reason": [
                        f"differs from {formula} = {d:.4f} by more than {tolerance:g}"
                        for d in derived[idx]
                    ],
                }
            )
        )
    return np.where(np.isnan(given) | contradicts, derived, given)


def compute_indices(
    frame: pd.DataFrame,
    scheme: Mapping[str, Mapping[str, float]] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ComputeResult:
    """Return ``frame`` with every index it allows computed, and the rejected values.

    Sub-indices come from components with the round's ``scheme`` (a row missing any component
    of a sub-index gets no computed value for it); T = (TG+TC)/2, P = (PG+PC)/2,
    GA = (T+P)/2, GAg = (TG+PG)/2, GAc = (TC+PC)/2. A value the round gives directly is kept
    unless it contradicts the one derived from its parts by more than ``tolerance``; then it
    is rejected and the derived one used. Values that are not numbers or lie outside [0, 1]
    are rejected and left missing; missing stays missing (never 0).
    """
    clean_scheme = validate_scheme(scheme)
    problems: list[pd.DataFrame] = []
    values: dict[str, np.ndarray] = {}
    for column in [*INDICES, *(c for c in frame.columns if "." in str(c))]:
        if column in frame.columns:
            values[column] = _coerce(frame, column, problems)

    for sub in SUBINDICES:
        derived = None
        weights = clean_scheme.get(sub)
        columns = [component_column(sub, c) for c in weights] if weights else []
        if weights and all(c in values for c in columns):
            derived = np.zeros(len(frame))
            for column, weight in zip(columns, weights.values(), strict=True):
                derived = derived + weight * values[column]  # NaN anywhere -> NaN
        formula = " + ".join(
            f"{w:g}*{c}" for c, w in zip(columns, (weights or {}).values(), strict=True)
        )
        values[sub] = _combine(
            sub, values.get(sub), derived, frame.index, tolerance, formula or sub, problems
        )

    for name, (a, b) in (*DIMENSIONS.items(), ("GA", ("T", "P")), *PERSPECTIVES.items()):
        derived = (values[a] + values[b]) / 2
        values[name] = _combine(
            name, values.get(name), derived, frame.index, tolerance, f"({a}+{b})/2", problems
        )

    # Build the result from the arrays without copying or consolidating them (fast on
    # millions of rows); the input frame is left untouched.
    built: dict[str, object] = {}
    for column in frame.columns:
        built[column] = values[column] if column in values else frame[column]
    for name in (*INDICES, *PERSPECTIVES):
        built[name] = values[name]
    out = pd.DataFrame(built, index=frame.index, copy=False)
    rejected = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame({c: pd.Series(dtype=object) for c in REJECTED_COLUMNS})
    )
    return ComputeResult(out, rejected)
