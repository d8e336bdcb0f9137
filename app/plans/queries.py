"""Queries of the tracker, in SQL that runs the same on SQLite and PostgreSQL.

Search folds case and accents on both sides with the one folding function (``common.text``:
``folded`` in SQL, ``fold`` for the terms). Progress filters and sorting use the rules of
``progress.py`` in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.listing import where_equal
from app.models import (
    ActionPlan,
    Commitment,
    CommitmentSdg,
    CommitmentTheme,
    LocalExercise,
    Milestone,
    State,
)
from common.text import fold, folded

from .progress import DONE_STATUSES, IN_PROGRESS_DEFAULT


def search_clause(columns: list[Any], query: str) -> ColumnElement | None:
    """Every word of ``query`` must appear in one of ``columns`` (case/accent-insensitive)."""
    terms = fold(query).split()
    if not terms:
        return None
    clauses = []
    for term in terms:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(or_(*(folded(c).like(f"%{escaped}%", escape="\\") for c in columns)))
    return and_(*clauses)


def milestone_summary(today: date):  # noqa: ANN201 (a SQLAlchemy subquery)
    """Per commitment with milestones: counts and progress by the rules of progress.py."""
    m = Milestone
    value = case(
        (m.status == "not_started", cast(literal(0.0), Float)),
        (m.status == "in_progress", func.coalesce(m.progress, IN_PROGRESS_DEFAULT)),
        else_=cast(literal(1.0), Float),
    )

    def tally(condition: ColumnElement) -> ColumnElement:
        return func.sum(case((condition, 1), else_=0))

    return (
        select(
            m.commitment_id.label("commitment_id"),
            func.count().label("n"),
            func.count(m.weight).label("n_weighted"),
            tally(m.status.in_(DONE_STATUSES)).label("done"),
            tally(m.status == "verified").label("verified"),
            tally(m.status == "not_started").label("not_started"),
            tally(and_(m.due_date < today, m.status.not_in(DONE_STATUSES))).label("late"),
            func.sum(m.weight * value).label("weighted_sum"),
            func.sum(m.weight).label("weight_total"),
            func.avg(value).label("mean"),
        )
        .group_by(m.commitment_id)
        .subquery("ms")
    )


def progress_columns(ms: Any) -> tuple[ColumnElement, ColumnElement, ColumnElement]:
    """Return (progress value, progress state, late count) expressions over ``ms``."""
    value = case(
        (ms.c.n.is_(None), None),
        (ms.c.n == ms.c.n_weighted, ms.c.weighted_sum / ms.c.weight_total),
        else_=ms.c.mean,
    )
    state = case(
        (ms.c.n.is_(None), "unknown"),
        (ms.c.verified == ms.c.n, "verified"),
        (ms.c.done == ms.c.n, "complete"),
        (ms.c.not_started == ms.c.n, "not_started"),
        else_="in_progress",
    )
    late = func.coalesce(ms.c.late, 0)
    return value, state, late


def commitments_query(
    filters: Mapping[str, Any], sort: str, descending: bool, today: date
) -> Select:
    """Select (Commitment, ActionPlan, State name, progress, state, late) rows as filtered.

    ``filters`` as the commitments list declares them (app.plans.service.COMMITMENTS);
    ``sort`` one of plan, title, state, progress, updated. Unknown progress sorts last.
    """
    ms = milestone_summary(today)
    value, pstate, late = progress_columns(ms)
    stmt = (
        select(
            Commitment,
            ActionPlan,
            State.name.label("state_name"),
            value.label("progress"),
            pstate.label("progress_state"),
            late.label("late"),
        )
        .join(ActionPlan, Commitment.plan_id == ActionPlan.id)
        .outerjoin(State, ActionPlan.state_cve == State.cve_ent)
        .outerjoin(ms, ms.c.commitment_id == Commitment.id)
    )
    stmt = where_equal(stmt, filters, {
        "state": ActionPlan.state_cve, "plan": ActionPlan.id, "scope": ActionPlan.scope,
    })
    if filters.get("status") == "off_track":
        stmt = stmt.where(late > 0)
    elif filters.get("status"):
        stmt = stmt.where(pstate == filters["status"])
    if filters.get("theme"):
        stmt = stmt.where(
            exists().where(
                CommitmentTheme.commitment_id == Commitment.id,
                CommitmentTheme.theme == filters["theme"],
            )
        )
    if filters.get("sdg"):
        stmt = stmt.where(
            exists().where(
                CommitmentSdg.commitment_id == Commitment.id,
                CommitmentSdg.goal == filters["sdg"],
            )
        )
    if filters.get("q"):
        clause = search_clause(
            [Commitment.title, Commitment.title_es, Commitment.title_en, Commitment.ogp_id],
            filters["q"],
        )
        if clause is not None:
            stmt = stmt.where(clause)
    national_first = case((ActionPlan.scope == "national", 0), else_=1)
    orders: dict[str, list[Any]] = {
        "title": [folded(Commitment.title)],
        "state": [folded(func.coalesce(State.name, "")), ActionPlan.id, Commitment.number],
        "progress": [value],
        "updated": [Commitment.updated_at],
        "plan": [national_first, folded(func.coalesce(State.name, "")), ActionPlan.id,
                 Commitment.number],
    }
    order = orders[sort]
    first = order[0]
    return stmt.order_by(
        first.is_(None), *(o.desc() if descending else o for o in order), Commitment.id
    )


def programme_counts(session: Session) -> list[tuple[str, str, int, int]]:
    """(scope, programme, plans, commitments) recorded here, local before national."""
    per_plan = (
        select(ActionPlan.id, ActionPlan.scope, ActionPlan.programme,
               func.count(Commitment.id).label("n"))
        .outerjoin(Commitment, Commitment.plan_id == ActionPlan.id)
        .group_by(ActionPlan.id, ActionPlan.scope, ActionPlan.programme)
        .subquery()
    )
    rows = session.execute(
        select(per_plan.c.scope, per_plan.c.programme, func.count(), func.sum(per_plan.c.n))
        .group_by(per_plan.c.scope, per_plan.c.programme)
    ).all()
    return sorted(((scope, programme, plans, int(n or 0)) for scope, programme, plans, n in rows),
                  key=lambda r: (r[0] != "local", r[1]))


def recorded_counts(session: Session) -> dict[str, int]:
    """Count what is recorded here, to show beside the published headline counts."""

    def scalar(stmt: Select) -> int:
        return session.scalar(stmt) or 0

    # The local plans of INAI's programme (what its headline counts count); OGP Local apart.
    local_plans = select(ActionPlan.id).where(
        ActionPlan.scope == "local", ActionPlan.programme == "inai_cocreacion"
    )
    ogp_local_plans = select(ActionPlan.id).where(ActionPlan.programme == "ogp_local")
    return {
        "exercises": scalar(select(func.count()).select_from(LocalExercise)),
        "joined": scalar(
            select(func.count()).where(
                LocalExercise.stage.in_(("declaration", "secretariat", "plan"))
            )
        ),
        "stl": scalar(
            select(func.count()).where(LocalExercise.stage.in_(("secretariat", "plan")))
        ),
        "plans": scalar(select(func.count()).select_from(local_plans.subquery())),
        "commitments": scalar(
            select(func.count()).where(Commitment.plan_id.in_(local_plans))
        ),
        "national_plans": scalar(
            select(func.count()).select_from(ActionPlan).where(ActionPlan.scope == "national")
        ),
        "national_commitments": scalar(
            select(func.count()).where(
                Commitment.plan_id.in_(select(ActionPlan.id).where(ActionPlan.scope == "national"))
            )
        ),
        "states_with_plan": scalar(
            select(func.count(func.distinct(ActionPlan.state_cve))).where(
                ActionPlan.id.in_(local_plans)
            )
        ),
        "ogp_local_plans": scalar(select(func.count()).select_from(ogp_local_plans.subquery())),
        "ogp_local_commitments": scalar(
            select(func.count()).where(Commitment.plan_id.in_(ogp_local_plans))
        ),
    }
