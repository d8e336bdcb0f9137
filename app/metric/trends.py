"""Trends over rounds: a scope's (national or one state's) indices in every round, published
and computed, for the charts and the series table. Functions take a session, never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from metrics import INDICES

from .published import PublishedValue, press_values, published_details
from .scores import national_means, round_labels


@dataclass
class Trend:
    """A scope's (national or one state's) indices in every round, published and computed."""

    years: list[int]
    labels: dict[int, str]
    published: dict[int, dict[str, PublishedValue]]
    computed: dict[int, dict[str, float | None]]  # rounds with institution data only
    indices: list[str]  # the indices with a published or computed value, in INDICES order
    ranks: dict[int, tuple[int | None, int]] = field(default_factory=dict)  # (rank, ranked)
    national: dict[int, dict[str, float | None]] = field(default_factory=dict)
    # Values other publications (the press) print: year -> index -> distinct values, sorted.
    press: dict[int, dict[str, list[float]]] = field(default_factory=dict)

    def notes(self) -> list[tuple[int, str, str]]:
        """(year, indices, note) of every caveated published figure, one line per note."""
        found: dict[tuple[int, str], list[str]] = {}
        for year in self.years:
            for index in INDICES:
                figure = self.published.get(year, {}).get(index)
                if figure is not None and figure.note:
                    found.setdefault((year, figure.note), []).append(index)
        return [(year, ", ".join(indices), note) for (year, note), indices in found.items()]


def _trend_indices(published: dict[int, dict[str, Any]],
                   computed: dict[int, dict[str, float | None]]) -> list[str]:
    present = {i for figures in published.values() for i in figures}
    present |= {i for values in computed.values() for i, v in values.items() if v is not None}
    return [i for i in INDICES if i in present]


def national_trend(
    session: Session, computed: dict[int, dict[str, float | None]] | None = None
) -> Trend:
    """The national indices of every round: published (with caveats) and computed (the means
    of every index over each loaded round's institutions; ``computed`` when already known)."""
    labels = round_labels(session)
    published = published_details(session, "national")
    computed = national_means(session, INDICES) if computed is None else computed
    return Trend(years=list(labels), labels=labels, published=published, computed=computed,
                 indices=_trend_indices(published, computed),
                 press=press_values(session, "national"))


def scope_trend(
    session: Session, cve_ent: str, computed: dict[int, dict[str, float | None]],
    ranks: dict[int, tuple[int | None, int]], national: dict[int, dict[str, float | None]],
) -> Trend:
    """One state's trend from its computed figures (``app.metric.states``), with its
    published figures and the press's."""
    labels = round_labels(session)
    published = published_details(session, "state", cve_ent)
    return Trend(years=list(labels), labels=labels, published=published, computed=computed,
                 indices=_trend_indices(published, computed), ranks=ranks, national=national,
                 press=press_values(session, "state", cve_ent))
