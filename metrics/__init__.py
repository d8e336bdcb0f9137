"""The Open Government Metric engine: pure functions over pandas DataFrames (no Flask, no DB).

A *round frame* has one row per institution with the columns ``key``, ``name``, ``level``
(federal/state/municipal), ``kind`` (institution type), ``state`` (INEGI cve_ent, missing for
federal institutions), the indices ``TG TC PG PC T P GA`` (floats in [0, 1], NaN when unknown)
and optionally component columns named ``"<sub-index>.<component>"`` (e.g. ``"TG.access_info"``).
"""

from .aggregate import BY_CHOICES, FEDERAL_KEY, aggregate, rank_desc
from .compare import Comparison, compare_rounds
from .compute import ComputeResult, compute_indices
from .scheme import (
    DIMENSIONS,
    INDICES,
    SUBINDICES,
    SchemeError,
    component_column,
    scheme_components,
    validate_scheme,
)

__all__ = [
    "BY_CHOICES",
    "DIMENSIONS",
    "FEDERAL_KEY",
    "INDICES",
    "SUBINDICES",
    "Comparison",
    "ComputeResult",
    "SchemeError",
    "aggregate",
    "compare_rounds",
    "component_column",
    "compute_indices",
    "rank_desc",
    "scheme_components",
    "validate_scheme",
]
