"""The reconciliation of the programme's published counts with what is recorded here.

For each dated headline count (``ProgrammeCount``) of INAI's local co-creation programme: the
recorded plans it counts (identified), how many of its plans and commitments no recorded plan
accounts for (unidentified), the recorded plans that fall outside it and those that cannot be
placed, each with its basis and reasoning (``ProgrammeCountPlan``, seeded from
``local_count_plans.csv``), and the difference said in words. The page (/exercises), the API
(/api/reconciliation) and the data package (table ``programme_count_plan``) give the same.

Functions take a session and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    ActionPlan,
    Commitment,
    LocalExercise,
    ProgrammeCount,
    ProgrammeCountPlan,
    State,
)

JOINED_STAGES = ("declaration", "secretariat", "plan")


@dataclass(frozen=True)
class PlanInCount:
    """One recorded plan as it stands to one published count."""

    plan_id: int
    key: str
    title: str
    state_cve: str | None
    state_name: str | None
    published_date: str | None
    commitments: int | None  # as its source counts them (core + proactive); None: unknown
    titled: int  # commitments recorded here with a title
    role: str  # counted, outside, undetermined
    basis: str
    reasoning: str | None
    source: str


@dataclass
class CountReconciliation:
    """One published count beside what is recorded, plan by plan, and the gap in words."""

    count: ProgrammeCount
    states_recorded: int  # states with a declaration or more, at any date
    states_recorded_by_date: int | None  # of those, with a declaration dated by the count
    counted: list[PlanInCount] = field(default_factory=list)
    outside: list[PlanInCount] = field(default_factory=list)
    undetermined: list[PlanInCount] = field(default_factory=list)
    plans_identified: int = 0
    plans_unidentified: int | None = None
    commitments_identified: int | None = None
    commitments_unidentified: int | None = None
    titles_recorded: int = 0  # titles recorded here of the identified plans' commitments
    explanation: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        """Whether any recorded plan is placed with respect to this count."""
        return bool(self.counted or self.outside or self.undetermined)


@dataclass
class Reconciliation:
    """Every published count, oldest first (undated ones last), reconciled."""

    counts: list[CountReconciliation]
    plans_recorded: int  # INAI local plans recorded here
    commitments_published: int  # what their sources count, over the plans whose count is known
    plans_without_count: int  # recorded plans whose source gives no count of commitments
    titles_recorded: int


def plan_total(plan: ActionPlan) -> int | None:
    """Commitments a plan's source counts (core plus proactive); None when unknown."""
    if plan.commitments_published is None:
        return None
    return plan.commitments_published + (plan.proactive_published or 0)


def within(date: str | None, as_of: str | None) -> bool:
    """Whether a partial date falls on or before ``as_of`` at ``as_of``'s precision."""
    return bool(date and as_of) and str(date)[: len(str(as_of))] <= str(as_of)


def _names(plans: Sequence[PlanInCount]) -> str:
    return ", ".join(f"{p.state_name} ({p.title})" for p in plans)


def _explain(r: CountReconciliation, rec: Reconciliation) -> list[str]:
    c = r.count
    out: list[str] = []
    if c.states_joined is not None:
        line = _("Estados adheridos: %(n)s según la fuente; aquí se registran %(rec)s con "
                 "declaratoria o más (en cualquier fecha)",
                 n=c.states_joined, rec=r.states_recorded)
        if r.states_recorded_by_date is not None:
            line += _(", %(dated)s de ellos con declaratoria fechada hasta %(date)s",
                      dated=r.states_recorded_by_date, date=c.as_of)
        out.append(line + ".")
    if c.plans_published is not None:
        if r.reconciled:
            out.append(_(
                "Planes: %(n)s publicados; %(i)s identificados aquí y %(u)s sin identificar.",
                n=c.plans_published, i=r.plans_identified, u=r.plans_unidentified))
        else:
            out.append(_(
                "Planes: %(n)s publicados; la fuente no dice cuáles ni su fecha permite "
                "deducirlos, así que ninguno se identifica aquí.", n=c.plans_published))
    if c.commitments is not None and r.commitments_identified is not None:
        out.append(_(
            "Compromisos: %(n)s publicados; %(i)s son de los planes identificados (%(t)s con su "
            "título aquí) y %(u)s de planes sin identificar.", n=c.commitments,
            i=r.commitments_identified, t=r.titles_recorded, u=r.commitments_unidentified))
    elif c.commitments is not None and not r.reconciled:
        out.append(_(
            "Compromisos: %(n)s según la fuente; los %(p)s planes del programa registrados aquí "
            "cuentan %(c)s (de %(k)s no se conoce la cifra) y %(t)s tienen su título aquí. La "
            "fuente no dice qué planes cuenta.", n=c.commitments, p=rec.plans_recorded,
            c=rec.commitments_published, k=rec.plans_without_count, t=rec.titles_recorded))
    if r.outside:
        out.append(_("Fuera de la cifra: %(plans)s; el motivo de cada uno, en la tabla.",
                     plans=_names(r.outside)))
    if r.undetermined:
        out.append(_("No se sabe si están dentro: %(plans)s.", plans=_names(r.undetermined)))
    return out


def programme_reconciliation(session: Session) -> Reconciliation:
    """Reconcile every published count of the INAI programme with the recorded plans."""
    inai = (ActionPlan.scope == "local", ActionPlan.programme == "inai_cocreacion")
    titled = dict(session.execute(
        select(Commitment.plan_id, func.count()).group_by(Commitment.plan_id)
    ).all())
    names = dict(session.execute(select(State.cve_ent, State.name)).all())
    plans = session.scalars(select(ActionPlan).where(*inai)).all()
    totals = [plan_total(p) for p in plans]
    rec = Reconciliation(
        counts=[], plans_recorded=len(plans),
        commitments_published=sum(t for t in totals if t is not None),
        plans_without_count=sum(1 for t in totals if t is None),
        titles_recorded=sum(titled.get(p.id, 0) for p in plans),
    )
    exercises = session.scalars(
        select(LocalExercise).where(LocalExercise.stage.in_(JOINED_STAGES))
    ).all()

    members: dict[int, list[tuple[ProgrammeCountPlan, ActionPlan]]] = defaultdict(list)
    for link, plan in session.execute(
        select(ProgrammeCountPlan, ActionPlan)
        .join(ActionPlan, ActionPlan.id == ProgrammeCountPlan.plan_id)
        .order_by(ActionPlan.published_date.is_(None), ActionPlan.published_date, ActionPlan.id)
    ).all():
        members[link.count_id].append((link, plan))

    counts = session.scalars(
        select(ProgrammeCount).order_by(ProgrammeCount.as_of.is_(None), ProgrammeCount.as_of,
                                        ProgrammeCount.id)
    ).all()
    for count in counts:
        r = CountReconciliation(
            count=count,
            states_recorded=len(exercises),
            states_recorded_by_date=(
                sum(1 for e in exercises if within(e.declaration_date, count.as_of))
                if count.as_of else None),
        )
        for link, plan in members.get(count.id, []):
            item = PlanInCount(
                plan.id, plan.key, plan.title, plan.state_cve, names.get(plan.state_cve or ""),
                plan.published_date, plan_total(plan), titled.get(plan.id, 0), link.role,
                link.basis, link.reasoning, link.source,
            )
            getattr(r, link.role).append(item)
        r.plans_identified = len(r.counted)
        if count.plans_published is not None and r.reconciled:
            r.plans_unidentified = count.plans_published - r.plans_identified
        counted_totals = [p.commitments for p in r.counted]
        if r.counted and all(t is not None for t in counted_totals):
            r.commitments_identified = sum(t for t in counted_totals if t is not None)
            if count.commitments is not None:
                r.commitments_unidentified = count.commitments - r.commitments_identified
        r.titles_recorded = sum(p.titled for p in r.counted)
        r.explanation = _explain(r, rec)
        rec.counts.append(r)
    return rec

