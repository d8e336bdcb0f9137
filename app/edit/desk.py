"""The editing desk of one state: what a guarantor agency has to do, as one result.

For each of the state's plans and commitments: the progress derived from the milestones
(``app.plans.progress``), the milestones past due and those due within ``DESK_SOON_DAYS``,
and when the commitment last changed (the newest audit event filed under it: the commitment
itself, its milestones, evidence and assessments; or its ``updated_at`` when that is later).
A commitment not finished (progress neither complete nor verified, declared status not
withdrawn) with no change in ``DESK_STALE_DAYS`` *needs an update*.

The commitments are a list of the one list abstraction (``DESK``: filters plan, status and
due, sorts, pagination and downloads); the page, its CSV/XLSX download and its JSON document
(``desk_document``) are made from the same ``Desk``. The service takes a session and never
commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import params
from app.listing import ListSpec, ListView, Page, Sort, columns, order_rows, paginate
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    LocalExercise,
    Milestone,
    State,
    StlMember,
)
from app.plans.progress import (
    DONE_STATUSES,
    PlanProgress,
    Progress,
    commitment_progress,
    is_late,
    plan_progress,
)
from app.plans.service import today as service_today
from common.codes import DESK_DUE, DESK_SOON_DAYS, DESK_STALE_DAYS, PROGRESS_STATES

# A commitment declared finished needs no update, whatever its date.
_FINISHED = frozenset({*DONE_STATUSES, "withdrawn"})


@dataclass(frozen=True)
class DeskMilestone:
    """A milestone past due or due soon, with its commitment and how many days."""

    milestone: Milestone
    commitment: Commitment
    days: int  # days late (overdue) or days left (due soon)


@dataclass
class DeskRow:
    """One commitment on the desk."""

    commitment: Commitment
    plan: ActionPlan
    progress: Progress
    overdue: list[Milestone]
    due_soon: list[Milestone]
    next_due: date | None  # the earliest due date of a milestone not done
    last_update: datetime | None
    needs_update: bool

    @property
    def number(self) -> str:
        return self.commitment.label or str(self.commitment.number)


@dataclass
class DeskPlan:
    """One plan on the desk, with what its commitments add up to."""

    plan: ActionPlan
    progress: PlanProgress
    commitments: int
    overdue: int  # milestones past due
    due_soon: int  # milestones due within DESK_SOON_DAYS
    needs_update: int  # commitments
    last_update: datetime | None


@dataclass
class Desk:
    """Everything the desk page, its download and its JSON document show."""

    state: State
    today: date
    soon_until: date
    stale_since: date
    plans: list[DeskPlan]
    rows: list[DeskRow]  # the commitments as filtered and sorted (every page)
    page: Page  # this page of ``rows``
    overdue: list[DeskMilestone]  # of the plan chosen (or every plan), most late first
    due_soon: list[DeskMilestone]  # soonest first
    exercise: LocalExercise | None
    members: dict[str, list[StlMember]] = field(default_factory=dict)

    @property
    def needs_update(self) -> list[DeskRow]:
        return [r for r in self.rows if r.needs_update]


def _sort_plan(row: DeskRow) -> tuple:
    return (row.plan.published_date or "", row.plan.id, row.commitment.number)


DESK = ListSpec(
    name="mesa_de_trabajo",
    filters={
        "plan": params.identifier(metadata={
            "description": "One of the state's plans (its id); another plan gives no rows."}),
        "status": params.choice(PROGRESS_STATES.codes, metadata={
            "description": "Progress state derived from the milestones ('unknown' without "
                           "milestones; 'off_track' when one is past due)."}),
        "due": params.choice(DESK_DUE.codes, metadata={
            "description": f"'overdue': a milestone past due; 'soon': one due within "
                           f"{DESK_SOON_DAYS} days; 'stale': not finished and no change in "
                           f"{DESK_STALE_DAYS} days."}),
    },
    sorts={
        "plan": Sort(value=_sort_plan),
        "title": Sort(value=lambda r: r.commitment.title),
        "progress": Sort(value=lambda r: r.progress.value),
        "due": Sort(value=lambda r: r.next_due),
        "late": Sort(value=lambda r: len(r.overdue), descending=True),
        "updated": Sort(value=lambda r: r.last_update),
    },
    default_sort="plan",
    per_page=100,
    # The download's columns are named in English, as every download and the API.
    columns=columns(
        "id", "plan_id", "plan", "number", "title", "progress", "progress_state",
        "milestones", "milestones_done", "overdue_milestones", "due_soon_milestones",
        "next_due", "last_update", "needs_update",
        id="commitment.id",
        plan_id="plan.id",
        plan="plan.title",
        number="number",
        title="commitment.title",
        progress="progress.value",
        progress_state="progress.state",
        milestones="progress.milestones",
        milestones_done="progress.done",
        overdue_milestones=lambda r: len(r.overdue),
        due_soon_milestones=lambda r: len(r.due_soon),
        next_due="next_due",
        last_update="last_update",
        needs_update="needs_update",
    ),
)


def _last_updates(session: Session, state_cve: str,
                  commitments: Sequence[Commitment]) -> dict[int, datetime | None]:
    """The newest change filed under each commitment (events, or ``updated_at``)."""
    ids = [c.id for c in commitments]
    latest: dict[int, datetime] = {}
    if ids:
        latest = dict(session.execute(  # type: ignore[arg-type]  # (int, datetime) rows
            select(AuditEvent.commitment_id, func.max(AuditEvent.at))
            .where(AuditEvent.state_cve == state_cve, AuditEvent.commitment_id.in_(ids))
            .group_by(AuditEvent.commitment_id)
        ).all())
    out: dict[int, datetime | None] = {}
    for c in commitments:
        known = [t for t in (latest.get(c.id), c.updated_at) if t is not None]
        out[c.id] = max(known) if known else None
    return out


def _plan_events(session: Session, plans: Sequence[ActionPlan]) -> dict[int, datetime]:
    """The newest event about each plan itself (not its commitments)."""
    if not plans:
        return {}
    rows = session.execute(
        select(AuditEvent.entity_id, func.max(AuditEvent.at))
        .where(AuditEvent.entity == ActionPlan.__tablename__,
               AuditEvent.entity_id.in_([str(p.id) for p in plans]))
        .group_by(AuditEvent.entity_id)
    ).all()
    return {int(entity_id): at for entity_id, at in rows}


def _matches(row: DeskRow, filters: dict[str, Any]) -> bool:
    if filters.get("plan") is not None and row.plan.id != filters["plan"]:
        return False
    status = filters.get("status")
    if status == "off_track" and not row.progress.off_track:
        return False
    if status and status != "off_track" and row.progress.state != status:
        return False
    due = filters.get("due")
    return not (due == "overdue" and not row.overdue or due == "soon" and not row.due_soon
                or due == "stale" and not row.needs_update)


def state_desk(session: Session, state: State, view: ListView,
               today: date | None = None) -> Desk:
    """The desk of ``state`` as ``view`` asks for it (filters, sort, page)."""
    now = today or service_today()
    soon_until = now + timedelta(days=DESK_SOON_DAYS)
    stale_since = now - timedelta(days=DESK_STALE_DAYS)
    plans = session.scalars(
        select(ActionPlan).where(ActionPlan.state_cve == state.cve_ent)
        .options(selectinload(ActionPlan.commitments).selectinload(Commitment.milestones))
        .order_by(ActionPlan.published_date, ActionPlan.id)
    ).all()
    commitments = [c for p in plans for c in p.commitments]
    updated = _last_updates(session, state.cve_ent, commitments)
    rows: list[DeskRow] = []
    for p in plans:
        for c in p.commitments:
            open_ms = [m for m in c.milestones if m.status not in DONE_STATUSES]
            progress = commitment_progress(c.milestones, now)
            last = updated[c.id]
            finished = progress.state in _FINISHED or c.status in _FINISHED
            rows.append(DeskRow(
                commitment=c, plan=p, progress=progress,
                overdue=sorted((m for m in c.milestones if is_late(m, now)),
                               key=lambda m: (m.due_date, m.number)),
                due_soon=sorted((m for m in open_ms
                                 if m.due_date is not None and now <= m.due_date <= soon_until),
                                key=lambda m: (m.due_date, m.number)),
                next_due=min((m.due_date for m in open_ms if m.due_date is not None),
                             default=None),
                last_update=last,
                needs_update=not finished and (last is None or last.date() < stale_since),
            ))
    by_plan: dict[int, list[DeskRow]] = defaultdict(list)
    for r in rows:
        by_plan[r.plan.id].append(r)
    plan_events = _plan_events(session, plans)
    desk_plans = []
    for p in plans:
        mine = by_plan[p.id]
        times = [t for t in (plan_events.get(p.id), *(r.last_update for r in mine))
                 if t is not None]
        desk_plans.append(DeskPlan(
            plan=p, progress=plan_progress(r.progress for r in mine), commitments=len(mine),
            overdue=sum(len(r.overdue) for r in mine),
            due_soon=sum(len(r.due_soon) for r in mine),
            needs_update=sum(r.needs_update for r in mine),
            last_update=max(times) if times else None,
        ))
    chosen_plan = view.filters.get("plan")
    in_plan = [r for r in rows if chosen_plan is None or r.plan.id == chosen_plan]
    overdue = sorted((DeskMilestone(m, r.commitment, (now - m.due_date).days)
                      for r in in_plan for m in r.overdue if m.due_date is not None),
                     key=lambda d: (-d.days, d.milestone.id))
    due_soon = sorted((DeskMilestone(m, r.commitment, (m.due_date - now).days)
                       for r in in_plan for m in r.due_soon if m.due_date is not None),
                      key=lambda d: (d.days, d.milestone.id))
    listed = order_rows([r for r in rows if _matches(r, view.filters)], view)
    exercise = session.scalars(
        select(LocalExercise).where(LocalExercise.state_cve == state.cve_ent)
    ).one_or_none()
    members: dict[str, list[StlMember]] = defaultdict(list)
    if exercise is not None:
        for member in sorted(exercise.members, key=lambda m: (m.sector, m.name)):
            members[member.sector].append(member)
    return Desk(
        state=state, today=now, soon_until=soon_until, stale_since=stale_since,
        plans=desk_plans, rows=listed, page=paginate(listed, view), overdue=overdue,
        due_soon=due_soon, exercise=exercise, members=dict(members),
    )


# --- The JSON document: the same figures, for the agency's own tools ------------------------


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + "Z"  # stored in UTC
    return value.isoformat()


def _milestone_json(item: DeskMilestone, key: str) -> dict[str, Any]:
    m = item.milestone
    return {
        "id": m.id, "commitment_id": item.commitment.id, "number": m.number, "title": m.title,
        "due_date": _iso(m.due_date), "status": m.status, key: item.days,
        "edit_url": url_for("edit.edit_record", kind="milestone", obj_id=m.id),
    }


def desk_document(desk: Desk, view: ListView) -> dict[str, Any]:
    """The desk as one JSON object: the same figures the page shows, every commitment the
    filters select (not only this page), in the chosen order."""
    return {
        "state": {"cve_ent": desk.state.cve_ent, "name": desk.state.name},
        "as_of": _iso(desk.today),
        "due_soon_until": _iso(desk.soon_until),
        "stale_before": _iso(desk.stale_since),
        "filters": {k: v for k, v in view.filters.items() if v is not None},
        "sort": view.sort_arg,
        "plans": [{
            "id": p.plan.id, "title": p.plan.title, "period_start": p.plan.period_start,
            "period_end": p.plan.period_end, "progress": p.progress.value,
            "commitments": p.commitments, "commitments_with_milestones": p.progress.known,
            "off_track": p.progress.off_track, "overdue_milestones": p.overdue,
            "due_soon_milestones": p.due_soon, "needs_update": p.needs_update,
            "last_update": _iso(p.last_update),
            "url": url_for("plans.plan", plan_id=p.plan.id),
            "report_url": url_for("plans.report_page", plan_id=p.plan.id),
        } for p in desk.plans],
        "commitments": [{
            "id": r.commitment.id, "plan_id": r.plan.id, "number": r.number,
            "title": r.commitment.title, "progress": r.progress.value,
            "progress_state": r.progress.state, "milestones": r.progress.milestones,
            "milestones_done": r.progress.done, "overdue_milestones": len(r.overdue),
            "due_soon_milestones": len(r.due_soon), "next_due": _iso(r.next_due),
            "last_update": _iso(r.last_update), "needs_update": r.needs_update,
            "url": url_for("plans.commitment", commitment_id=r.commitment.id),
            "edit_url": url_for("edit.edit_record", kind="commitment", obj_id=r.commitment.id),
        } for r in desk.rows],
        "overdue_milestones": [_milestone_json(m, "days_late") for m in desk.overdue],
        "due_soon_milestones": [_milestone_json(m, "days_left") for m in desk.due_soon],
    }
