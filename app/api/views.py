"""The API's resources: each parses its arguments, calls a service, returns what it gives.

Lists take the filters and sort keys of the page that shows the same list (the ListSpecs of
``app.plans.service`` and ``app.metric.service``), plus ``page`` and ``per_page``; lists no
page shows declare their ListSpec here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, select
from werkzeug.exceptions import NotFound

from app import params
from app.extensions import db
from app.listing import ListSpec, ListView, Page, Sort, order, paginate, parse_list
from app.metric import service as metric
from app.models import (
    AuditEvent,
    Commitment,
    Evidence,
    Institution,
    LocalExercise,
    MetricRound,
    Milestone,
    PublishedFigure,
    State,
    StlMember,
)
from app.plans import service as plans
from common.codes import (
    AUDIT_ACTIONS,
    GROUPINGS,
    MILESTONE_STATUSES,
    SECTORS,
    SOURCE_KINDS,
)
from common.text import folded

from . import Blueprint, add_validators, conditional
from . import schemas as s

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500

tracker = Blueprint("api_tracker", __name__, description="Local exercises, plans, commitments")
metric_bp = Blueprint("api_metric", __name__, description="The Open Government Metric")
history = Blueprint("api_history", __name__, description="Every recorded change")
sources_bp = Blueprint("api_sources", __name__, description="The sources the data rests on")
BLUEPRINTS = (tracker, metric_bp, history, sources_bp)
for _bp in BLUEPRINTS:
    _bp.before_request(conditional)
    _bp.after_request(add_validators)


# --- Lists: arguments, pages, links ------------------------------------------------------


def list_arguments(spec: ListSpec, name: str, **extra: Any) -> type[Schema]:
    """The query arguments of a list, as the OpenAPI description shows them."""
    return Schema.from_dict({
        **spec.filters,
        **extra,
        "sort": params.sort(spec.sorts, metadata={"description": f"default {spec.default_sort}"}),
        "page": params.integer(1, 10**6),
        "per_page": params.integer(1, MAX_PER_PAGE),
    }, name=name)


def api_view(spec: ListSpec, **extra: Any) -> ListView:
    """Parse a list's arguments (400 on a bad one); ``per_page`` sets the page size."""
    view = parse_list(spec, per_page=params.integer(1, MAX_PER_PAGE), **extra)
    per_page = view.filters.get("per_page") or DEFAULT_PER_PAGE
    return replace(view, spec=replace(spec, per_page=per_page))


def page_body(view: ListView, page: Page) -> dict[str, Any]:
    """A page with its links (the list's canonical arguments, as the pages build them)."""
    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "links": {
            "self": view.url(page=page.page),
            "first": view.url(page=1),
            "last": view.url(page=page.pages),
            "next": view.url(page=page.page + 1) if page.page < page.pages else None,
            "prev": view.url(page=page.page - 1) if page.page > 1 else None,
        },
    }


def sql_page(view: ListView, stmt: Select,
             enrich: Callable[[Any, Sequence[Any]], list] | None = None) -> dict[str, Any]:
    page = paginate(stmt, view, db.session)
    if enrich is not None:
        page.items = enrich(db.session, page.items)
    return page_body(view, page)


def _scalar_page(view: ListView, stmt: Select) -> dict[str, Any]:
    """A page of a one-entity Select (rows are ORM objects)."""
    page = paginate(stmt, view, db.session)
    page.items = [row[0] for row in page.items]
    return page_body(view, page)


# --- Tracker -------------------------------------------------------------------------------


def _state_codes() -> list[str]:
    return list(db.session.scalars(select(State.cve_ent).order_by(State.cve_ent)))


STATES = ListSpec(
    name="states",
    sorts={"cve_ent": Sort((State.cve_ent,)), "name": Sort((folded(State.name),))},
    default_sort="cve_ent",
)


@tracker.get("/states")
@tracker.arguments(list_arguments(STATES, "StatesArgs"), location="query")
@tracker.response(200, s.page_of(s.StateSchema, "StatesPage"))
def states(_args: dict) -> dict[str, Any]:
    """The 32 states (INEGI codes, official names, ISO 3166-2)."""
    view = api_view(STATES)
    return _scalar_page(view, order(select(State), view, State.cve_ent))


@tracker.get("/states/<cve:cve_ent>")
@tracker.response(200, s.StateDetailSchema)
def state(cve_ent: str) -> Any:
    """One state, with its local co-creation exercise."""
    found = params.get_or_404(db.session, State, cve_ent)
    view = ListView(plans.EXERCISES, {}, "state", False, 1, "json")
    row = db.session.execute(
        plans.exercises_select(view).where(State.cve_ent == found.cve_ent)
    ).first()
    return {**{c: getattr(found, c) for c in s.StateSchema().fields}, "exercise": row}


@tracker.get("/exercises")
@tracker.arguments(list_arguments(plans.EXERCISES, "ExercisesArgs"), location="query")
@tracker.response(200, s.page_of(s.ExerciseSchema, "ExercisesPage"))
def exercises(_args: dict) -> dict[str, Any]:
    """Every state's local co-creation exercise (filters and sorts as on /exercises)."""
    view = api_view(plans.EXERCISES)
    return sql_page(view, plans.exercises_select(view))


MEMBERS = ListSpec(
    name="secretariat_members",
    filters={"state": params.choice(_state_codes), "sector": params.choice(SECTORS.codes)},
    sorts={
        "state": Sort((LocalExercise.state_cve,)),
        "sector": Sort((StlMember.sector,)),
        "name": Sort((folded(StlMember.name),)),
    },
    default_sort="state",
)


@tracker.get("/secretariat-members")
@tracker.arguments(list_arguments(MEMBERS, "MembersArgs"), location="query")
@tracker.response(200, s.page_of(s.MemberSchema, "MembersPage"))
def secretariat_members(_args: dict) -> dict[str, Any]:
    """Members of the Local Technical Secretariats, by sector."""
    view = api_view(MEMBERS)
    stmt = select(StlMember, LocalExercise).join(
        LocalExercise, StlMember.exercise_id == LocalExercise.id
    )
    if view.filters.get("state"):
        stmt = stmt.where(LocalExercise.state_cve == view.filters["state"])
    if view.filters.get("sector"):
        stmt = stmt.where(StlMember.sector == view.filters["sector"])
    return sql_page(view, order(stmt, view, StlMember.sector, StlMember.id))


@tracker.get("/plans")
@tracker.arguments(list_arguments(plans.PLANS, "PlansArgs"), location="query")
@tracker.response(200, s.page_of(s.PlanSchema, "PlansPage"))
def plan_list(_args: dict) -> dict[str, Any]:
    """National and local action plans with their derived progress (as on /plans)."""
    view = api_view(plans.PLANS)
    return sql_page(view, plans.plans_select(view), plans.plan_rows)


@tracker.get("/plans/<int:plan_id>")
@tracker.response(200, s.PlanDetailSchema)
def plan(plan_id: int) -> Any:
    """One action plan."""
    from app.models import ActionPlan

    return params.get_or_404(db.session, ActionPlan, plan_id)


@tracker.get("/commitments")
@tracker.arguments(list_arguments(plans.COMMITMENTS, "CommitmentsArgs"), location="query")
@tracker.response(200, s.page_of(s.CommitmentSchema, "CommitmentsPage"))
def commitment_list(_args: dict) -> dict[str, Any]:
    """Every commitment with its derived progress (filters as on /commitments)."""
    view = api_view(plans.COMMITMENTS)
    return sql_page(view, plans.commitments_select(view), plans.commitment_rows)


@tracker.get("/commitments/<int:commitment_id>")
@tracker.response(200, s.CommitmentDetailSchema)
def commitment(commitment_id: int) -> Any:
    """One commitment: themes, goals, milestones, evidence and assessments."""
    return params.get_or_404(db.session, Commitment, commitment_id)


def _commitment_ids() -> list[int]:
    return list(db.session.scalars(select(Commitment.id)))


MILESTONES = ListSpec(
    name="milestones",
    filters={"commitment": params.integer(1), "status": params.choice(MILESTONE_STATUSES.codes)},
    sorts={"commitment": Sort((Milestone.commitment_id, Milestone.number)),
           "due": Sort((Milestone.due_date,))},
    default_sort="commitment",
)


@tracker.get("/milestones")
@tracker.arguments(list_arguments(MILESTONES, "MilestonesArgs"), location="query")
@tracker.response(200, s.page_of(s.MilestoneSchema, "MilestonesPage"))
def milestones(_args: dict) -> dict[str, Any]:
    """Milestones of commitments (weights, dates, status)."""
    view = api_view(MILESTONES)
    stmt = select(Milestone)
    if view.filters.get("commitment"):
        stmt = stmt.where(Milestone.commitment_id == view.filters["commitment"])
    if view.filters.get("status"):
        stmt = stmt.where(Milestone.status == view.filters["status"])
    return _scalar_page(view, order(stmt, view, Milestone.id))


@tracker.get("/milestones/<int:milestone_id>")
@tracker.response(200, s.MilestoneSchema)
def milestone(milestone_id: int) -> Any:
    """One milestone."""
    return params.get_or_404(db.session, Milestone, milestone_id)


EVIDENCE = ListSpec(
    name="evidence",
    filters={"commitment": params.integer(1), "milestone": params.integer(1)},
    sorts={"added": Sort((Evidence.added_at,), descending=True), "id": Sort((Evidence.id,))},
    default_sort="id",
)


@tracker.get("/evidence")
@tracker.arguments(list_arguments(EVIDENCE, "EvidenceArgs"), location="query")
@tracker.response(200, s.page_of(s.EvidenceSchema, "EvidencePage"))
def evidence_list(_args: dict) -> dict[str, Any]:
    """Evidence of milestones and commitments (links and file references)."""
    view = api_view(EVIDENCE)
    stmt = select(Evidence)
    if view.filters.get("commitment"):
        stmt = stmt.where(Evidence.commitment_id == view.filters["commitment"])
    if view.filters.get("milestone"):
        stmt = stmt.where(Evidence.milestone_id == view.filters["milestone"])
    return _scalar_page(view, order(stmt, view, Evidence.id))


@tracker.get("/evidence/<int:evidence_id>")
@tracker.response(200, s.EvidenceSchema)
def evidence(evidence_id: int) -> Any:
    """One piece of evidence."""
    return params.get_or_404(db.session, Evidence, evidence_id)


# --- Metric --------------------------------------------------------------------------------


def _loaded() -> list[int]:
    return metric.round_years(db.session)


def _round_or_404(year: int) -> MetricRound:
    found = metric.round_by_year(db.session, year)
    if found is None:
        raise NotFound()
    return found


INSTITUTIONS = ListSpec(
    name="institutions",
    filters=dict(metric.ROUND_INSTITUTIONS.filters),
    sorts={"name": Sort((folded(Institution.name),)), "key": Sort((Institution.key,)),
           "id": Sort((Institution.id,))},
    default_sort="name",
)


@metric_bp.get("/institutions")
@metric_bp.arguments(list_arguments(INSTITUTIONS, "InstitutionsArgs"), location="query")
@metric_bp.response(200, s.page_of(s.InstitutionSchema, "InstitutionsPage"))
def institutions(_args: dict) -> dict[str, Any]:
    """Every institution measured by any round (filters as on a round's institutions)."""
    from app.plans.queries import search_clause

    view = api_view(INSTITUTIONS)
    f = view.filters
    stmt = select(Institution)
    if f.get("state") == "federal":
        stmt = stmt.where(Institution.state_cve.is_(None))
    elif f.get("state"):
        stmt = stmt.where(Institution.state_cve == f["state"])
    if f.get("level"):
        stmt = stmt.where(Institution.level == f["level"])
    if f.get("type"):
        stmt = stmt.where(Institution.kind == f["type"])
    if f.get("q") and (clause := search_clause([Institution.name], f["q"])) is not None:
        stmt = stmt.where(clause)
    return _scalar_page(view, order(stmt, view, Institution.id))


@metric_bp.get("/institutions/<int:institution_id>")
@metric_bp.response(200, s.InstitutionDetailSchema)
def institution(institution_id: int) -> Any:
    """One institution, its name variants and its indices in every round."""
    inst = params.get_or_404(db.session, Institution, institution_id)
    found = metric.institution_history(db.session, inst)
    return {**{c: getattr(inst, c) for c in ("id", "key", "name", "level", "kind",
                                               "state_cve", "municipality_code", "aliases")},
            "rounds": found.rows}


@metric_bp.get("/rounds")
@metric_bp.response(200, s.RoundSchema(many=True))
def rounds() -> Any:
    """Every round: scores loaded, computed national means and published national figures."""
    return metric.rounds_overview(db.session)


@metric_bp.get("/rounds/<int:year>")
@metric_bp.response(200, s.RoundSchema)
def round_(year: int) -> Any:
    """One round."""
    _round_or_404(year)
    return next(r for r in metric.rounds_overview(db.session) if r.round.year == year)


@metric_bp.get("/scores")
@metric_bp.arguments(list_arguments(metric.ROUND_INSTITUTIONS, "ScoresArgs",
                                    round=params.int_choice(_loaded)), location="query")
@metric_bp.response(200, s.page_of(s.ScoreSchema, "ScoresPage"))
def scores(_args: dict) -> dict[str, Any]:
    """Institutions' indices in a round (default the latest loaded), as the engine computes them.

    Filters and sorts as on /metric/<year>/institutions.
    """
    view = api_view(metric.ROUND_INSTITUTIONS, round=params.int_choice(_loaded))
    loaded = _loaded()
    year = view.filters.get("round") or (loaded[-1] if loaded else None)
    rows = [] if year is None else metric.round_institutions(db.session, year)
    rows = order(metric.filter_institutions(rows, view.filters), view)
    return page_body(view, paginate(rows, view))


GROUPING = {"by": params.choice(GROUPINGS.codes, required=True)}


@metric_bp.get("/rounds/<int:year>/aggregates")
@metric_bp.arguments(Schema.from_dict(GROUPING, name="AggregatesArgs"), location="query")
@metric_bp.response(200, s.AggregatesSchema)
def aggregates(_args: dict, year: int) -> dict[str, Any]:
    """A round's computed means by grouping, beside the published figures and differences."""
    by = params.parse(GROUPING)["by"]
    _round_or_404(year)
    return {"year": year, "by": by, "items": metric.summary_rows(db.session, year, by)}


COMPARISON = {
    "from": params.int_choice(_loaded, required=True),
    "to": params.int_choice(_loaded, required=True),
    "by": params.choice(GROUPINGS.codes),
}


@metric_bp.get("/comparisons")
@metric_bp.arguments(Schema.from_dict(COMPARISON, name="ComparisonArgs"), location="query")
@metric_bp.response(200, s.ComparisonSchema)
def comparisons(_args: dict) -> dict[str, Any]:
    """Two loaded rounds compared over the institutions present in both, grouped ``by``."""
    args = params.parse(COMPARISON)
    before, after, by = args["from"], args["to"], args.get("by") or "state"
    if before == after:
        raise params.bad_argument("to", after, "a loaded round other than «from»")
    _columns, rows, counts = metric.comparison_table(db.session, before, after, by)
    return {"before": before, "after": after, "by": by, "counts": counts, "items": rows}


FIGURES = ListSpec(
    name="published_figures",
    filters={
        "round": params.int_choice(lambda: db.session.scalars(select(MetricRound.year)).all()),
        "scope": params.choice(GROUPINGS.codes),
        "index": params.choice(lambda: [*s.INDICES, "GAg", "GAc", "N"]),
    },
    sorts={"scope": Sort((PublishedFigure.scope, PublishedFigure.scope_key)),
           "index": Sort((PublishedFigure.index_name,))},
    default_sort="scope",
)


@metric_bp.get("/published-figures")
@metric_bp.arguments(list_arguments(FIGURES, "FiguresArgs"), location="query")
@metric_bp.response(200, s.page_of(s.FigureSchema, "FiguresPage"))
def published_figures(_args: dict) -> dict[str, Any]:
    """Figures exactly as INAI's reports printed them (to check computed results against)."""
    view = api_view(FIGURES)
    f = view.filters
    stmt = select(PublishedFigure).join(MetricRound)
    if f.get("round"):
        stmt = stmt.where(MetricRound.year == f["round"])
    if f.get("scope"):
        stmt = stmt.where(PublishedFigure.scope == f["scope"])
    if f.get("index"):
        stmt = stmt.where(PublishedFigure.index_name == f["index"])
    return _scalar_page(view, order(stmt, view, MetricRound.year, PublishedFigure.id))


# --- Change history ------------------------------------------------------------------------


CHANGES = ListSpec(
    name="changes",
    filters={
        "state": params.choice(_state_codes),
        "commitment": params.integer(1),
        "entity": params.text(40, 1),
        "action": params.choice(AUDIT_ACTIONS.codes),
    },
    sorts={"at": Sort((AuditEvent.at,), descending=True)},
    default_sort="-at",
)


@history.get("/changes")
@history.arguments(list_arguments(CHANGES, "ChangesArgs"), location="query")
@history.response(200, s.page_of(s.ChangeSchema, "ChangesPage"))
def changes(_args: dict) -> dict[str, Any]:
    """Every recorded change, newest first: who, when, on what source, before and after."""
    view = api_view(CHANGES)
    f = view.filters
    stmt = select(AuditEvent)
    if f.get("state"):
        stmt = stmt.where(AuditEvent.state_cve == f["state"])
    if f.get("commitment"):
        stmt = stmt.where(AuditEvent.commitment_id == f["commitment"])
    if f.get("entity"):
        stmt = stmt.where(AuditEvent.entity == f["entity"])
    if f.get("action"):
        stmt = stmt.where(AuditEvent.action == f["action"])
    tie = AuditEvent.id.desc() if view.descending else AuditEvent.id
    return _scalar_page(view, order(stmt, view, tie))



# --- Sources -------------------------------------------------------------------------------


SOURCES = ListSpec(
    name="sources",
    filters={"kind": params.choice(SOURCE_KINDS.codes)},
    sorts={"publisher": Sort(value=lambda u: (u.source.publisher, u.source.title, u.source.id)),
           "date": Sort(value=lambda u: u.source.date), "id": Sort(value=lambda u: u.source.id)},
    default_sort="publisher",
)


@sources_bp.get("/sources")
@sources_bp.arguments(list_arguments(SOURCES, "SourcesArgs"), location="query")
@sources_bp.response(200, s.page_of(s.SourceSchema, "SourcesPage"))
def sources(_args: dict) -> dict[str, Any]:
    """Every registered source and how many records of each table cite it."""
    from app.sources.service import sources_list

    view = api_view(SOURCES)
    rows = [u for u in sources_list(db.session)
            if not view.filters.get("kind") or u.source.kind == view.filters["kind"]]
    return page_body(view, paginate(order(rows, view), view))


@sources_bp.get("/sources/<int:source_id>")
@sources_bp.response(200, s.SourceSchema)
def source(source_id: int) -> Any:
    """One source."""
    from app.sources.service import sources_list

    found = next((u for u in sources_list(db.session) if u.source.id == source_id), None)
    if found is None:
        raise NotFound()
    return found
