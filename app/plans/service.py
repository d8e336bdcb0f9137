"""The tracker's services: exercises, plans, commitments, progress, a state's summary, feeds.

Functions take a session and never commit. Pages, downloads, the CLI and (later) the API and
the forms call these, never the views. The lists are declared once here as ``ListSpec``s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from app import params
from app.listing import ListSpec, ListView, Sort, columns, order_select, where_equal
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    CommitmentSdg,
    CommitmentTheme,
    Evidence,
    LocalExercise,
    Milestone,
    ProgrammeCount,
    ProgrammeFact,
    ProgressReport,
    State,
    StlMember,
)
from app.schema.history import Change, describe_all
from common.codes import PROGRAMMES, PROGRESS_STATES, SCOPES, STAGE_ORDER, STAGES, STATE_CODES
from common.text import folded

from .progress import PlanProgress, Progress, commitment_progress, plan_progress
from .queries import (
    commitments_query,
    programme_counts,
    recorded_counts,
    search_clause,
)
from .reconcile import Reconciliation, plan_total, programme_reconciliation

FEED_LIMIT = 100
RECENT_CHANGES = 5


def today() -> date:
    """The date that "past due" is measured against."""
    return date.today()


# --- Progress ----------------------------------------------------------------------------


def progress_by_commitment(session: Session, commitment_ids: list[int]) -> dict[int, Progress]:
    """Derive the progress of each commitment (unknown when it has no milestones)."""
    milestones: dict[int, list[Milestone]] = defaultdict(list)
    if commitment_ids:
        for m in session.scalars(
            select(Milestone).where(Milestone.commitment_id.in_(commitment_ids))
        ):
            milestones[m.commitment_id].append(m)
    now = today()
    return {cid: commitment_progress(milestones.get(cid, []), now) for cid in commitment_ids}


def progress_by_plan(session: Session, plan_ids: list[int]) -> dict[int, PlanProgress]:
    """Derive each plan's progress from its commitments."""
    pairs = session.execute(
        select(Commitment.id, Commitment.plan_id).where(Commitment.plan_id.in_(plan_ids))
    ).all() if plan_ids else []
    progress = progress_by_commitment(session, [cid for cid, _ in pairs])
    grouped: dict[int, list[Progress]] = defaultdict(list)
    for cid, pid in pairs:
        grouped[pid].append(progress[cid])
    return {pid: plan_progress(grouped.get(pid, [])) for pid in plan_ids}


def _state_codes_with_plans(session: Session) -> list[tuple[str, str]]:
    return [(cve, name) for cve, name in session.execute(
        select(State.cve_ent, State.name)
        .where(State.cve_ent.in_(select(ActionPlan.state_cve)))
        .order_by(State.name)
    )]


# --- Exercises ---------------------------------------------------------------------------

_plans_per_state = (
    select(
        ActionPlan.state_cve.label("cve"),
        func.count().label("plans"),
        func.min(ActionPlan.published_date).label("first_plan"),
    )
    .where(ActionPlan.scope == "local")
    .group_by(ActionPlan.state_cve)
    .subquery("plans_per_state")
)
_stage_rank = case(
    *((LocalExercise.stage == s, i) for i, s in enumerate(STAGE_ORDER)), else_=len(STAGE_ORDER)
)


EXERCISES = ListSpec(
    name="ejercicios_locales",
    filters={
        "stage": params.choice((*STAGES.codes, "unknown"), metadata={
            "description": "Furthest stage the sources show; 'unknown' when they say nothing."}),
        "q": params.text(metadata={"description": "Words of the state's name (accents and "
                                                   "case ignored)."}),
    },
    sorts={
        "state": Sort((folded(State.name),)),
        "stage": Sort((_stage_rank,)),
        "declaration": Sort((LocalExercise.declaration_date,)),
        "secretariat": Sort((LocalExercise.stl_installed_date,)),
        "plan": Sort((_plans_per_state.c.first_plan,)),
    },
    default_sort="state",
    # The download's columns are named as the API's fields (English, as every download).
    columns=columns(
        "cve_ent", "state", "stage", "declaration_date", "stl_installed_date", "first_plan",
        "plans", "status", "status_as_of", "facilitator", "source",
        # Rows are (State, LocalExercise or None, plans, first_plan).
        cve_ent="State.cve_ent",
        state="State.name",
        stage="LocalExercise.stage",
        declaration_date="LocalExercise.declaration_date",
        stl_installed_date="LocalExercise.stl_installed_date",
        first_plan="first_plan",
        plans=lambda r: r.plans or 0,
        status="LocalExercise.status_text",
        status_as_of="LocalExercise.status_as_of",
        facilitator="LocalExercise.facilitator",
        source="LocalExercise.source",
    ),
)


def exercises_select(view: ListView) -> Select:
    """(State, LocalExercise or None, local plans, first plan date) per state, as asked."""
    pps = _plans_per_state
    stmt = (
        select(State, LocalExercise, pps.c.plans, pps.c.first_plan)
        .outerjoin(LocalExercise, LocalExercise.state_cve == State.cve_ent)
        .outerjoin(pps, pps.c.cve == State.cve_ent)
    )
    stage, q = view.filters.get("stage"), view.filters.get("q")
    if stage == "unknown":
        stmt = stmt.where(LocalExercise.stage.is_(None))
    elif stage:
        stmt = stmt.where(LocalExercise.stage == stage)
    if q and (clause := search_clause([State.name, State.short_name], q)) is not None:
        stmt = stmt.where(clause)
    return order_select(stmt, view, State.cve_ent)


@dataclass
class ExerciseDates:
    """One state's dated steps, as the sources give them (year, month or day)."""

    cve_ent: str
    name: str
    declaration: str | None
    secretariat: str | None
    plan: str | None


def exercise_timeline(session: Session, view: ListView) -> list[ExerciseDates]:
    """Every state the list's filters select (all pages, in its order) with its step dates."""
    return [
        ExerciseDates(s.cve_ent, s.short_name or s.name, ex.declaration_date if ex else None,
                      ex.stl_installed_date if ex else None, first_plan)
        for s, ex, _plans, first_plan in session.execute(exercises_select(view)).all()
    ]


@dataclass
class ProgrammeSummary:
    """The published headline counts beside what is recorded here."""

    counts: Sequence[ProgrammeCount]
    recorded: dict[str, int]
    stage_totals: dict[str | None, int]
    # (scope, programme, plans, commitments) recorded here, local before national.
    by_programme: list[tuple[str, str, int, int]] = field(default_factory=list)
    # Each published count reconciled with the recorded plans (None: not asked for).
    reconciliation: Reconciliation | None = None


def programme_summary(session: Session, reconcile: bool = False) -> ProgrammeSummary:
    """The published counts beside what is recorded; ``reconcile`` adds the reconciliation."""
    counts = session.scalars(
        select(ProgrammeCount).order_by(ProgrammeCount.as_of.is_(None), ProgrammeCount.as_of)
    ).all()
    stage_totals = dict(
        session.execute(
            select(LocalExercise.stage, func.count()).group_by(LocalExercise.stage)
        ).all()
    )
    return ProgrammeSummary(counts, recorded_counts(session), stage_totals,
                            programme_counts(session),
                            programme_reconciliation(session) if reconcile else None)


# --- Plans -------------------------------------------------------------------------------

_recorded = (
    select(Commitment.plan_id.label("plan_id"), func.count().label("recorded"))
    .group_by(Commitment.plan_id)
    .subquery("recorded")
)
_recorded_n = func.coalesce(_recorded.c.recorded, 0)

PLANS = ListSpec(
    name="planes_de_accion",
    filters={
        "scope": params.choice(SCOPES.codes, metadata={"description": "National or local."}),
        "programme": params.choice(PROGRAMMES.codes, metadata={
            "description": "The programme the plan belongs to."}),
        "state": params.choice(STATE_CODES, metadata={
            "description": "INEGI state code (local plans of that state)."}),
        "q": params.text(metadata={"description": "Words of the title or the state's name."}),
    },
    sorts={
        "published": Sort((ActionPlan.published_date,)),
        "title": Sort((folded(ActionPlan.title),)),
        "state": Sort((folded(func.coalesce(State.name, "")),)),
        "commitments": Sort((_recorded_n,), descending=True),
    },
    default_sort="state",
    columns=columns(
        "id", "key", "scope", "programme", "cve_ent", "state", "title", "period_start",
        "period_end", "published_date", "commitments_published", "proactive_published",
        "commitments_recorded", "progress", "commitments_with_milestones", "source",
        id="plan.id",
        key="plan.key",
        scope="plan.scope",
        programme="plan.programme",
        cve_ent="plan.state_cve",
        state="state_name",
        title="plan.title",
        period_start="plan.period_start",
        period_end="plan.period_end",
        published_date="plan.published_date",
        commitments_published="plan.commitments_published",
        proactive_published="plan.proactive_published",
        commitments_recorded="recorded",
        progress="progress.value",
        commitments_with_milestones="progress.known",
        source="plan.source",
    ),
)


@dataclass
class PlanRow:
    plan: ActionPlan
    state_name: str | None
    recorded: int
    progress: PlanProgress


def plans_select(view: ListView) -> Select:
    stmt = (
        select(ActionPlan, State.name.label("state_name"), _recorded_n.label("recorded"))
        .outerjoin(State, ActionPlan.state_cve == State.cve_ent)
        .outerjoin(_recorded, _recorded.c.plan_id == ActionPlan.id)
    )
    f = view.filters
    stmt = where_equal(stmt, f, {
        "scope": ActionPlan.scope, "programme": ActionPlan.programme,
        "state": ActionPlan.state_cve,
    })
    if f.get("q") and (clause := search_clause([ActionPlan.title, State.name], f["q"])) is not None:
        stmt = stmt.where(clause)
    return order_select(stmt, view, ActionPlan.period_start, ActionPlan.id)


def plan_rows(session: Session, rows: Sequence[Any]) -> list[PlanRow]:
    """Give (plan, state name, recorded) rows their progress."""
    progress = progress_by_plan(session, [r[0].id for r in rows])
    return [PlanRow(p, name, n, progress[p.id]) for p, name, n in rows]


def plan_filter_options(session: Session) -> dict[str, Any]:
    return {"states": _state_codes_with_plans(session)}


@dataclass
class PlanDetail:
    plan: ActionPlan
    commitments: Sequence[Commitment]
    progress: dict[int, Progress]
    overall: PlanProgress
    osc: list[tuple[Commitment, str | None, dict]]
    proactive: int
    # Commitments the plan's source counts that have no title here ("título desconocido").
    untitled: int = 0
    facts: Sequence[ProgrammeFact] = ()
    # The progress reports of its commitments, newest first (the plan's timeline).
    reports: Sequence[ProgressReport] = ()


def progress_reports(session: Session, *where: ColumnElement[bool]) -> Sequence[ProgressReport]:
    """Progress reports matching ``where``, newest report first (the public timeline)."""
    return session.scalars(
        select(ProgressReport).where(*where)
        .options(selectinload(ProgressReport.commitment))
        .order_by(ProgressReport.reported_on.desc(), ProgressReport.id.desc())
    ).all()


def untitled(plan: ActionPlan, recorded: int) -> int:
    """How many of the commitments the plan's source counts are not recorded (no title)."""
    total = plan_total(plan)
    return max(total - recorded, 0) if total is not None else 0


def programme_facts(session: Session, *where: ColumnElement[bool]) -> Sequence[ProgrammeFact]:
    """Dated programme facts matching ``where``, dated first, oldest first."""
    return session.scalars(
        select(ProgrammeFact).where(*where)
        .order_by(ProgrammeFact.as_of.is_(None), ProgrammeFact.as_of, ProgrammeFact.id)
    ).all()


def plan_detail(session: Session, plan: ActionPlan) -> PlanDetail:
    commitments = session.scalars(
        select(Commitment)
        .where(Commitment.plan_id == plan.id)
        .options(selectinload(Commitment.themes), selectinload(Commitment.assessments))
        .order_by(Commitment.number)
    ).all()
    progress = progress_by_commitment(session, [c.id for c in commitments])
    return PlanDetail(
        plan=plan,
        commitments=commitments,
        progress=progress,
        overall=plan_progress(progress.values()),
        osc=osc_rows(commitments),
        proactive=sum(1 for c in commitments if (c.label or "").startswith("P")),
        untitled=untitled(plan, len(commitments)),
        facts=programme_facts(session, ProgrammeFact.plan_id == plan.id),
        reports=progress_reports(session, ProgressReport.commitment_id.in_(
            [c.id for c in commitments])),
    )


def osc_rows(commitments: Sequence[Commitment]) -> list[tuple[Commitment, str | None, dict]]:
    """Rows of the civil-society grade table: one per commitment, or per evaluated part."""
    rows: list[tuple[Commitment, str | None, dict]] = []
    for c in commitments:
        grades = {a.aspect: a.value for a in c.assessments if a.framework == "osc-2012"}
        parts = sorted({k.split(":")[0] for k in grades if ":" in k})
        for part in parts:
            rows.append((c, part, {
                k.split(":", 1)[1]: v for k, v in grades.items() if k.startswith(part + ":")
            }))
        if grades and not parts:
            rows.append((c, None, grades))
    return rows


# --- Commitments -------------------------------------------------------------------------


COMMITMENTS = ListSpec(
    name="compromisos",
    filters={
        "state": params.choice(STATE_CODES, metadata={
            "description": "INEGI state code (commitments of that state's local plans)."}),
        "plan": params.identifier(metadata={"description": "The plan's id (GET /plans)."}),
        "scope": params.choice(SCOPES.codes, metadata={
            "description": "Commitments of national or of local plans."}),
        "status": params.choice(PROGRESS_STATES.codes, metadata={
            "description": "Progress state derived from the milestones ('unknown' without "
                           "milestones; 'off_track' when one is overdue)."}),
        "theme": params.text(120, 30, metadata={
            "description": "A theme exactly as in a commitment's themes."}),
        "sdg": params.integer(1, 17, metadata={"description": "Sustainable Development Goal."}),
        "q": params.text(metadata={"description": "Words of the title or the OGP id."}),
    },
    # The SQL of each sort lives in queries.commitments_query (it needs the progress columns).
    sorts={k: Sort() for k in ("plan", "title", "state", "progress", "updated")},
    default_sort="plan",
    columns=columns(
        "id", "plan_id", "plan", "scope", "cve_ent", "state", "number", "label", "ogp_id",
        "title", "responsible", "counterpart", "themes", "progress", "progress_state",
        "late_milestones", "source",
        id="c.id",
        plan_id="p.id",
        plan="p.title",
        scope="p.scope",
        cve_ent="p.state_cve",
        state="state_name",
        number="c.number",
        label="c.label",
        ogp_id="c.ogp_id",
        title="c.title",
        responsible="c.responsible",
        counterpart="c.counterpart",
        themes=lambda r: "; ".join(r.themes),
        progress="progress",
        progress_state="progress_state",
        late_milestones="late",
        source="c.source",
    ),
)


@dataclass
class CommitmentRow:
    c: Commitment
    p: ActionPlan
    state_name: str | None
    progress: float | None
    progress_state: str
    late: int
    themes: list[str]


def commitments_select(view: ListView) -> Select:
    return commitments_query(view.filters, view.sort, view.descending, today())


def commitment_rows(session: Session, rows: Sequence[Any]) -> list[CommitmentRow]:
    themes = themes_of(session, [r[0].id for r in rows])
    return [
        CommitmentRow(c, p, state_name, progress, progress_state, late, themes=themes[c.id])
        for c, p, state_name, progress, progress_state, late in rows
    ]


def commitment_filter_options(session: Session) -> dict[str, Any]:
    return {
        "theme_options": session.scalars(
            select(CommitmentTheme.theme).distinct().order_by(CommitmentTheme.theme)
        ).all(),
        "sdg_options": session.scalars(
            select(CommitmentSdg.goal).distinct().order_by(CommitmentSdg.goal)
        ).all(),
        "plan_options": session.execute(
            select(ActionPlan.id, ActionPlan.title, State.short_name)
            .outerjoin(State, ActionPlan.state_cve == State.cve_ent)
            .order_by(ActionPlan.scope.desc(), State.short_name, ActionPlan.id)
        ).all(),
        "state_options": _state_codes_with_plans(session),
    }


def themes_of(session: Session, commitment_ids: list[int]) -> dict[int, list[str]]:
    themes: dict[int, list[str]] = defaultdict(list)
    if commitment_ids:
        for cid, theme in session.execute(
            select(CommitmentTheme.commitment_id, CommitmentTheme.theme)
            .where(CommitmentTheme.commitment_id.in_(commitment_ids))
            .order_by(CommitmentTheme.theme)
        ):
            themes[cid].append(theme)
    return themes


@dataclass
class CommitmentRecord:
    """A commitment with what derives from it: its progress (the rules of progress.py, as
    on the lists) and every evidence item of it and of its milestones. The API's record."""

    commitment: Commitment
    progress: Progress
    evidence: list[Evidence]


@dataclass
class CommitmentDetail(CommitmentRecord):
    """The commitment page: the record, its history and its assessments by framework."""

    history: list[Change]
    frameworks: dict[str, list]
    # Its progress reports, newest first (the public timeline).
    reports: Sequence[ProgressReport]


def commitment_evidence(c: Commitment) -> list[Evidence]:
    """The evidence of ``c`` and of its milestones, once each: by its own date (undated
    last), then as recorded."""
    items = {e.id: e for e in c.evidence}
    for m in c.milestones:
        items.update((e.id, e) for e in m.evidence)
    return sorted(items.values(), key=lambda e: (e.dated is None, e.dated or date.min,
                                                 e.added_at, e.id))


def commitment_record(session: Session, c: Commitment) -> CommitmentRecord:
    """``c`` with its derived progress and all its evidence."""
    return CommitmentRecord(c, commitment_progress(c.milestones, today()),
                            commitment_evidence(c))


def commitment_detail(session: Session, c: Commitment) -> CommitmentDetail:
    frameworks: dict[str, list] = defaultdict(list)
    for a in sorted(c.assessments, key=lambda a: (a.framework, a.aspect)):
        frameworks[a.framework].append(a)
    base = commitment_record(session, c)
    return CommitmentDetail(
        commitment=c, progress=base.progress, evidence=base.evidence,
        history=describe_all(latest_events(session, AuditEvent.commitment_id == c.id,
                                           limit=None)),
        frameworks=frameworks,
        reports=progress_reports(session, ProgressReport.commitment_id == c.id),
    )


def record_file(session: Session, kind: str, obj_id: int) -> Evidence | ProgressReport:
    """The live evidence item or progress report whose file is asked for; 404 when it is
    deleted, has no file, or ``kind`` is not one that holds files."""
    obj: Evidence | ProgressReport | None = None
    if kind == "evidence":
        obj = session.get(Evidence, obj_id)
    elif kind == "progress":
        obj = session.get(ProgressReport, obj_id)
    if obj is None or obj.deleted_at is not None or obj.file_sha256 is None:
        raise NotFound()
    return obj


# --- Change history ----------------------------------------------------------------------


def latest_events(
    session: Session, condition: ColumnElement[bool], limit: int | None = FEED_LIMIT
) -> Sequence[AuditEvent]:
    """The newest audit events matching ``condition`` (all of them when limit is None)."""
    stmt = (
        select(AuditEvent)
        .where(condition)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return session.scalars(stmt.limit(limit) if limit else stmt).all()


# --- A state's tracker summary -----------------------------------------------------------


@dataclass
class StateTracker:
    """Everything the state page shows of the tracker: exercise, members, plans, progress."""

    exercise: LocalExercise | None
    members: dict[str, list[StlMember]]
    plans: Sequence[ActionPlan]
    progress: dict[int, Progress]
    plan_progress: dict[int, PlanProgress]
    recent_changes: list[Change]
    untitled: dict[int, int] = field(default_factory=dict)  # plan id -> untitled commitments
    facts: Sequence[ProgrammeFact] = ()  # dated facts of the state's programmes


def state_tracker(session: Session, cve_ent: str) -> StateTracker:
    exercise = session.scalars(
        select(LocalExercise).where(LocalExercise.state_cve == cve_ent)
    ).one_or_none()
    members: dict[str, list[StlMember]] = defaultdict(list)
    if exercise:
        for m in sorted(exercise.members, key=lambda m: (m.sector, m.name)):
            members[m.sector].append(m)
    plans = session.scalars(
        select(ActionPlan)
        .where(ActionPlan.state_cve == cve_ent)
        .options(selectinload(ActionPlan.commitments))
        .order_by(ActionPlan.published_date, ActionPlan.id)
    ).all()
    progress = progress_by_commitment(session, [c.id for p in plans for c in p.commitments])
    return StateTracker(
        exercise=exercise,
        members=members,
        plans=plans,
        progress=progress,
        plan_progress={
            p.id: plan_progress(progress[c.id] for c in p.commitments) for p in plans
        },
        recent_changes=describe_all(latest_events(
            session, AuditEvent.state_cve == cve_ent, limit=RECENT_CHANGES
        )),
        untitled={p.id: untitled(p, len(p.commitments)) for p in plans},
        facts=programme_facts(session, ProgrammeFact.state_cve == cve_ent),
    )
