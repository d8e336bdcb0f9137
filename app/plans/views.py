"""Views of the tracker: exercises, plans, commitments, and their change feeds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug import Response

from app.downloads import csv_response
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    CommitmentSdg,
    CommitmentTheme,
    LocalExercise,
    Milestone,
    ProgrammeCount,
    State,
    StlMember,
)

from . import bp
from .feeds import FEED_LIMIT, atom_response
from .labels import (
    ACTION_LABELS,
    ENTITY_LABELS,
    FRAMEWORK_LABELS,
    MILESTONE_STATUS_LABELS,
    OSC_ASPECTS,
    PROGRESS_STATE_LABELS,
    SCOPE_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    STAGE_ORDER,
    THEME_LABELS,
    VALUE_ABBREVIATIONS,
    VALUE_LABELS,
    aspect_label,
    label,
    source_parts,
)
from .listing import page_number, paginate, query_url, wants_csv
from .progress import PlanProgress, Progress, commitment_progress, plan_progress
from .queries import (
    COMMITMENT_SORTS,
    CommitmentFilters,
    commitments_query,
    folded,
    recorded_counts,
    search_clause,
)


@bp.app_context_processor
def tracker_helpers() -> dict[str, object]:
    return {
        "query_url": query_url,
        "tracker_label": label,
        "aspect_label": aspect_label,
        "source_parts": source_parts,
        "theme_labels": THEME_LABELS,
        "value_labels": VALUE_LABELS,
        "value_abbr": VALUE_ABBREVIATIONS,
        "sector_labels": SECTOR_LABELS,
        "milestone_status_labels": MILESTONE_STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "entity_labels": ENTITY_LABELS,
    }


def today() -> date:
    """Return the date that "past due" is measured against."""
    return date.today()


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


# --- Exercises ---------------------------------------------------------------------------

EXERCISE_SORTS = ("state", "stage", "declaration", "secretariat", "plan")


@bp.get("/exercises")
def exercises() -> str | Response:
    session = db.session
    stage = request.args.get("stage") or None
    q = (request.args.get("q") or "").strip()
    sort = request.args.get("sort") or "state"
    plans_sub = (
        select(
            ActionPlan.state_cve.label("cve"),
            func.count().label("plans"),
            func.min(ActionPlan.published_date).label("first_plan"),
        )
        .where(ActionPlan.scope == "local")
        .group_by(ActionPlan.state_cve)
        .subquery()
    )
    stmt = (
        select(State, LocalExercise, plans_sub.c.plans, plans_sub.c.first_plan)
        .outerjoin(LocalExercise, LocalExercise.state_cve == State.cve_ent)
        .outerjoin(plans_sub, plans_sub.c.cve == State.cve_ent)
    )
    if stage == "unknown":
        stmt = stmt.where(LocalExercise.stage.is_(None))
    elif stage in STAGE_LABELS:
        stmt = stmt.where(LocalExercise.stage == stage)
    if q and (clause := search_clause([State.name, State.short_name], q)) is not None:
        stmt = stmt.where(clause)
    descending = sort.startswith("-")
    key = sort.lstrip("-") if sort.lstrip("-") in EXERCISE_SORTS else "state"
    column = {
        "state": folded(State.name),
        "stage": case(
            *((LocalExercise.stage == s, i) for i, s in enumerate(STAGE_ORDER)),
            else_=len(STAGE_ORDER),
        ),
        "declaration": LocalExercise.declaration_date,
        "secretariat": LocalExercise.stl_installed_date,
        "plan": plans_sub.c.first_plan,
    }[key]
    stmt = stmt.order_by(column.is_(None), column.desc() if descending else column, State.cve_ent)
    if wants_csv():
        return csv_response(
            "ejercicios_locales.csv",
            ["cve_ent", "estado", "etapa", "declaratoria", "secretariado_instalado",
             "primer_plan", "planes", "estatus", "estatus_fecha", "facilitador", "fuente"],
            (
                [s.cve_ent, s.name, ex.stage if ex else None,
                 ex.declaration_date if ex else None, ex.stl_installed_date if ex else None,
                 first_plan, plans or 0, ex.status_text if ex else None,
                 ex.status_as_of if ex else None, ex.facilitator if ex else None,
                 ex.source if ex else None]
                for s, ex, plans, first_plan in session.execute(stmt)
            ),
        )
    page = paginate(session, stmt, page_number())
    counts = session.scalars(
        select(ProgrammeCount).order_by(ProgrammeCount.as_of.is_(None), ProgrammeCount.as_of)
    ).all()
    stage_totals = dict(
        session.execute(
            select(LocalExercise.stage, func.count()).group_by(LocalExercise.stage)
        ).all()
    )
    return render_template(
        "plans/exercises.html",
        page=page,
        stage=stage,
        q=q,
        sort=sort,
        counts=counts,
        recorded=recorded_counts(session),
        stage_totals=stage_totals,
        stage_labels=STAGE_LABELS,
        map_endpoint="maps.exercise_map" if "maps.exercise_map" in current_app.view_functions
        else None,
    )


# --- Plans -------------------------------------------------------------------------------

PLAN_SORTS = ("published", "title", "state", "commitments")


@bp.get("/plans")
def plans() -> str | Response:
    session = db.session
    scope = request.args.get("scope") or None
    state = request.args.get("state") or None
    q = (request.args.get("q") or "").strip()
    sort = request.args.get("sort") or "state"
    recorded = (
        select(Commitment.plan_id.label("plan_id"), func.count().label("recorded"))
        .group_by(Commitment.plan_id)
        .subquery()
    )
    recorded_n = func.coalesce(recorded.c.recorded, 0)
    stmt = (
        select(ActionPlan, State.name.label("state_name"), recorded_n.label("recorded"))
        .outerjoin(State, ActionPlan.state_cve == State.cve_ent)
        .outerjoin(recorded, recorded.c.plan_id == ActionPlan.id)
    )
    if scope in SCOPE_LABELS:
        stmt = stmt.where(ActionPlan.scope == scope)
    if state:
        stmt = stmt.where(ActionPlan.state_cve == state)
    if q and (clause := search_clause([ActionPlan.title, State.name], q)) is not None:
        stmt = stmt.where(clause)
    descending = sort.startswith("-")
    key = sort.lstrip("-") if sort.lstrip("-") in PLAN_SORTS else "state"
    column = {
        "published": ActionPlan.published_date,
        "title": folded(ActionPlan.title),
        "state": folded(func.coalesce(State.name, "")),
        "commitments": recorded_n,
    }[key]
    stmt = stmt.order_by(
        column.is_(None), column.desc() if descending else column,
        ActionPlan.period_start, ActionPlan.id,
    )
    if wants_csv():
        rows = session.execute(stmt).all()
        progress = progress_by_plan(session, [p.id for p, *_ in rows])
        return csv_response(
            "planes_de_accion.csv",
            ["id", "clave", "ambito", "cve_ent", "estado", "titulo", "periodo_inicio",
             "periodo_fin", "publicado", "compromisos_publicados", "proactivos_publicados",
             "compromisos_registrados", "avance", "compromisos_con_hitos", "fuente"],
            (
                [p.id, p.key, p.scope, p.state_cve, state_name, p.title, p.period_start,
                 p.period_end, p.published_date, p.commitments_published,
                 p.proactive_published, n, progress[p.id].value, progress[p.id].known, p.source]
                for p, state_name, n in rows
            ),
        )
    page = paginate(session, stmt, page_number())
    progress = progress_by_plan(session, [p.id for p, *_ in page.items])
    states = session.execute(
        select(State.cve_ent, State.name)
        .where(State.cve_ent.in_(select(ActionPlan.state_cve)))
        .order_by(State.name)
    ).all()
    return render_template(
        "plans/plans.html", page=page, progress=progress, scope=scope, state=state, q=q,
        sort=sort, states=states, scope_labels=SCOPE_LABELS,
    )


@bp.get("/plans/<int:plan_id>")
def plan(plan_id: int) -> str:
    session = db.session
    p = db.get_or_abort(ActionPlan, plan_id)
    commitments = session.scalars(
        select(Commitment)
        .where(Commitment.plan_id == p.id)
        .options(selectinload(Commitment.themes), selectinload(Commitment.assessments))
        .order_by(Commitment.number)
    ).all()
    progress = progress_by_commitment(session, [c.id for c in commitments])
    overall = plan_progress(progress.values())
    osc = osc_rows(commitments)
    return render_template(
        "plans/plan.html", plan=p, commitments=commitments, progress=progress,
        overall=overall, osc=osc, osc_aspects=OSC_ASPECTS,
        proactive=sum(1 for c in commitments if (c.label or "").startswith("P")),
    )


def osc_rows(commitments: list[Commitment]) -> list[tuple[Commitment, str | None, dict]]:
    """Rows of the civil-society grade table: one per commitment, or per evaluated part."""
    rows: list[tuple[Commitment, str | None, dict]] = []
    for c in commitments:
        grades = {a.aspect: a.value for a in c.assessments if a.framework == "osc-2012"}
        parts = sorted({k.split(":")[0] for k in grades if ":" in k})
        if parts:
            for part in parts:
                rows.append((c, part, {
                    k.split(":", 1)[1]: v for k, v in grades.items() if k.startswith(part + ":")
                }))
        elif grades:
            rows.append((c, None, grades))
    return rows


# --- Commitments -------------------------------------------------------------------------


def commitment_filters() -> CommitmentFilters:
    """Read the commitments list's filters from the query string."""
    args = request.args
    status = args.get("status") or None
    if status not in PROGRESS_STATE_LABELS:
        status = None
    return CommitmentFilters(
        state=args.get("state") or None,
        plan=args.get("plan", type=int),
        scope=args.get("scope") if args.get("scope") in SCOPE_LABELS else None,
        status=status,
        theme=args.get("theme") or None,
        sdg=args.get("sdg", type=int),
        q=(args.get("q") or "").strip() or None,
        sort=args.get("sort") or "plan",
    )


@bp.get("/commitments")
def commitments() -> str | Response:
    session = db.session
    filters = commitment_filters()
    stmt = commitments_query(filters, today())
    if wants_csv():
        rows = session.execute(stmt).all()
        themes = _themes_of(session, [r[0].id for r in rows])
        return csv_response(
            "compromisos.csv",
            ["id", "plan_id", "plan", "ambito", "cve_ent", "estado", "numero", "etiqueta",
             "ogp_id", "titulo", "responsable", "contraparte", "temas", "avance",
             "estado_avance", "hitos_vencidos", "fuente"],
            (
                [c.id, p.id, p.title, p.scope, p.state_cve, state_name, c.number, c.label,
                 c.ogp_id, c.title, c.responsible, c.counterpart, "; ".join(themes[c.id]),
                 value, pstate, late, c.source]
                for c, p, state_name, value, pstate, late in rows
            ),
        )
    page = paginate(session, stmt, page_number())
    themes = _themes_of(session, [r[0].id for r in page.items])
    return render_template(
        "plans/commitments.html",
        page=page,
        filters=filters,
        themes=themes,
        sorts=COMMITMENT_SORTS,
        theme_options=session.scalars(
            select(CommitmentTheme.theme).distinct().order_by(CommitmentTheme.theme)
        ).all(),
        sdg_options=session.scalars(
            select(CommitmentSdg.goal).distinct().order_by(CommitmentSdg.goal)
        ).all(),
        plan_options=session.execute(
            select(ActionPlan.id, ActionPlan.title, State.short_name)
            .outerjoin(State, ActionPlan.state_cve == State.cve_ent)
            .order_by(ActionPlan.scope.desc(), State.short_name, ActionPlan.id)
        ).all(),
        state_options=session.execute(
            select(State.cve_ent, State.name)
            .where(State.cve_ent.in_(select(ActionPlan.state_cve)))
            .order_by(State.name)
        ).all(),
        status_labels=PROGRESS_STATE_LABELS,
        theme_labels=THEME_LABELS,
        scope_labels=SCOPE_LABELS,
    )


def _themes_of(session: Session, commitment_ids: list[int]) -> dict[int, list[str]]:
    themes: dict[int, list[str]] = defaultdict(list)
    if commitment_ids:
        for cid, theme in session.execute(
            select(CommitmentTheme.commitment_id, CommitmentTheme.theme)
            .where(CommitmentTheme.commitment_id.in_(commitment_ids))
            .order_by(CommitmentTheme.theme)
        ):
            themes[cid].append(theme)
    return themes


@bp.get("/commitments/<int:commitment_id>")
def commitment(commitment_id: int) -> str:
    session = db.session
    c = db.get_or_abort(Commitment, commitment_id)
    progress = commitment_progress(c.milestones, today())
    history = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.commitment_id == c.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    frameworks: dict[str, list] = defaultdict(list)
    for a in sorted(c.assessments, key=lambda a: (a.framework, a.aspect)):
        frameworks[a.framework].append(a)
    return render_template(
        "plans/commitment.html", c=c, plan=c.plan, progress=progress, history=history,
        frameworks=frameworks, framework_labels=FRAMEWORK_LABELS, today=today(),
    )


# --- Feeds -------------------------------------------------------------------------------


def _latest_events(condition: ColumnElement[bool]) -> Sequence[AuditEvent]:
    """Return the newest audit events matching ``condition``, for a feed."""
    return db.session.scalars(
        select(AuditEvent)
        .where(condition)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(FEED_LIMIT)
    ).all()


@bp.get("/states/<cve_ent>/feed.atom")
def state_feed(cve_ent: str) -> Response:
    state = db.get_or_abort(State, cve_ent)
    events = _latest_events(AuditEvent.state_cve == state.cve_ent)
    return atom_response(
        feed_id=url_for("plans.state_feed", cve_ent=state.cve_ent, _external=True),
        title=_("Cambios en %(state)s · Estado Abierto", state=state.name),
        self_url=url_for("plans.state_feed", cve_ent=state.cve_ent, _external=True),
        page_url=url_for("states.detail", cve_ent=state.cve_ent, _external=True),
        events=events,
    )


@bp.get("/commitments/<int:commitment_id>/feed.atom")
def commitment_feed(commitment_id: int) -> Response:
    c = db.get_or_abort(Commitment, commitment_id)
    events = _latest_events(AuditEvent.commitment_id == c.id)
    return atom_response(
        feed_id=url_for("plans.commitment_feed", commitment_id=c.id, _external=True),
        title=_("Cambios en el compromiso %(title)s", title=c.title[:80]),
        self_url=url_for("plans.commitment_feed", commitment_id=c.id, _external=True),
        page_url=url_for("plans.commitment", commitment_id=c.id, _external=True),
        events=events,
    )


def state_tracker_context(session: Session, cve_ent: str) -> dict[str, object]:
    """Everything the state page shows of the tracker: exercise, members, plans, progress."""
    exercise = session.scalars(
        select(LocalExercise).where(LocalExercise.state_cve == cve_ent)
    ).one_or_none()
    members: dict[str, list[StlMember]] = defaultdict(list)
    if exercise:
        for m in sorted(exercise.members, key=lambda m: (m.sector, m.name)):
            members[m.sector].append(m)
    plans_ = session.scalars(
        select(ActionPlan)
        .where(ActionPlan.state_cve == cve_ent)
        .options(selectinload(ActionPlan.commitments))
        .order_by(ActionPlan.published_date, ActionPlan.id)
    ).all()
    commitment_ids = [c.id for p in plans_ for c in p.commitments]
    progress = progress_by_commitment(session, commitment_ids)
    plan_prog = {
        p.id: plan_progress(progress[c.id] for c in p.commitments) for p in plans_
    }
    recent = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.state_cve == cve_ent)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(5)
    ).all()
    return {
        "exercise": exercise,
        "members": members,
        "state_plans": plans_,
        "progress": progress,
        "plan_progress": plan_prog,
        "recent_changes": recent,
        "stage_labels": STAGE_LABELS,
    }
