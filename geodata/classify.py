"""Classed values for choropleths: colour-blind-safe palettes, class breaks and ranks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# ColorBrewer YlGnBu (sequential, colour-blind safe), by number of classes.
YLGNBU: dict[int, tuple[str, ...]] = {
    3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
    4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
    5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
    6: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"),
    7: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
}
# "No data" is grey with a dashed outline: unlike any palette colour, and not a low value.
NO_DATA_COLOUR = "#bdbdbd"
OUTLINE = "#4d4d4d"
SCHEMES = ("fixed", "quantile")
DEFAULT_CLASSES = 5


def palette(k: int) -> tuple[str, ...]:
    """Return ``k`` YlGnBu colours (1 to 7), light to dark."""
    if k in YLGNBU:
        return YLGNBU[k]
    if k in (1, 2):
        return YLGNBU[3][-k:]
    raise ValueError(f"no palette of {k} classes (1 to 7)")


@dataclass(frozen=True)
class Classes:
    """Class edges (ascending, k + 1 of them) and one colour per class."""

    scheme: str
    edges: tuple[float, ...]
    colours: tuple[str, ...]

    def index(self, value: float | None) -> int | None:
        """Return the class of ``value`` (intervals closed on the left, last one closed)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        for i in range(len(self.colours)):
            if value < self.edges[i + 1]:
                return i
        return len(self.colours) - 1

    def colour(self, value: float | None) -> str:
        """Return the fill colour of ``value``, or the no-data colour."""
        i = self.index(value)
        return NO_DATA_COLOUR if i is None else self.colours[i]

    def labels(self, decimals: int = 2) -> list[str]:
        """Return one label per class, e.g. '0.20–0.40'."""
        return [
            f"{self.edges[i]:.{decimals}f}–{self.edges[i + 1]:.{decimals}f}"
            for i in range(len(self.colours))
        ]


def fixed_classes(k: int = DEFAULT_CLASSES, low: float = 0.0, high: float = 1.0) -> Classes:
    """Return ``k`` equal intervals of [low, high]: the same scale for every round."""
    edges = tuple(float(x) for x in np.round(np.linspace(low, high, k + 1), 10))
    return Classes("fixed", edges, palette(k))


def quantile_classes(values: Sequence[float], k: int = DEFAULT_CLASSES) -> Classes:
    """Return up to ``k`` classes holding about as many values each (repeated edges merged)."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return fixed_classes(k)
    edges = np.unique(np.quantile(data, np.linspace(0, 1, k + 1)))
    if edges.size < 2:  # every value is the same: one class around it
        edges = np.array([data[0], data[0]])
    edges = tuple(float(x) for x in edges)
    return Classes("quantile", edges, palette(len(edges) - 1))


def make_classes(scheme: str, values: Sequence[float], k: int = DEFAULT_CLASSES) -> Classes:
    """Return the classes of ``scheme`` ('fixed' or 'quantile') for ``values``."""
    if scheme == "fixed":
        return fixed_classes(k)
    if scheme == "quantile":
        return quantile_classes(values, k)
    raise ValueError(f"unknown classification {scheme!r}; use one of {SCHEMES}")


def ranks(values: Mapping[str, float | None]) -> dict[str, int]:
    """Rank codes by value, highest first; ties share the best rank; no data is unranked."""
    series = pd.Series({k: v for k, v in values.items() if v is not None}, dtype=float).dropna()
    if series.empty:
        return {}
    ranked = series.rank(method="min", ascending=False)
    return {code: int(rank) for code, rank in ranked.items()}
