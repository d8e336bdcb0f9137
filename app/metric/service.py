"""Read metric rounds from the database as frames and aggregate them with the engine.

Functions take a session and never commit. Other areas use ``round_years``,
``state_index_values`` and ``state_results`` (maps and state pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Institution, MetricRound, MetricScore, PublishedFigure
from metrics import FEDERAL_KEY, INDICES, aggregate, compute_indices

SCORE_COLUMNS = {
    "TG": MetricScore.tg,
    "TC": MetricScore.tc,
    "PG": MetricScore.pg,
    "PC": MetricScore.pc,
    "T": MetricScore.t,
    "P": MetricScore.p,
    "GA": MetricScore.ga,
}
FRAME_COLUMNS = ["id", "key", "name", "level", "kind", "state", "municipality_code", "year"]


def round_years(session: Session) -> list[int]:
    """Return the years of the rounds that have scores loaded, ascending."""
    stmt = (
        select(MetricRound.year)
        .where(select(MetricScore.id).where(MetricScore.round_id == MetricRound.id).exists())
        .order_by(MetricRound.year)
    )
    return list(session.scalars(stmt))


def rounds_frame(session: Session, years: list[int] | None = None) -> pd.DataFrame:
    """Return the scores of the given rounds (all loaded when None) as one engine frame.

    One row per institution and round, with the engine's columns plus ``id`` (institution)
    and ``year``; GAg and GAc are derived by the engine.
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
        .join(MetricRound, MetricRound.id == MetricScore.round_id)
        .order_by(MetricRound.year, Institution.id)
    )
    if years is not None:
        stmt = stmt.where(MetricRound.year.in_(years))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame.from_records(
        rows, columns=[*FRAME_COLUMNS, *SCORE_COLUMNS], coerce_float=True
    )
    for index in SCORE_COLUMNS:
        frame[index] = frame[index].astype("float64")
    frame["state"] = frame["state"].astype(object).where(frame["state"].notna(), None)
    return compute_indices(frame).frame


def round_frame(session: Session, year: int) -> pd.DataFrame:
    """Return one round's scores as an engine frame (empty when the round has none)."""
    return rounds_frame(session, [year])


def state_index_values(session: Session, year: int, index: str) -> dict[str, float]:
    """Return cve_ent -> the state's mean of ``index`` in round ``year``.

    The mean is simple and unweighted over the state's institutions; federal institutions
    are excluded and states without a value are absent.
    """
    if index not in INDICES:
        raise ValueError(f"unknown index {index!r}; choose one of {', '.join(INDICES)}")
    frame = round_frame(session, year)
    if frame.empty:
        return {}
    table = aggregate(frame, "state", [index])
    table = table[(table["key"] != FEDERAL_KEY) & table[index].notna()]
    return {str(k): float(v) for k, v in zip(table["key"], table[index], strict=True)}


@dataclass
class StateRoundResult:
    """One state's figures in one round, beside the national ones and the published ones."""

    year: int
    label: str
    institutions: int
    values: dict[str, float | None]
    national: dict[str, float | None]
    published: dict[str, float] = field(default_factory=dict)
    rank: int | None = None
    ranked: int = 0

    @property
    def difference(self) -> float | None:
        """Computed GA minus the published GA, when both exist."""
        if self.values.get("GA") is None or "GA" not in self.published:
            return None
        return self.values["GA"] - self.published["GA"]


def _clean(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


def published_figures(
    session: Session, scope: str, scope_key: str | None = None
) -> dict[int, dict[str, dict[str, float]]]:
    """Return year -> scope_key -> index -> published value for ``scope``."""
    stmt = (
        select(MetricRound.year, PublishedFigure.scope_key, PublishedFigure.index_name,
               PublishedFigure.value)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        .where(PublishedFigure.scope == scope)
    )
    if scope_key is not None:
        stmt = stmt.where(PublishedFigure.scope_key == scope_key)
    result: dict[int, dict[str, dict[str, float]]] = {}
    for year, key, index, value in session.execute(stmt):
        result.setdefault(year, {}).setdefault(key, {})[index] = value
    return result


def state_results(session: Session, cve_ent: str) -> list[StateRoundResult]:
    """Return the state's results in every loaded round (oldest first).

    Each has the state's indices, the national ones, the published figures for the state,
    the state's GA rank among the states (ties share the best rank) and the number ranked.
    """
    frame = rounds_frame(session)
    if frame.empty:
        return []
    labels = dict(session.execute(select(MetricRound.year, MetricRound.label)).all())
    published = published_figures(session, "state", cve_ent)
    results = []
    for year, one in frame.groupby("year", sort=True):
        states = aggregate(one, "state")
        national = aggregate(one, "national").iloc[0]
        row = states[states["key"] == cve_ent]
        ranked = int(states["GA_rank"].notna().sum())
        if row.empty:
            values: dict[str, float | None] = dict.fromkeys(INDICES)
            count, rank = 0, None
        else:
            first = row.iloc[0]
            values = {i: _clean(first[i]) for i in INDICES}
            count = int(first["n"])
            rank = None if pd.isna(first["GA_rank"]) else int(first["GA_rank"])
        results.append(
            StateRoundResult(
                year=int(year),
                label=labels.get(int(year), str(year)),
                institutions=count,
                values=values,
                national={i: _clean(national[i]) for i in INDICES},
                published=published.get(int(year), {}).get(cve_ent, {}),
                rank=rank,
                ranked=ranked,
            )
        )
    return results
