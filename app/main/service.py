"""What the home page shows: the latest round's map values, the programme's facts, changes.

Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from app.metric.service import round_years, state_index_values
from app.models import AuditEvent
from app.plans.service import ProgrammeSummary, latest_events, programme_summary
from app.states.service import state_names
from common.text import fold


@dataclass
class HomePage:
    year: int | None  # the latest round with institution data
    values: dict[str, float]  # cve_ent -> the state's GA in that round
    scale: list[float]  # every loaded round's state GA values (one fixed scale)
    names: dict[str, str]
    programme: ProgrammeSummary
    changes: Sequence[AuditEvent]


def home_page(session: Session, changes: int = 8) -> HomePage:
    years = round_years(session)
    per_year = {y: state_index_values(session, y, "GA") for y in years}
    year = years[-1] if years else None
    return HomePage(
        year=year, values=per_year.get(year, {}) if year else {},
        scale=[v for values in per_year.values() for v in values.values()],
        names=state_names(session), programme=programme_summary(session),
        changes=latest_events(session, true(), changes),
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
