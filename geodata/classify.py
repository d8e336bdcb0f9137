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
# ColorBrewer YlGnBu with 9 classes: more classes are sampled along it (light to dark).
YLGNBU_9 = ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8",
            "#253494", "#081d58")
# Width of the default fixed classes: fine enough to separate the states, the same every round.
CLASS_WIDTH = 0.05
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
    if k < 1:
        raise ValueError(f"no palette of {k} classes")
    return tuple(_sample(YLGNBU_9, i / (k - 1)) for i in range(k))


def _sample(colours: Sequence[str], t: float) -> str:
    """The colour at ``t`` (0..1) along ``colours``, interpolated in RGB."""
    position = t * (len(colours) - 1)
    i = min(int(position), len(colours) - 2)
    f = position - i
    a = [int(colours[i][j:j + 2], 16) for j in (1, 3, 5)]
    b = [int(colours[i + 1][j:j + 2], 16) for j in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Classes:
    """Class edges (ascending, k + 1 of them) and one colour per class."""

    scheme: str
    edges: tuple[float, ...]
    colours: tuple[str, ...]
    # Decimals values are printed with: a value is classed as printed (rounded), so its
    # colour and the number shown beside it never disagree. None: classed as given.
    decimals: int | None = None

    def shown(self, value: float | None) -> float | None:
        """``value`` as printed (rounded to ``decimals``); None stays None."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value if self.decimals is None else round(value, self.decimals)

    def index(self, value: float | None) -> int | None:
        """Return the class of ``value`` as printed (intervals closed on the left, last one
        closed)."""
        value = self.shown(value)
        if value is None:
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
        """Return one label per class, e.g. '0.20–0.40'.

        When values are classed as printed, a class closed on the left is labelled by the
        printed values it holds ('0.40–0.44' for [0.40, 0.45) at two decimals).
        """
        if self.decimals is not None:
            step = 10 ** -self.decimals
            last = len(self.colours) - 1
            return [
                f"{self.edges[i]:.{self.decimals}f}–"
                f"{self.edges[i + 1] - (step if i < last else 0):.{self.decimals}f}"
                for i in range(len(self.colours))
            ]
        return [
            f"{self.edges[i]:.{decimals}f}–{self.edges[i + 1]:.{decimals}f}"
            for i in range(len(self.colours))
        ]


def fixed_classes(k: int = DEFAULT_CLASSES, low: float = 0.0, high: float = 1.0) -> Classes:
    """Return ``k`` equal intervals of [low, high]: the same scale for every round."""
    edges = tuple(float(x) for x in np.round(np.linspace(low, high, k + 1), 10))
    return Classes("fixed", edges, palette(k))


def range_classes(values: Sequence[float], width: float = CLASS_WIDTH,
                  decimals: int = 2) -> Classes:
    """Classes ``width`` wide covering ``values`` (e.g. every loaded round's state values).

    Edges are multiples of ``width``, so the scale is the same for every round drawn over the
    same range; values are classed as printed with ``decimals``.
    """
    data = [round(v, decimals) for v in values if v is not None and not math.isnan(v)]
    if not data:
        return fixed_classes()
    low = math.floor(min(data) / width + 1e-9) * width
    high = math.floor(max(data) / width + 1e-9) * width + width
    k = max(1, round((high - low) / width))
    edges = tuple(round(low + i * width, 10) for i in range(k + 1))
    return Classes("fixed", edges, palette(k), decimals)


def quantile_classes(values: Sequence[float], k: int = DEFAULT_CLASSES) -> Classes:
    """Return up to ``k`` classes holding about as many values each (repeated edges merged).

    Values and edges are taken as printed (two decimals), so two states printed alike
    always share a class.
    """
    data = np.asarray([round(v, 2) for v in values if v is not None and not math.isnan(v)],
                      dtype=float)
    if data.size == 0:
        return fixed_classes(k)
    found = np.unique(np.round(np.quantile(data, np.linspace(0, 1, k + 1)), 2))
    if found.size < 2:  # every value is the same: one class around it
        found = np.array([data[0], data[0]])
    edges = tuple(float(x) for x in found)
    return Classes("quantile", edges, palette(len(edges) - 1), 2)


def make_classes(scheme: str, values: Sequence[float], k: int = DEFAULT_CLASSES,
                 scale: Sequence[float] | None = None) -> Classes:
    """Return the classes of ``scheme`` ('fixed' or 'quantile') for ``values``.

    'fixed' is 0.05-wide classes over ``scale`` (the values of every loaded round, so every
    round shares them), or five 0-1 intervals when no scale is given.
    """
    if scheme == "fixed":
        return range_classes(scale) if scale else fixed_classes(k)
    if scheme == "quantile":
        return quantile_classes(values, k)
    raise ValueError(f"unknown classification {scheme!r}; use one of {SCHEMES}")


def ranks(values: Mapping[str, float | None]) -> dict[str, int]:
    """Rank codes by value, highest first; ties share the best rank; no data is unranked."""
    series = pd.Series({k: v for k, v in values.items() if v is not None}, dtype=float).dropna()
    if series.empty:
        return {}
    ranked = series.rank(method="min", ascending=False)
    return {str(code): int(rank) for code, rank in ranked.items()}
