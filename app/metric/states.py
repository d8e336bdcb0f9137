"""The metric by state: the maps' values, and everything a state's page shows of the metric.

A state's page reads only the state's own institutions' scores (``read_frame`` narrowed to the
state) and the few national figures it needs, computed in SQL over the rounds (each state's
mean GA for the ranks and the national GA; in the latest round, each type's mean GA and how
many institutions are above each of the state's best and worst): its cost grows with the
state's rows, not with everything loaded. Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
from sqlalchemy.orm import Session

from app.models import Institution
from app.states.service import state_names
from common.codes import INSTITUTION_TYPES
from metrics import FEDERAL_KEY, INDICES, aggregate

from .published import BestInstitution, PublishedRow, best_institutions, published_figures
from .published import published_rows as published_rows_of
from .rounds import InstitutionRow, clean, institution_rows
from .scores import (
    GroupMean,
    read_frame,
    read_indices,
    round_ga_stats,
    round_labels,
    state_means,
)
from .trends import Trend, scope_trend

# --- The maps' values ----------------------------------------------------------------------


def _check_index(index: str) -> None:
    if index not in INDICES:
        raise ValueError(f"unknown index {index!r}; choose one of {', '.join(INDICES)}")


def _state_values(frame: pd.DataFrame, index: str) -> dict[str, float]:
    """The states' means of ``index`` in one round's frame (the Federation and the states
    without a value left out)."""
    table = aggregate(frame, "state", [index])
    table = table[(table["key"] != FEDERAL_KEY) & table[index].notna()]
    return {str(k): float(v) for k, v in zip(table["key"], table[index], strict=True)}


def state_index_values(session: Session, year: int, index: str) -> dict[str, float]:
    """Return cve_ent -> the state's mean of ``index`` in round ``year``.

    The mean is simple and unweighted over the state's institutions; federal institutions
    are excluded and states without a value are absent.
    """
    _check_index(index)
    frame = read_indices(session, [year], group="state")
    return _state_values(frame, index) if len(frame) else {}


def state_values_by_round(session: Session, index: str) -> dict[int, dict[str, float]]:
    """``state_index_values`` of every loaded round from one narrow read: year -> values."""
    _check_index(index)
    frame = read_indices(session, group="state")
    years = frame["year"]
    return {year: _state_values(frame[years == year], index)
            for year in sorted(set(years.tolist()))}


# --- A state's results in every round ------------------------------------------------------


@dataclass
class StateRoundResult:
    """One state's figures in one round, beside the national GA and the published figures."""

    year: int
    label: str
    institutions: int
    values: dict[str, float | None]
    national: dict[str, float | None]  # the national figures the page shows: GA
    published: dict[str, float] = field(default_factory=dict)
    rank: int | None = None
    ranked: int = 0

    @property
    def difference(self) -> float | None:
        """Computed GA minus the published GA, when both exist."""
        computed = self.values.get("GA")
        if computed is None or "GA" not in self.published:
            return None
        return computed - self.published["GA"]


def _rank(groups: dict[str, GroupMean], cve_ent: str) -> tuple[int | None, int]:
    """The state's GA rank among the states (ties share the best rank) and how many have a
    GA; the Federation is never ranked."""
    means = [g.mean for key, g in groups.items() if key != FEDERAL_KEY and g.mean is not None]
    mine = groups.get(cve_ent)
    if mine is None or mine.mean is None:
        return None, len(means)
    return 1 + sum(m > mine.mean for m in means), len(means)


def _national_ga(groups: dict[str, GroupMean]) -> float | None:
    known = sum(g.known for g in groups.values())
    return sum(g.total for g in groups.values()) / known if known else None


def state_results(
    session: Session, cve_ent: str, frame: pd.DataFrame | None = None
) -> list[StateRoundResult]:
    """Return the state's results in every loaded round (oldest first).

    Each has the state's indices, the national GA, the published figures for the state, the
    state's GA rank among the states (ties share the best rank) and the number ranked.
    ``frame``: the state's own scores (``read_frame`` narrowed to it), when already read.
    """
    groups_by_year = state_means(session, "GA")
    if not groups_by_year:
        return []
    if frame is None:
        frame = read_frame(session, where=Institution.state_cve == cve_ent)
    labels = round_labels(session)
    published = published_figures(session, "state", cve_ent)
    years = frame["year"]
    own = {int(year): frame[years == year] for year in set(years.tolist())}
    results = []
    for year in sorted(groups_by_year):
        groups = groups_by_year[year]
        rank, ranked = _rank(groups, cve_ent)
        mine = own.get(year)
        if mine is None:
            values: dict[str, float | None] = dict.fromkeys(INDICES)
            count = 0
        else:
            row = aggregate(mine, "state").iloc[0]
            values = {i: clean(row[i]) for i in INDICES}
            count = int(row["n"])
        results.append(StateRoundResult(
            year=year, label=labels.get(year, str(year)), institutions=count, values=values,
            national={"GA": _national_ga(groups)},
            published=published.get(year, {}).get(cve_ent, {}),
            rank=rank, ranked=ranked,
        ))
    return results


def state_trend(
    session: Session, cve_ent: str, results: Sequence[StateRoundResult] | None = None
) -> Trend:
    """One state's indices in every round (published, computed), its GA rank, the national."""
    results = state_results(session, cve_ent) if results is None else results
    computed, ranks, national = {}, {}, {}
    for result in results:
        if result.institutions:
            computed[result.year] = result.values
            ranks[result.year] = (result.rank, result.ranked)
        national[result.year] = result.national
    return scope_trend(session, cve_ent, computed, ranks, national)


# --- A state's institutions against the nation ---------------------------------------------


@dataclass(frozen=True)
class TypeMean:
    """A type's mean GA among the state's institutions beside its national mean."""

    kind: str
    label: str
    n: int
    GA: float | None
    national: float | None
    delta: float | None


@dataclass
class StateInstitutions:
    """A state's institutions in its latest round with institution data, against the nation."""

    year: int | None
    by_type: list[TypeMean]
    best: list[InstitutionRow]  # national GA rank, highest GA first
    worst: list[InstitutionRow]  # lowest GA first; never repeats one of ``best``
    ranked: int = 0  # institutions with a GA in the round, nationally


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def state_institutions(
    session: Session, cve_ent: str, limit: int = 5, frame: pd.DataFrame | None = None
) -> StateInstitutions:
    """The state's institutions by type (mean GA beside the national mean of the type) and
    its ``limit`` best and worst by GA, in the latest round where the state has any.

    ``frame``: the state's own scores in every round, when already read.
    """
    if frame is None:
        frame = read_frame(session, where=Institution.state_cve == cve_ent)
    if frame.empty:
        return StateInstitutions(None, [], [], [])
    year = int(frame["year"].max())
    mine = institution_rows(frame[frame["year"] == year], state_names(session))
    known = sorted((r for r in mine if r.GA is not None), key=lambda r: (-(r.GA or 0), r.name))
    best = known[:limit]
    worst = known[len(best):][::-1][:limit]
    kinds = sorted({r.kind for r in mine}, key=INSTITUTION_TYPES.label)
    stats = round_ga_stats(session, year, [r.GA for r in (*best, *worst) if r.GA is not None],
                           kinds)
    by_type = []
    for kind in kinds:
        here = [r.GA for r in mine if r.kind == kind and r.GA is not None]
        state_mean, national = _mean(here), stats.kind_means.get(kind)
        by_type.append(TypeMean(
            kind=kind, label=INSTITUTION_TYPES.label(kind), n=sum(r.kind == kind for r in mine),
            GA=state_mean, national=national,
            delta=None if state_mean is None or national is None else state_mean - national,
        ))

    def nationally(row: InstitutionRow) -> InstitutionRow:
        return replace(row, rank=None if row.GA is None else stats.above[row.GA] + 1)

    return StateInstitutions(year, by_type, [nationally(r) for r in best],
                             [nationally(r) for r in worst], stats.ranked)


# --- Everything a state's page shows of the metric -----------------------------------------


@dataclass
class StateMetric:
    """The metric on a state's page: its results per round and their trend, its published
    figures, its institutions against the nation, its published best institutions."""

    results: list[StateRoundResult]
    trend: Trend
    published: list[PublishedRow]
    institutions: StateInstitutions
    best_institutions: list[BestInstitution]


def state_metric(session: Session, cve_ent: str) -> StateMetric:
    """Read the state's own scores once and compute the national figures in SQL."""
    frame = read_frame(session, where=Institution.state_cve == cve_ent)
    results = state_results(session, cve_ent, frame)
    return StateMetric(
        results=results,
        trend=state_trend(session, cve_ent, results),
        published=published_rows_of(session, "state", scope_key=cve_ent),
        institutions=state_institutions(session, cve_ent, frame=frame),
        best_institutions=best_institutions(session, cve_ent=cve_ent),
    )
