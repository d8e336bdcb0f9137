"""Reading the metric's scores: the rounds, one round's scores as an engine frame, aggregates.

A page reads each round it shows once: its service makes one ``Scores`` reader for the request
and asks it for rounds (``Scores.round``), which it keeps. Pages that need only a state's own
institutions, or a few national figures, never read a whole round: ``read_frame`` takes a
narrowing clause (one state's institutions, one institution), and ``state_means`` and
``round_ga_stats`` compute in SQL the national figures a state's page needs. Figures given
to full precision (downloads, the API) come from ``read_indices``, a narrow read whose means
are the engine's to the last digit.

In SQL, the indices are derived from the stored values exactly as the engine derives them
(``metrics.compute_indices`` without a weight scheme): a stored T, P or GA is kept unless it
is missing or contradicts the mean of its parts by more than the engine's tolerance, then the
mean is used; GAg and GAc are always the mean of their parts; missing stays missing. Functions
take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    SQLColumnExpression,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import Subquery

from app.models import Institution, MetricRound, MetricScore
from app.records import live
from metrics import INDICES, compute_indices
from metrics.compute import DEFAULT_TOLERANCE
from metrics.scheme import DIMENSIONS, PERSPECTIVES

SCORE_COLUMNS: dict[str, InstrumentedAttribute[float | None]] = {
    "TG": MetricScore.tg,
    "TC": MetricScore.tc,
    "PG": MetricScore.pg,
    "PC": MetricScore.pc,
    "T": MetricScore.t,
    "P": MetricScore.p,
    "GA": MetricScore.ga,
}
FRAME_COLUMNS = ["id", "key", "name", "level", "kind", "state", "municipality_code", "year"]
TEXT_COLUMNS = ("key", "name", "level", "kind")
NULLABLE_CODES = ("state", "municipality_code")


# --- The rounds ----------------------------------------------------------------------------


def round_years(session: Session) -> list[int]:
    """Return the years of the rounds that have scores loaded, ascending."""
    stmt = (
        select(MetricRound.year)
        .where(select(MetricScore.id).where(MetricScore.round_id == MetricRound.id).exists())
        .order_by(MetricRound.year)
    )
    return list(session.scalars(stmt))


def all_round_years(session: Session) -> list[int]:
    """Every round's year (with or without institution data), ascending."""
    return list(session.scalars(select(MetricRound.year).order_by(MetricRound.year)))


def round_labels(session: Session) -> dict[int, str]:
    """Every round's year -> its label, ascending."""
    return dict(session.execute(
        select(MetricRound.year, MetricRound.label).order_by(MetricRound.year)).all())


def round_by_year(session: Session, year: int) -> MetricRound | None:
    return session.scalars(select(MetricRound).where(MetricRound.year == year)).first()


# --- Rounds as engine frames ---------------------------------------------------------------


def read_frame(
    session: Session, years: Iterable[int] | None = None, where: ColumnElement[bool] | None = None
) -> pd.DataFrame:
    """Return the scores of the given rounds (all loaded when None) as one engine frame.

    One row per institution and round (ordered by year, then institution), with the engine's
    columns plus ``id`` (institution) and ``year``; T, P, GA, GAg and GAc as the engine
    derives them. ``where`` narrows the rows (e.g. ``Institution.state_cve == "10"``).
    """
    stmt = (
        select(
            Institution.id,
            Institution.key,
            Institution.name,
            Institution.level,
            Institution.kind,
            Institution.state_cve,
            Institution.municipality_code,
            MetricRound.year,
            *SCORE_COLUMNS.values(),
        )
        .join(MetricScore, MetricScore.institution_id == Institution.id)
    )
    rows = _bulk_rows(session, stmt, years, where)
    # Column by column (much faster than DataFrame.from_records on many rows), with the
    # dtypes from_records gives: pandas' strings for the names and codes, objects for the
    # codes that may be missing, whole numbers for ids and years (objects when empty).
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(FRAME_COLUMNS) + 7)
    data: dict[str, object] = {}
    for name, column in zip([*FRAME_COLUMNS, *SCORE_COLUMNS], values, strict=True):
        if name in SCORE_COLUMNS:
            data[name] = np.array(column, dtype="float64")  # None -> NaN: unknown
        elif not rows or name in NULLABLE_CODES:
            data[name] = pd.Series(np.array(column, dtype=object), dtype=object)
        elif name in TEXT_COLUMNS:
            data[name] = pd.array(np.array(column, dtype=object), dtype="str")
        else:
            data[name] = np.array(column, dtype="int64")
    frame = pd.DataFrame(data)
    # A federal institution has no state: None, as the engine expects (not NaN).
    frame["state"] = frame["state"].astype(object).where(frame["state"].notna(), None)
    return compute_indices(frame).frame


def _bulk_rows(session: Session, stmt: Select, years: Iterable[int] | None,
               where: ColumnElement[bool] | None) -> Sequence[Row[Any]]:
    """The rows of a read of many scores (``stmt`` over scores joined to their institutions),
    joined to their rounds, of ``years`` (all when None), narrowed by ``where``, in the
    engine's order (year, then institution). Run as a Core statement on the session's
    connection (no ORM row processing: a third faster), it states the live-rows rule the ORM
    adds to every other query (``records.live``) itself."""
    stmt = (stmt.join(MetricRound, MetricRound.id == MetricScore.round_id)
            .where(live(MetricScore), live(Institution))
            .order_by(MetricRound.year, Institution.id))
    if years is not None:
        stmt = stmt.where(MetricRound.year.in_(list(years)))
    if where is not None:
        stmt = stmt.where(where)
    return session.connection().execute(stmt).all()


class Scores:
    """One request's reader of round frames: each round is read from the database once."""

    def __init__(self, session: Session):
        self.session = session
        self._rounds: dict[int, pd.DataFrame] = {}

    def round(self, year: int) -> pd.DataFrame:
        """The round's scores as an engine frame (empty when the round has none)."""
        if year not in self._rounds:
            self._rounds[year] = read_frame(self.session, [year])
        return self._rounds[year]


def round_frame(session: Session, year: int) -> pd.DataFrame:
    """Return one round's scores as an engine frame (empty when the round has none)."""
    return read_frame(session, [year])


# --- The indices in SQL --------------------------------------------------------------------


Number = SQLColumnExpression[float | None]


def _mean(a: Number, b: Number) -> Number:
    return (a + b) / literal(2.0)


def _combine(given: Number, derived: Number) -> Number:
    """The engine's rule: keep a given value, fill a missing one, replace a contradicting one.

    ``abs(given - derived) > tolerance`` is NULL, so false, when either is missing.
    """
    return case((func.abs(given - derived) > literal(DEFAULT_TOLERANCE), derived),
                else_=func.coalesce(given, derived))


def index_columns() -> dict[str, Number]:
    """Every index (INDICES, GAg, GAc) of a MetricScore row as the engine derives it."""
    out: dict[str, Number] = {i: SCORE_COLUMNS[i] for i in ("TG", "TC", "PG", "PC")}
    for name, (a, b) in DIMENSIONS.items():
        out[name] = _combine(SCORE_COLUMNS[name], _mean(out[a], out[b]))
    out["GA"] = _combine(SCORE_COLUMNS["GA"], _mean(out["T"], out["P"]))
    for name, (a, b) in PERSPECTIVES.items():
        out[name] = _mean(out[a], out[b])
    return out


def _scored(index: str, years: Sequence[int] | None) -> Subquery:
    """Live scores of live institutions (of ``years`` when given): ``year``, ``state``,
    ``kind`` and ``value``, the index as the engine derives it.

    The OFFSET 0 keeps the database from merging this into the aggregate over it (SQLite's
    flattener, PostgreSQL's planner), so the index's expression is evaluated once per row
    however many aggregates read it.
    """
    live_rows = [live(MetricScore), live(Institution)]
    chosen = [] if years is None else [MetricRound.year.in_(list(years))]
    return (
        select(MetricRound.year.label("year"), Institution.state_cve.label("state"),
               Institution.kind.label("kind"), index_columns()[index].label("value"))
        .select_from(MetricScore)
        .join(Institution, Institution.id == MetricScore.institution_id)
        .join(MetricRound, MetricRound.id == MetricScore.round_id)
        .where(*live_rows, *chosen)
        .offset(0).subquery()
    )


@dataclass(frozen=True)
class GroupMean:
    """A group's figures of one index: institutions in the group, those with a value, the sum
    of the values and their mean (None when none has a value)."""

    n: int
    known: int
    total: float

    @property
    def mean(self) -> float | None:
        return self.total / self.known if self.known else None


def state_means(
    session: Session, index: str, years: Sequence[int] | None = None
) -> dict[int, dict[str, GroupMean]]:
    """Return year -> state (cve_ent, or "federal" for the Federation) -> the mean of
    ``index`` over the state's institutions, in one query over the rounds (all when None)."""
    rows = _scored(index, years)
    stmt = (select(rows.c.year, rows.c.state, func.count(), func.count(rows.c.value),
                   func.sum(rows.c.value))
            .group_by(rows.c.year, rows.c.state).order_by(rows.c.year, rows.c.state))
    out: dict[int, dict[str, GroupMean]] = {}
    for year, state, n, known, total in session.execute(stmt):
        out.setdefault(year, {})[state or "federal"] = GroupMean(n, known, float(total or 0.0))
    return out


def read_indices(
    session: Session, years: Iterable[int] | None = None,
    where: ColumnElement[bool] | None = None, group: str | None = None,
) -> pd.DataFrame:
    """A narrow engine frame: ``year``, the institution's ``state`` or ``kind`` when ``group``
    names it, and every index as the engine derives it; ordered as ``read_frame`` orders
    its rows, so that means over it are the engine's to the last digit."""
    grouping = {"state": Institution.state_cve, "kind": Institution.kind}
    names = ["year", *([group] if group else [])]
    stmt = (
        select(MetricRound.year, *([grouping[group]] if group else []),
               *SCORE_COLUMNS.values())
        .select_from(MetricScore)
        .join(Institution, Institution.id == MetricScore.institution_id)
    )
    rows = _bulk_rows(session, stmt, years, where)
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 7)
    data: dict[str, object] = {"year": np.array(values[0], dtype="int64")}
    if group:
        data[group] = pd.Series(np.array(values[1], dtype=object), dtype=object)
    for name, column in zip(SCORE_COLUMNS, values[len(names):], strict=True):
        data[name] = np.array(column, dtype="float64")
    return compute_indices(pd.DataFrame(data)).frame


def national_means(
    session: Session, indices: Sequence[str] = INDICES
) -> dict[int, dict[str, float | None]]:
    """Return year -> index -> the mean over every institution of each loaded round (the
    engine's simple mean, missing values skipped)."""
    frame = read_indices(session)
    if frame.empty:
        return {}
    means = frame.groupby("year")[list(indices)].mean()
    return {int(year): {i: (None if v != v else float(v)) for i, v in zip(indices, row,
                                                                           strict=True)}
            for year, row in zip(means.index.tolist(), means.to_numpy().tolist(), strict=True)}


@dataclass(frozen=True)
class RoundGAStats:
    """Figures of one round's GA: institutions with a GA, the mean GA of each type, and for
    each value asked about, how many institutions have a higher GA (its rank minus one)."""

    ranked: int
    kind_means: dict[str, float | None]
    above: dict[float, int]


def round_ga_stats(session: Session, year: int, values: Sequence[float] = (),
                   kinds: Sequence[str] | None = None) -> RoundGAStats:
    """One pass over the round in SQL: GA count, the mean GA of ``kinds`` (every type when
    None) and, for each of ``values``, the institutions above it."""
    rows = _scored("GA", [year])
    ga = rows.c.value
    values = list(dict.fromkeys(values))
    stmt = select(rows.c.kind, func.count(ga), func.sum(ga),
                  *(func.sum(case((ga > literal(v), 1), else_=0)) for v in values)
                  ).group_by(rows.c.kind)
    ranked, means, above = 0, {}, dict.fromkeys(values, 0)
    for kind, known, total, *higher in session.execute(stmt):
        ranked += known
        if kinds is None or kind in kinds:
            means[kind] = float(total) / known if known else None
        for v, count in zip(values, higher, strict=True):
            above[v] += int(count or 0)
    return RoundGAStats(ranked, means, above)
