"""What the home page shows: the latest round's map values, the programme's facts, changes,
what the database holds.

Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from app.maps.service import active_layer
from app.metric.scores import round_years
from app.metric.states import state_values_by_round
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    LocalExercise,
    MetricRound,
    State,
)
from app.plans.service import ProgrammeSummary, latest_events, programme_summary
from app.states.service import state_names
from common.text import fold
from geodata.layers import Layer


def database_summary(session: Session) -> dict[str, int]:
    """Count what the database holds, for the home page."""

    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return {
        "states": count(State),
        "exercises": count(LocalExercise),
        "plans": count(ActionPlan),
        "commitments": count(Commitment),
        "rounds": count(MetricRound),
    }


@dataclass
class HomePage:
    year: int | None  # the latest round with institution data
    values: dict[str, float]  # cve_ent -> the state's GA in that round
    scale: list[float]  # every loaded round's state GA values (one fixed scale)
    names: dict[str, str]
    programme: ProgrammeSummary
    changes: Sequence[AuditEvent]
    layer: Layer | None = None  # the state layer of the map (None: no round to map)
    rounds: Sequence[MetricRound] = ()
    with_scores: set[int] = field(default_factory=set)  # rounds with institution data
    summary: dict[str, int] = field(default_factory=dict)  # what the database holds


def home_page(session: Session, changes: int = 8) -> HomePage:
    years = round_years(session)
    per_year = state_values_by_round(session, "GA")  # every round's state GA, one query
    year = years[-1] if years else None
    return HomePage(
        year=year, values=per_year.get(year, {}) if year else {},
        scale=[v for y in years for v in per_year.get(y, {}).values()],
        names=state_names(session), programme=programme_summary(session),
        changes=latest_events(session, true(), changes),
        layer=active_layer(session, "state")[0] if year is not None else None,
        rounds=session.scalars(select(MetricRound).order_by(MetricRound.year)).all(),
        with_scores=set(years), summary=database_summary(session),
    )


def find_states(session: Session, query: str) -> list[tuple[str, str]]:
    """(cve_ent, name) of the states whose name holds every word of ``query``.

    Case and accents are ignored ("queretaro", "CDMX" does not guess: names only); an exact
    name match comes alone.
    """
    words = fold(query).split()
    if not words:
        return []
    names = state_names(session)
    exact = [(c, n) for c, n in names.items() if fold(n) == " ".join(words)]
    if exact:
        return exact
    found = [(c, n) for c, n in names.items() if all(w in fold(n) for w in words)]
    return sorted(found, key=lambda item: fold(item[1]))


def as_rows(values: dict[str, float], names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"code": c, "name": names.get(c, c), "value": v} for c, v in values.items()]
