"""The rounds: the list of rounds, one round's page, its institutions, summaries by grouping.

``flask metric summary``, the API's aggregates and the round's CSV files read the same
``summary_rows``; the round's page, its institutions and one institution's page each come from
one function returning one typed result. Each round is read once per call (``Scores``).
Functions take a session and never commit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import params
from app.listing import ListSpec, Sort, columns
from app.models import FieldworkRound, Institution, MetricRound, MetricScore, State
from app.states.service import state_names
from common.codes import INSTITUTION_TYPES, LEVELS, MAIN_INDICES, STATE_CODES
from common.text import fold
from metrics import FEDERAL_KEY, INDICES, aggregate, rank_desc

from .labels import group_label
from .published import (
    BestInstitution,
    PublishedRow,
    best_institutions,
    published_figures,
    published_rows,
)
from .scores import (
    Scores,
    national_means,
    read_frame,
    read_indices,
    round_by_year,
    round_years,
)
from .trends import Trend, national_trend

# GA bands of the distribution by type: [0, 0.2), [0.2, 0.4), ... [0.8, 1].
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)
TOP = 10


# --- Numbers as frames hold them -----------------------------------------------------------


def clean(value: object) -> float | None:
    """A number of a frame as a float; None for None, NA and NaN (unknown stays unknown)."""
    if value is None or value is pd.NA:
        return None
    if not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    return None if math.isnan(number) else number


def rounded(value: object, digits: int = 6) -> float | int | None:
    """A figure as the tables give it: ``digits`` decimals (a whole number for 0); None for
    unknown."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, int | bool):
        return int(value)
    if not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    return int(number) if digits == 0 else round(number, digits)


def whole(value: object) -> int | None:
    """A count or a rank as the tables give it: a whole number, or None for unknown."""
    number = rounded(value, 0)
    return None if number is None else int(number)


# --- Summaries by grouping (the round's page, its CSV files, the API, the CLI) --------------


@dataclass(frozen=True)
class IndexFigures:
    """One index of a group: computed mean, published figure, their difference, the group's
    minimum and maximum, and the group's rank (highest first; ties share the best rank)."""

    value: float | None
    published: float | None
    difference: float | None
    min: float | None
    max: float | None
    rank: int | None


@dataclass(frozen=True)
class GroupSummary:
    """A group's row (the nation, a state, a level, a type) in a round."""

    key: str
    name: str
    n: int
    n_published: int | None
    figures: dict[str, IndexFigures]

    def value(self, index: str) -> float | None:
        figures = self.figures.get(index)
        return None if figures is None else figures.value

    def row(self) -> dict[str, Any]:
        """The flat row of the CSV files, the API and ``flask metric summary``: key, name, n,
        n_published, then per index I: I, I_published, I_difference, I_min, I_max, I_rank."""
        out: dict[str, Any] = {"key": self.key, "name": self.name, "n": self.n,
                               "n_published": self.n_published}
        for index, f in self.figures.items():
            out.update({index: f.value, f"{index}_published": f.published,
                        f"{index}_difference": f.difference, f"{index}_min": f.min,
                        f"{index}_max": f.max, f"{index}_rank": f.rank})
        return out


def summary_rows(
    session: Session, year: int, by: str, indices: Sequence[str] = INDICES,
    frame: pd.DataFrame | None = None, names: Mapping[str, str] | None = None,
) -> list[GroupSummary]:
    """One row per group: computed figures, published ones and differences, ranks."""
    frame = Scores(session).round(year) if frame is None else frame
    if frame.empty:
        return []
    table = aggregate(frame, by, indices)
    published = published_figures(session, by).get(year, {})
    if names is None:
        names = state_names(session) if by == "state" else {}
    rows = []
    for record in table.to_dict("records"):
        key = str(record["key"])
        shown = published.get(key, {})
        figures = {}
        for index in indices:
            value = rounded(record[index])
            printed = shown.get(index)
            figures[index] = IndexFigures(
                value=value, published=printed,
                difference=None if value is None or printed is None else round(value - printed, 6),
                min=rounded(record[f"{index}_min"]), max=rounded(record[f"{index}_max"]),
                rank=whole(record[f"{index}_rank"]),
            )
        rows.append(GroupSummary(key=key, name=group_label(by, key, dict(names)),
                                 n=int(record["n"]),
                                 n_published=whole(shown.get("N")), figures=figures))
    return rows


def summary_table(
    session: Session, year: int, by: str, indices: Sequence[str] = INDICES
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return the columns and rows that ``flask metric summary`` prints."""
    rows = [r.row() for r in summary_rows(session, year, by, indices)]
    columns = ["key", "name", "n", "n_published"]
    for index in indices:
        columns += [index, f"{index}_published", f"{index}_difference"]
    columns.append("GA_rank")
    return columns, [{c: r.get(c) for c in columns} for r in rows]


# --- Institutions of a round ---------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionRow:
    """An institution in a round: its labels, its indices and its GA rank in the round."""

    id: int
    key: str
    name: str
    level: str
    level_label: str
    kind: str
    kind_label: str
    state: str  # "" for a federal institution
    state_name: str
    TG: float | None
    TC: float | None
    PG: float | None
    PC: float | None
    T: float | None
    P: float | None
    GA: float | None
    rank: int | None


def institution_rows(
    frame: pd.DataFrame, names: Mapping[str, str], ranks: pd.Series | None = None
) -> list[InstitutionRow]:
    """One row per institution of a round frame, with labels and its GA rank: ``ranks``
    (aligned with the frame) when the frame is part of a round, else ranked within it."""
    if frame.empty:
        return []
    ranks = rank_desc(frame["GA"]) if ranks is None else ranks.loc[frame.index]
    # Each label is translated once per call, not once per row.
    level_labels = {v: LEVELS.label(v) for v in set(frame["level"])}
    kind_labels = {v: INSTITUTION_TYPES.label(v) for v in set(frame["kind"])}
    federal = group_label("state", "federal", {})
    values = {i: [clean(v) for v in frame[i].tolist()] for i in INDICES}
    rows = []
    for n, (id_, key, name, level, kind, state, rank) in enumerate(zip(
            frame["id"].tolist(), frame["key"].tolist(), frame["name"].tolist(),
            frame["level"].tolist(), frame["kind"].tolist(), frame["state"].tolist(),
            ranks.tolist(), strict=True)):
        rows.append(InstitutionRow(
            id=int(id_), key=key, name=name, level=level, level_label=level_labels[level],
            kind=kind, kind_label=kind_labels[kind], state=state or "",
            state_name=names.get(state, "") if state else federal,
            TG=values["TG"][n], TC=values["TC"][n], PG=values["PG"][n], PC=values["PC"][n],
            T=values["T"][n], P=values["P"][n], GA=values["GA"][n],
            rank=None if rank is pd.NA else int(rank),
        ))
    return rows


def round_institutions(session: Session, year: int) -> list[InstitutionRow]:
    """Every institution of the round with its indices and GA rank (the CSV file, the API)."""
    return institution_rows(Scores(session).round(year), state_names(session))


INSTITUTION_COLUMNS = ("id", "key", "name", "level", "kind", "state", "state_name", *INDICES,
                       "rank")


# What an institution's state filter takes: a state code, or "federal" (no state).
INSTITUTION_STATES = (FEDERAL_KEY, *STATE_CODES)

# A round's institutions with their scores: the page /metric/<year>/institutions and the API.
ROUND_INSTITUTIONS = ListSpec(
    name="metrica-instituciones",
    filters={
        "state": params.choice(INSTITUTION_STATES, metadata={
            "description": "INEGI state code, or 'federal' for federal institutions."}),
        "type": params.choice(INSTITUTION_TYPES.codes, metadata={
            "description": "Institution type."}),
        "level": params.choice(LEVELS.codes, metadata={"description": "Level of government."}),
        "q": params.text(metadata={"description": "Words of the name (accents and case "
                                                   "ignored)."}),
    },
    sorts={
        "rank": Sort(), "name": Sort(), "state_name": Sort(), "kind_label": Sort(),
        **{i: Sort(descending=True) for i in INDICES},
    },
    default_sort="rank",
    columns=columns(*INSTITUTION_COLUMNS),
)


def _matches(row: InstitutionRow, filters: Mapping[str, Any]) -> bool:
    state = filters.get("state")
    if state and row.state != ("" if state == "federal" else state):
        return False
    if filters.get("type") and row.kind != filters["type"]:
        return False
    if filters.get("level") and row.level != filters["level"]:
        return False
    name = fold(row.name)
    return all(word in name for word in fold(filters.get("q") or "").split())


def filter_institutions(
    rows: Iterable[InstitutionRow], filters: Mapping[str, Any]
) -> list[InstitutionRow]:
    """The rows of ``round_institutions`` that ROUND_INSTITUTIONS' filters keep."""
    return [r for r in rows if _matches(r, filters)]


@dataclass
class InstitutionsPage:
    """/metric/<year>/institutions: the round's institutions the filters keep, and the
    choices of the filters."""

    round: MetricRound
    rows: list[InstitutionRow]
    states: list[tuple[str, str]]
    kinds: list[tuple[str, str]]


def institutions_page(
    session: Session, year: int, filters: Mapping[str, Any]
) -> InstitutionsPage | None:
    """The page of a round's institutions (None when the round does not exist)."""
    metric_round = round_by_year(session, year)
    if metric_round is None:
        return None
    names = state_names(session)
    everything = institution_rows(Scores(session).round(year), names)
    kinds = sorted({(r.kind, r.kind_label) for r in everything}, key=lambda k: k[1])
    return InstitutionsPage(metric_round, filter_institutions(everything, filters),
                            sorted(names.items()), kinds)


# --- The list of rounds --------------------------------------------------------------------


@dataclass
class RoundSummaryItem:
    round: MetricRound
    scores: int
    computed: dict[str, float | None]
    published: dict[str, float]


def rounds_overview(
    session: Session, computed: Mapping[int, Mapping[str, float | None]] | None = None
) -> list[RoundSummaryItem]:
    """Every round: its scores loaded, computed national means and published figures.

    ``computed``: year -> index -> national mean, when the caller has them (every index).
    """
    counts = dict(session.execute(
        select(MetricScore.round_id, func.count()).group_by(MetricScore.round_id)
    ).all())
    national = published_figures(session, "national")
    means = national_means(session, MAIN_INDICES) if computed is None else computed
    return [
        RoundSummaryItem(r, counts.get(r.id, 0),
                         {i: means[r.year].get(i) for i in MAIN_INDICES} if r.year in means
                         else {},
                         national.get(r.year, {}).get("", {}))
        for r in session.scalars(select(MetricRound).order_by(MetricRound.year))
    ]


@dataclass
class MetricIndexPage:
    """/metric/: every round (computed and published national figures), the national series."""

    items: list[RoundSummaryItem]
    loaded: list[int]
    trend: Trend


def metric_index_page(session: Session) -> MetricIndexPage:
    means = national_means(session, INDICES)  # one pass: the table and the series share it
    return MetricIndexPage(rounds_overview(session, means), round_years(session),
                           national_trend(session, means))


# --- One round's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class TypeDistribution:
    """Institutions of a type per GA band (BANDS), with the unknown, the median and zeros."""

    kind: str
    label: str
    n: int
    bands: list[int]
    unknown: int
    median: float | None
    zero: int


def distribution(frame: pd.DataFrame) -> list[TypeDistribution]:
    """Count institutions of each type per GA band (unknown GA counted apart)."""
    rows = []
    for kind, group in frame.groupby("kind", sort=True):
        values = group["GA"].to_numpy(dtype="float64")
        known = values[~np.isnan(values)]
        counts, _edges = np.histogram(known, bins=BANDS)
        rows.append(TypeDistribution(
            kind=str(kind), label=INSTITUTION_TYPES.label(str(kind)), n=len(values),
            bands=[int(c) for c in counts], unknown=int(np.isnan(values).sum()),
            median=float(np.median(known)) if len(known) else None,
            zero=int((known == 0).sum()),
        ))
    return rows


@dataclass
class RoundPage:
    """A round's page: national, state, level and type figures, extremes, distribution."""

    round: MetricRound
    national: GroupSummary | None
    published: dict[str, float]
    states: list[GroupSummary]
    levels: list[GroupSummary]
    types: list[GroupSummary]
    best: list[InstitutionRow]
    worst: list[InstitutionRow]
    distribution: list[TypeDistribution]
    loaded_years: list[int]
    # State figures as published: all of them for a round without institution data,
    # otherwise those the state table does not show (press, caveats, disagreements).
    state_figures: list[PublishedRow] = field(default_factory=list)
    # National figures of other publications (the press) or another basis than the report's.
    national_figures: list[PublishedRow] = field(default_factory=list)
    # The best-scoring institution of each entity as published.
    best_institutions: list[BestInstitution] = field(default_factory=list)
    # The year of the fieldwork round this round was published from (None: imported).
    fieldwork_year: int | None = None


def round_page(session: Session, year: int) -> RoundPage | None:
    """Everything /metric/<year> shows, from one reading of the round (None: no round)."""
    metric_round = round_by_year(session, year)
    if metric_round is None:
        return None
    frame = Scores(session).round(year)
    names = state_names(session)

    def summary(by: str) -> list[GroupSummary]:
        return summary_rows(session, year, by, frame=frame, names=names)

    national = summary("national")
    best: list[InstitutionRow] = []
    worst: list[InstitutionRow] = []
    if not frame.empty:
        ranks = rank_desc(frame["GA"])  # ranks among every institution of the round
        ranked = frame[frame["GA"].notna()].sort_values(["GA", "name"], ascending=[False, True])
        best = institution_rows(ranked.head(TOP), names, ranks)
        worst = institution_rows(ranked.tail(TOP).iloc[::-1], names, ranks)
    types = summary("type")
    types.sort(key=lambda r: (r.value("GA") is None, -(r.value("GA") or 0)))
    return RoundPage(
        round=metric_round,
        national=national[0] if national else None,
        published=published_figures(session, "national").get(year, {}).get("", {}),
        states=summary("state"),
        levels=summary("level"),
        types=types,
        best=best,
        worst=worst,
        distribution=distribution(frame) if not frame.empty else [],
        loaded_years=round_years(session),
        state_figures=published_rows(
            session, "state", year=year, only="extra" if not frame.empty else "all"),
        national_figures=[r for r in published_rows(session, "national", year=year)
                          if r.publication or r.basis != "published"],
        best_institutions=best_institutions(session, year=year),
        fieldwork_year=session.scalar(select(FieldworkRound.year).where(
            FieldworkRound.published_round_id == metric_round.id)),
    )


# --- One institution in every round --------------------------------------------------------


@dataclass(frozen=True)
class InstitutionRound:
    """An institution in one round: its indices, its GA rank among the round's institutions,
    the round's national GA and its type's GA (simple means over the round)."""

    year: int
    TG: float | None
    TC: float | None
    PG: float | None
    PC: float | None
    T: float | None
    P: float | None
    GA: float | None
    GAg: float | None
    GAc: float | None
    rank: int | None
    ranked: int
    national_GA: float | None
    kind_GA: float | None


@dataclass
class InstitutionPage:
    """/institutions/<id> (and the API's institution): the institution in every round."""

    institution: Institution
    state: State | None
    rows: list[InstitutionRound]
    scores: dict[int, MetricScore]
    level_label: str
    kind_label: str


def institution_page(session: Session, inst: Institution) -> InstitutionPage:
    """The institution's scores in every round it appears in, each beside its round's figures
    (its rank, the national and its type's mean GA), from a narrow read of those rounds."""
    mine = read_frame(session, where=Institution.id == inst.id)
    years = [int(y) for y in mine["year"].tolist()]
    rounds = read_indices(session, years, group="kind") if years else None
    rows = []
    for record in mine.to_dict("records"):
        year = int(record["year"])
        ga = clean(record["GA"])
        rank, known, national, kind_mean = None, 0, None, None
        if rounds is not None:
            one = rounds[rounds["year"] == year]["GA"]
            of_kind = rounds[(rounds["year"] == year) & (rounds["kind"] == inst.kind)]["GA"]
            # Ties share the best rank, as ``metrics.rank_desc`` ranks.
            rank = None if ga is None else int((one > ga).sum()) + 1
            known, national, kind_mean = int(one.notna().sum()), clean(one.mean()), clean(
                of_kind.mean())
        rows.append(InstitutionRound(
            year=year, TG=clean(record["TG"]), TC=clean(record["TC"]), PG=clean(record["PG"]),
            PC=clean(record["PC"]), T=clean(record["T"]), P=clean(record["P"]), GA=ga,
            GAg=clean(record["GAg"]), GAc=clean(record["GAc"]), rank=rank, ranked=known,
            national_GA=national, kind_GA=kind_mean,
        ))
    scores = {
        s.round.year: s
        for s in session.scalars(select(MetricScore).where(MetricScore.institution_id == inst.id))
    }
    state = session.get(State, inst.state_cve) if inst.state_cve else None
    return InstitutionPage(inst, state, rows, scores, LEVELS.label(inst.level),
                           INSTITUTION_TYPES.label(inst.kind))
