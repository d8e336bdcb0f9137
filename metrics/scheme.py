"""Index names and weight schemes (a round's weights are data, validated here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from common.codes import INDICES as _INDEX_CODES
from common.codes import SUBINDICES

INDICES = _INDEX_CODES.codes  # the engine works with the plain tuple

# Each dimension is the mean of its government and citizen sub-index.
DIMENSIONS = {"T": ("TG", "TC"), "P": ("PG", "PC")}
# Extra 2017 indices: government and citizen perspectives.
PERSPECTIVES = {"GAg": ("TG", "PG"), "GAc": ("TC", "PC")}
WEIGHT_TOLERANCE = 1e-9


class SchemeError(ValueError):
    """A weight scheme that cannot be used; the message says which sub-index and why."""


def component_column(subindex: str, component: str) -> str:
    """Return the frame column that holds ``component`` of ``subindex``."""
    return f"{subindex}.{component}"


def validate_scheme(scheme: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Return the scheme as plain floats, or raise SchemeError.

    A scheme maps sub-indices (TG, TC, PG, PC) to {component: weight}; weights are
    non-negative and those of each sub-index sum to 1. An empty scheme is valid (the round
    gives sub-indices directly).
    """
    clean: dict[str, dict[str, float]] = {}
    for sub, weights in (scheme or {}).items():
        if sub not in SUBINDICES:
            raise SchemeError(f"'{sub}' is not a sub-index (expected one of {SUBINDICES})")
        if not isinstance(weights, Mapping) or not weights:
            raise SchemeError(f"{sub}: needs at least one component with its weight")
        clean[sub] = {}
        for component, weight in weights.items():
            if not isinstance(component, str) or not component.strip() or "." in component:
                raise SchemeError(f"{sub}: component name {component!r} is empty or has a dot")
            try:
                value = float(weight)
            except (TypeError, ValueError):
                raise SchemeError(f"{sub}.{component}: weight {weight!r} is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise SchemeError(f"{sub}.{component}: weight {weight!r} must be >= 0")
            clean[sub][component] = value
        total = math.fsum(clean[sub].values())
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise SchemeError(f"{sub}: weights sum to {total:g}, not 1")
    return clean


def scheme_components(scheme: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Return every component column the scheme uses, in scheme order."""
    return [component_column(sub, comp) for sub, weights in scheme.items() for comp in weights]
