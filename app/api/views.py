"""The API's resources: each list gives its ordered rows, each record is one entry.

Lists take the filters and sort keys of the page that shows the same list (the ListSpecs of
``app.plans.service`` and ``app.metric.rounds``), plus ``page`` and ``per_page``; lists no
page shows declare their ListSpec here. How ``listing`` and ``record`` build an endpoint (and
how to add one): ``app/api/resources.py``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, select
from werkzeug.exceptions import NotFound

from app import params
from app.extensions import db
from app.listing import ListSpec, ListView, Sort, order, where_equal
from app.metric import rounds as metric
from app.metric.compare import comparison_table
from app.metric.scores import round_by_year, round_years
from app.models import (
    ActionPlan,
    AuditEvent,
    Base,
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
    STATE_CODES,
)
from common.text import folded

from . import NOT_FOUND, Blueprint
from . import schemas as s
from .resources import listing, objects, record

tracker = Blueprint("api_tracker", __name__, description="Local exercises, plans, commitments")
metric_bp = Blueprint("api_metric", __name__, description="The Open Government Metric")
history = Blueprint("api_history", __name__, description="Every recorded change")
sources_bp = Blueprint("api_sources", __name__, description="The sources the data rests on")
BLUEPRINTS = (tracker, metric_bp, history, sources_bp)


def state_filter(what: str) -> Any:
    return params.choice(STATE_CODES, metadata={"description": f"INEGI state code ({what})."})


def id_filter(what: str) -> Any:
    return params.identifier(metadata={"description": f"The {what}'s id."})


# --- Tracker -------------------------------------------------------------------------------


STATES = ListSpec(
    name="states",
    sorts={"cve_ent": Sort((State.cve_ent,)), "name": Sort((folded(State.name),))},
    default_sort="cve_ent",
)


@listing(tracker, "/states", STATES, s.StateSchema, "States", objects,
         link=("getState", "cve_ent", "cve_ent"))
def states(view: ListView) -> Select:
    """The 32 states (INEGI codes, official names, ISO 3166-2)."""
    return order(select(State), view, State.cve_ent)


@tracker.get("/states/<cve:cve_ent>")
@tracker.doc(operationId="getState")
@tracker.response(200, s.StateDetailSchema)
@tracker.alt_response(404, response=NOT_FOUND)
def state(cve_ent: str) -> Any:
    """One state, with its local co-creation exercise."""
    found = params.get_or_404(db.session, State, cve_ent)
    view = ListView(plans.EXERCISES, {}, "state", False, 1, "json")
    row = db.session.execute(
        plans.exercises_select(view).where(State.cve_ent == found.cve_ent)
    ).first()
    return {**{c: getattr(found, c) for c in s.StateSchema().fields}, "exercise": row}


@listing(tracker, "/exercises", plans.EXERCISES, s.ExerciseSchema, "Exercises")
def exercises(view: ListView) -> Select:
    """Every state's local co-creation exercise (filters and sorts as on /exercises)."""
    return plans.exercises_select(view)


MEMBERS = ListSpec(
    name="secretariat_members",
    filters={"state": state_filter("members of that state's secretariat"),
             "sector": params.choice(SECTORS.codes, metadata={"description": "Sector."})},
    sorts={
        "state": Sort((LocalExercise.state_cve,)),
        "sector": Sort((StlMember.sector,)),
        "name": Sort((folded(StlMember.name),)),
    },
    default_sort="state",
)


MILESTONES = ListSpec(
    name="milestones",
    filters={"commitment": id_filter("commitment"),
             "status": params.choice(MILESTONE_STATUSES.codes, metadata={
                 "description": "Milestone status."})},
    sorts={"commitment": Sort((Milestone.commitment_id, Milestone.number)),
           "due": Sort((Milestone.due_date,))},
    default_sort="commitment",
)


EVIDENCE = ListSpec(
    name="evidence",
    filters={"commitment": id_filter("commitment"), "milestone": id_filter("milestone")},
    sorts={"added": Sort((Evidence.added_at,), descending=True), "id": Sort((Evidence.id,))},
    default_sort="id",
)


@listing(tracker, "/secretariat-members", MEMBERS, s.MemberSchema, "Members")
def secretariat_members(view: ListView) -> Select:
    """Members of the Local Technical Secretariats, by sector."""
    stmt = select(StlMember, LocalExercise).join(
        LocalExercise, StlMember.exercise_id == LocalExercise.id
    )
    stmt = where_equal(stmt, view.filters,
                       {"state": LocalExercise.state_cve, "sector": StlMember.sector})
    return order(stmt, view, StlMember.sector, StlMember.id)


@listing(tracker, "/plans", plans.PLANS, s.PlanSchema, "Plans", plans.plan_rows,
         link=("getPlan", "plan_id", "id"))
def plan_list(view: ListView) -> Select:
    """National and local action plans with their derived progress (as on /plans)."""
    return plans.plans_select(view)


@listing(tracker, "/commitments", plans.COMMITMENTS, s.CommitmentSchema, "Commitments",
         plans.commitment_rows, link=("getCommitment", "commitment_id", "id"))
def commitment_list(view: ListView) -> Select:
    """Every commitment with its derived progress (filters as on /commitments)."""
    return plans.commitments_select(view)


@listing(tracker, "/milestones", MILESTONES, s.MilestoneSchema, "Milestones", objects,
         link=("getMilestone", "milestone_id", "id"))
def milestones(view: ListView) -> Select:
    """Milestones of commitments (weights, dates, status)."""
    stmt = where_equal(select(Milestone), view.filters,
                       {"commitment": Milestone.commitment_id, "status": Milestone.status})
    return order(stmt, view, Milestone.id)


@listing(tracker, "/evidence", EVIDENCE, s.EvidenceSchema, "Evidence", objects,
         link=("getEvidence", "evidence_id", "id"))
def evidence_list(view: ListView) -> Select:
    """Evidence of milestones and commitments (links and files, with where to download them)."""
    stmt = where_equal(select(Evidence), view.filters,
                       {"commitment": Evidence.commitment_id, "milestone": Evidence.milestone_id})
    return order(stmt, view, Evidence.id)


@tracker.get("/reconciliation")
@tracker.doc(operationId="getReconciliation")
@tracker.response(200, s.ReconciliationSchema)
def reconciliation() -> Any:
    """Each published count of the programme beside the recorded plans: counted, outside or
    undetermined (with basis and reasoning), identified and unidentified plans and commitments,
    the difference in words (as on /exercises#reconciliation)."""
    from app.plans.reconcile import programme_reconciliation

    return programme_reconciliation(db.session)


# Each record by its id: 404 when unknown (or withdrawn).
record(tracker, "/plans/<int:plan_id>", ActionPlan, s.PlanDetailSchema, "One action plan.",
       "getPlan")
record(tracker, "/commitments/<int:commitment_id>", Commitment, s.CommitmentDetailSchema,
       "One commitment: its progress, themes, goals, milestones, evidence, progress reports "
       "and assessments.", "getCommitment", plans.commitment_record)
record(tracker, "/milestones/<int:milestone_id>", Milestone, s.MilestoneSchema,
       "One milestone.", "getMilestone")
record(tracker, "/evidence/<int:evidence_id>", Evidence, s.EvidenceSchema,
       "One piece of evidence.", "getEvidence")


# --- Metric --------------------------------------------------------------------------------


def _round_or_404(year: int) -> MetricRound:
    found = round_by_year(db.session, year)
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


@listing(metric_bp, "/institutions", INSTITUTIONS, s.InstitutionSchema, "Institutions", objects,
         link=("getInstitution", "institution_id", "id"))
def institutions(view: ListView) -> Select:
    """Every institution measured by any round (filters as on a round's institutions)."""
    from app.plans.queries import search_clause

    f = view.filters
    stmt = select(Institution)
    if f.get("state") == "federal":
        stmt = stmt.where(Institution.state_cve.is_(None))
    elif f.get("state"):
        stmt = stmt.where(Institution.state_cve == f["state"])
    stmt = where_equal(stmt, f, {"level": Institution.level, "type": Institution.kind})
    if f.get("q") and (clause := search_clause([Institution.name], f["q"])) is not None:
        stmt = stmt.where(clause)
    return order(stmt, view, Institution.id)


@metric_bp.get("/institutions/<int:institution_id>")
@metric_bp.doc(operationId="getInstitution")
@metric_bp.response(200, s.InstitutionDetailSchema)
@metric_bp.alt_response(404, response=NOT_FOUND)
def institution(institution_id: int) -> Any:
    """One institution, its name variants and its indices in every round."""
    inst = params.get_or_404(db.session, Institution, institution_id)
    found = metric.institution_page(db.session, inst)
    return {**{c: getattr(inst, c) for c in ("id", "key", "name", "level", "kind",
                                               "state_cve", "municipality_code", "aliases")},
            "rounds": found.rows}


@metric_bp.get("/rounds")
@metric_bp.doc(operationId="listRounds", responses={200: {"links": {
    "first_round": {"operationId": "getRound", "parameters": {"year": "$response.body#/0/year"},
                    "description": "The first round on its own."},
    "first_round_by_state": {
        "operationId": "getAggregates",
        "parameters": {"year": "$response.body#/0/year", "by": "state"},
        "description": "The first round's means by state."},
}}})
@metric_bp.response(200, s.RoundSchema(many=True))
def rounds() -> Any:
    """Every round: scores loaded, computed national means and published national figures."""
    return metric.rounds_overview(db.session)


@metric_bp.get("/rounds/<int:year>")
@metric_bp.doc(operationId="getRound")
@metric_bp.response(200, s.RoundSchema)
@metric_bp.alt_response(404, response=NOT_FOUND)
def round_(year: int) -> Any:
    """One round."""
    _round_or_404(year)
    return next(r for r in metric.rounds_overview(db.session) if r.round.year == year)


@listing(metric_bp, "/scores", metric.ROUND_INSTITUTIONS, s.ScoreSchema, "Scores",
         round=params.year(metadata={"description": "Year of the round (GET /rounds); default "
                                                    "the latest with scores loaded."}))
def scores(view: ListView) -> list:
    """Institutions' indices in a round (default the latest loaded), as the engine computes them.

    Filters and sorts as on /metric/<year>/institutions.
    """
    loaded = round_years(db.session)
    year = view.filters.get("round") or (loaded[-1] if loaded else None)
    rows = [] if year is None else metric.round_institutions(db.session, year)
    return order(metric.filter_institutions(rows, view.filters), view)


GROUPING = {"by": params.choice(GROUPINGS.codes, required=True, metadata={
    "description": "How the institutions are grouped."})}


@metric_bp.get("/rounds/<int:year>/aggregates")
@metric_bp.doc(operationId="getAggregates")
@metric_bp.arguments(Schema.from_dict(GROUPING, name="AggregatesArgs"), location="query")
@metric_bp.response(200, s.AggregatesSchema)
@metric_bp.alt_response(404, response=NOT_FOUND)
def aggregates(args: dict, year: int) -> dict[str, Any]:
    """A round's computed means by grouping, beside the published figures and differences."""
    by = args["by"]
    _round_or_404(year)
    return {"year": year, "by": by,
            "items": [r.row() for r in metric.summary_rows(db.session, year, by)]}


COMPARISON = {
    "from": params.year(required=True, metadata={"description": "Year of the earlier round.",
                                                  "example": 2019}),
    "to": params.year(required=True, metadata={"description": "Year of the later round.",
                                                "example": 2021}),
    "by": params.choice(GROUPINGS.codes, metadata={
        "description": "How the institutions are grouped (default state)."}),
}


@metric_bp.get("/comparisons")
@metric_bp.doc(operationId="getComparison")
@metric_bp.arguments(Schema.from_dict(COMPARISON, name="ComparisonArgs"), location="query")
@metric_bp.response(200, s.ComparisonSchema)
@metric_bp.alt_response(404, response=NOT_FOUND)
def comparisons(args: dict) -> dict[str, Any]:
    """Two rounds compared over the institutions present in both, grouped ``by`` (404 when
    either round does not exist; a round without scores matches no institution)."""
    before, after, by = args["from"], args["to"], args.get("by") or "state"
    _round_or_404(before)
    _round_or_404(after)
    _columns, rows, counts = comparison_table(db.session, before, after, by)
    return {"before": before, "after": after, "by": by, "counts": counts, "items": rows}


FIGURES = ListSpec(
    name="published_figures",
    filters={
        "round": params.year(metadata={"description": "Year of the round."}),
        "scope": params.choice(GROUPINGS.codes, metadata={"description": "What the figure is "
                                                                          "about."}),
        "index": params.choice([*s.INDICES, "GAg", "GAc", "N"], metadata={
            "description": "The index printed (N: a count)."}),
    },
    sorts={"scope": Sort((PublishedFigure.scope, PublishedFigure.scope_key)),
           "index": Sort((PublishedFigure.index_name,))},
    default_sort="scope",
)


@listing(metric_bp, "/published-figures", FIGURES, s.FigureSchema, "Figures", objects)
def published_figures(view: ListView) -> Select:
    """Figures exactly as INAI's reports printed them (to check computed results against)."""
    stmt = where_equal(select(PublishedFigure).join(MetricRound), view.filters, {
        "round": MetricRound.year, "scope": PublishedFigure.scope,
        "index": PublishedFigure.index_name,
    })
    return order(stmt, view, MetricRound.year, PublishedFigure.id)


# --- Change history ------------------------------------------------------------------------


CHANGES = ListSpec(
    name="changes",
    filters={
        "state": state_filter("changes to that state's records"),
        "commitment": id_filter("commitment"),
        "entity": params.choice(sorted(Base.metadata.tables), metadata={
            "description": "The table of the record changed."}),
        "action": params.choice(AUDIT_ACTIONS.codes, metadata={"description": "What was done."}),
    },
    sorts={"at": Sort((AuditEvent.at,), descending=True)},
    default_sort="-at",
)


@listing(history, "/changes", CHANGES, s.ChangeSchema, "Changes", objects)
def changes(view: ListView) -> Select:
    """Every recorded change, newest first: who, when, on what source, before and after."""
    stmt = where_equal(select(AuditEvent), view.filters, {
        "state": AuditEvent.state_cve, "commitment": AuditEvent.commitment_id,
        "entity": AuditEvent.entity, "action": AuditEvent.action,
    })
    tie = AuditEvent.id.desc() if view.descending else AuditEvent.id
    return order(stmt, view, tie)


# --- Sources -------------------------------------------------------------------------------


SOURCES = ListSpec(
    name="sources",
    filters={"kind": params.choice(SOURCE_KINDS.codes, metadata={
        "description": "Kind of document."})},
    sorts={"publisher": Sort(value=lambda u: (u.source.publisher, u.source.title, u.source.id)),
           "date": Sort(value=lambda u: u.source.date), "id": Sort(value=lambda u: u.source.id)},
    default_sort="publisher",
)


@listing(sources_bp, "/sources", SOURCES, s.SourceSchema, "Sources",
         link=("getSource", "source_id", "id"))
def sources(view: ListView) -> list:
    """Every registered source and how many records of each table cite it."""
    from app.sources.service import sources_list

    rows = [u for u in sources_list(db.session)
            if not view.filters.get("kind") or u.source.kind == view.filters["kind"]]
    return order(rows, view)


@sources_bp.get("/sources/<int:source_id>")
@sources_bp.doc(operationId="getSource")
@sources_bp.response(200, s.SourceSchema)
@sources_bp.alt_response(404, response=NOT_FOUND)
def source(source_id: int) -> Any:
    """One source."""
    from app.sources.service import sources_list

    found = next((u for u in sources_list(db.session) if u.source.id == source_id), None)
    if found is None:
        raise NotFound()
    return found
