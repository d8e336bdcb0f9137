"""A plan's report for the session of its Local Technical Secretariat (or any meeting that
follows the plan): per commitment its progress, the milestones done and those still due, the
evidence, and every recorded change since a chosen date, in words (``app.schema.history``).

The same ``PlanReport`` makes the printable page and its PDF (``app.pdf``). A service: it
takes a session and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import ActionPlan, AuditEvent, Commitment, Evidence, Milestone
from app.schema.history import Change, describe_all

from .progress import DONE_STATUSES, PlanProgress, Progress, commitment_progress, plan_progress
from .service import today as service_today

# Without ``since`` the report covers this many days before today (about a quarter: the
# time between two sessions of a secretariat is usually shorter).
DEFAULT_SINCE_DAYS = 90
# The changes listed at most; the report says how many more there are.
MAX_CHANGES = 500


@dataclass
class ReportCommitment:
    commitment: Commitment
    progress: Progress
    done: list[Milestone]  # complete or verified, by completion date
    due: list[Milestone]  # not done, by due date (no date last)
    evidence: list[Evidence]  # of the commitment and of its milestones, by date

    def late(self, milestone: Milestone, today: date) -> bool:
        return milestone.due_date is not None and milestone.due_date < today


@dataclass
class PlanReport:
    plan: ActionPlan
    today: date
    since: date
    since_given: bool  # False: the default (DEFAULT_SINCE_DAYS before today)
    overall: PlanProgress
    commitments: list[ReportCommitment]
    changes: list[Change]  # oldest first
    more_changes: int  # changes since the date left out (beyond MAX_CHANGES)

    @property
    def evidence_count(self) -> int:
        return sum(len(c.evidence) for c in self.commitments)


def _utc_start(day: date) -> datetime:
    """The start of ``day`` in the site's time zone, as the naive UTC time events store."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "America/Mexico_City")
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


def plan_report(session: Session, plan: ActionPlan, since: date | None,
                today: date | None = None) -> PlanReport:
    """The report of ``plan``: its commitments as they stand and the changes since ``since``
    (by default DEFAULT_SINCE_DAYS before today)."""
    now = today or service_today()
    start = since or now - timedelta(days=DEFAULT_SINCE_DAYS)
    commitments = session.scalars(
        select(Commitment).where(Commitment.plan_id == plan.id)
        .options(selectinload(Commitment.milestones).selectinload(Milestone.evidence),
                 selectinload(Commitment.evidence))
        .order_by(Commitment.number)
    ).all()
    items = []
    for c in commitments:
        evidence = {e.id: e for e in c.evidence}
        for m in c.milestones:
            evidence.update({e.id: e for e in m.evidence})
        items.append(ReportCommitment(
            commitment=c,
            progress=commitment_progress(c.milestones, now),
            done=sorted((m for m in c.milestones if m.status in DONE_STATUSES),
                        key=lambda m: (m.completed_on or date.max, m.number)),
            due=sorted((m for m in c.milestones if m.status not in DONE_STATUSES),
                       key=lambda m: (m.due_date is None, m.due_date or date.max, m.number)),
            evidence=sorted(evidence.values(),
                            key=lambda e: (e.dated is None, e.dated or date.max, e.id)),
        ))
    # The changes of the plan itself and of everything filed under its commitments, also
    # those deleted since (their deletion is a change the session should hear of).
    # (The table, not the mapped class: the session hides deleted rows of mapped classes.)
    table = Commitment.__table__
    every_commitment = select(table.c.id).where(table.c.plan_id == plan.id)
    condition = and_(
        AuditEvent.at >= _utc_start(start),
        or_(AuditEvent.commitment_id.in_(every_commitment),
            and_(AuditEvent.entity == ActionPlan.__tablename__,
                 AuditEvent.entity_id == str(plan.id))),
    )
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0
    events = session.scalars(
        select(AuditEvent).where(condition).order_by(AuditEvent.at, AuditEvent.id)
        .limit(MAX_CHANGES)
    ).all()
    return PlanReport(
        plan=plan, today=now, since=start, since_given=since is not None,
        overall=plan_progress(i.progress for i in items), commitments=items,
        changes=describe_all(events), more_changes=max(total - MAX_CHANGES, 0),
    )
