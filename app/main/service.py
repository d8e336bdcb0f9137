"""What the home page shows: the latest round's map values, the programme's published figures
beside what is recorded here, the recent changes (one line per import, upload or save).

Functions take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.maps.service import active_layer
from app.metric.scores import round_years
from app.metric.states import state_values_by_round
from app.models import ActionPlan, Commitment, LocalExercise, MetricRound, ProgrammeCount, State
from app.plans.reconcile import CountReconciliation, programme_reconciliation
from app.plans.service import ProgrammeSummary, programme_summary
from app.schema.history import Group, recent_groups
from app.states.service import state_names
from common.text import fold
from geodata.layers import Layer


@dataclass(frozen=True)
class Headline:
    """The programme's headline figures as published, beside what is recorded here.

    ``count`` is the latest dated count that gives the number of commitments (its year, its
    source, its note); ``reconciled`` is that count reconciled with the recorded plans (app/
    plans/reconcile.py: which recorded plans it counts, the states recorded by its date).
    """

    count: ProgrammeCount
    reconciled: CountReconciliation
    plans_recorded: int  # plans of the programme recorded here (any date)
    titles_recorded: int  # commitments of those plans recorded with their title
    commitments_published: int  # what the recorded plans' own sources count
    others: int  # the other published counts (older, or undated), listed further down


@dataclass(frozen=True)
class Holdings:
    """What the database holds, counted."""

    states: int
    exercises: int
    plans: int
    commitments: int
    rounds: int


@dataclass(frozen=True)
class RoundLine:
    """A round of the Metric: its label and whether its institutions' scores are loaded."""

    year: int
    label: str
    with_scores: bool


@dataclass
class HomePage:
    year: int | None  # the latest round with institution data
    values: dict[str, float]  # cve_ent -> the state's GA in that round
    scale: list[float]  # every loaded round's state GA values (one fixed scale)
    names: dict[str, str]
    programme: ProgrammeSummary
    headline: Headline | None
    holdings: Holdings
    rounds: list[RoundLine] = field(default_factory=list)
    changes: list[Group] = field(default_factory=list)  # newest first, one line per group
    layer: Layer | None = None  # the state layer of the map (None: no round to map)


def headline(session: Session, summary: ProgrammeSummary) -> Headline | None:
    """The latest dated published count that gives the number of commitments, reconciled
    (None when no such count is loaded)."""
    dated = [c for c in summary.counts if c.as_of and c.commitments is not None]
    if not dated:
        return None
    count = max(dated, key=lambda c: (str(c.as_of), c.id))
    rec = programme_reconciliation(session)
    reconciled = next(r for r in rec.counts if r.count.id == count.id)
    return Headline(count, reconciled, rec.plans_recorded, rec.titles_recorded,
                    rec.commitments_published, len(summary.counts) - 1)


def holdings(session: Session) -> Holdings:
    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return Holdings(count(State), count(LocalExercise), count(ActionPlan), count(Commitment),
                    count(MetricRound))


def home_page(session: Session, changes: int = 8) -> HomePage:
    years = round_years(session)
    per_year = state_values_by_round(session, "GA")  # every round's state GA, one query
    year = years[-1] if years else None
    summary = programme_summary(session)
    with_scores = set(years)
    rounds = [RoundLine(r.year, r.label, r.year in with_scores) for r in session.scalars(
        select(MetricRound).order_by(MetricRound.year))]
    return HomePage(
        year=year, values=per_year.get(year, {}) if year else {},
        scale=[v for y in years for v in per_year.get(y, {}).values()],
        names=state_names(session), programme=summary, headline=headline(session, summary),
        holdings=holdings(session), rounds=rounds,
        changes=recent_groups(session, limit=changes),
        layer=active_layer(session, "state")[0] if year is not None else None,
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
