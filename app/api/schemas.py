"""Marshmallow schemas of the API's responses (the OpenAPI description is generated from them).

Unknown values are ``null`` (never 0): every field that may be unknown allows None. Fields that
show a model's column are declared by name with ``columns`` (type, required or nullable from the
column); the others (derived values, renamed rows of a service) are written out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields

from app import models as m
from app.models.base import Base
from app.opendata.package import field_type
from metrics import INDICES


def _n(cls: type[fields.Field], **kwargs: Any) -> fields.Field:
    """A field that may be null (unknown)."""
    return cls(allow_none=True, **kwargs)


def Str(**kw: Any) -> fields.Field:  # noqa: N802 - reads like a type
    return _n(fields.String, **kw)


def Int(**kw: Any) -> fields.Field:  # noqa: N802
    return _n(fields.Integer, **kw)


def Num(**kw: Any) -> fields.Field:  # noqa: N802
    return _n(fields.Float, **kw)


class UtcDateTime(fields.DateTime):
    """A stored timestamp (naive UTC) written as RFC 3339 with its offset."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def When(**kw: Any) -> fields.Field:  # noqa: N802
    return UtcDateTime(allow_none=True, **kw)


class LinksSchema(Schema):
    self = fields.String(required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    next = Str(required=True)
    prev = Str(required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list of ``item``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
        "links": fields.Nested(LinksSchema, required=True),
    }, name=name)


# --- Fields from the models' columns ------------------------------------------------------

# A column's field class, by the data package's type of the column (app.opendata.package).
FIELD_CLASSES: dict[str, type[fields.Field]] = {
    "integer": fields.Integer, "number": fields.Float, "string": fields.String,
    "boolean": fields.Boolean, "date": fields.Date, "datetime": UtcDateTime, "object": fields.Dict,
}


def columns(model: type[Base], names: str, at: str = "", **renamed: str) -> dict[str, fields.Field]:
    """Fields for columns of ``model``: typed as the column, required unless the column may be
    null (then null is allowed).

    ``names`` are the fields, separated by spaces; ``renamed`` maps a field to its column when
    the names differ (``cve_ent="state_cve"``); ``at`` is where the object sits in a row the
    service gives (``"plan."`` reads ``row.plan.title``).
    """
    out: dict[str, fields.Field] = {}
    for name in names.split():
        column = model.__table__.c[renamed.get(name, name)]
        path = at + column.name if at or column.name != name else None
        kind = FIELD_CLASSES[field_type(column)]
        out[name] = (kind(allow_none=True, attribute=path) if column.nullable
                     else kind(required=True, attribute=path))
    return out


def cited(at: str = "") -> dict[str, fields.Field]:
    """The ``source`` a row cites (an address or a citation)."""
    return {"source": Str(attribute=f"{at}source" if at else None)}


# --- Tracker ------------------------------------------------------------------------------


_STATE_FIELDS: dict[str, fields.Field] = {
    "cve_ent": fields.String(required=True, metadata={"description": "INEGI state code"}),
    **columns(m.State, "name short_name iso_3166_2"),
    **cited(),
}
StateSchema = Schema.from_dict(_STATE_FIELDS, name="State")

# A state's local co-creation exercise (one per state; null facts when unknown).
ExerciseSchema = Schema.from_dict({
    **columns(m.State, "cve_ent state", "State.", state="name"),
    **columns(m.LocalExercise, "stage declaration_date stl_installed_date status status_as_of "
              "facilitator", "LocalExercise.", status="status_text"),
    "first_plan": Str(),
    "plans": fields.Function(lambda r: r.plans or 0, required=True),
    **cited("LocalExercise."),
}, name="Exercise")


StateDetailSchema = Schema.from_dict({
    **_STATE_FIELDS,
    "exercise": fields.Nested(ExerciseSchema, allow_none=True, required=True),
}, name="StateDetail")


MemberSchema = Schema.from_dict({
    **columns(m.StlMember, "id sector name", "StlMember."),
    **columns(m.LocalExercise, "cve_ent", "LocalExercise.", cve_ent="state_cve"),
    **cited("StlMember."),
}, name="Member")


# --- The reconciliation of the programme's published counts ------------------------------

PlanInCountSchema = Schema.from_dict({
    "plan_id": fields.Integer(required=True),
    **columns(m.ActionPlan, "key title published_date"),
    "cve_ent": Str(attribute="state_cve"),
    "state": Str(attribute="state_name"),
    "commitments": Int(required=True, metadata={
        "description": "Commitments its source counts (core and proactive); null: unknown"}),
    "titled": fields.Integer(required=True, metadata={
        "description": "Its commitments recorded here with a title"}),
    **columns(m.ProgrammeCountPlan, "role basis reasoning"),
    **cited(),
}, name="PlanInCount")

CountReconciliationSchema = Schema.from_dict({
    **columns(m.ProgrammeCount, "id key as_of states_joined stl_installed plans_published "
              "commitments note", "count."),
    **cited("count."),
    "states_recorded": fields.Integer(required=True, metadata={
        "description": "States recorded here with a declaration or more, at any date"}),
    "states_recorded_by_date": Int(required=True, metadata={
        "description": "Of those, with a declaration dated on or before the count"}),
    "plans_identified": fields.Integer(required=True),
    "plans_unidentified": Int(required=True),
    "commitments_identified": Int(required=True),
    "commitments_unidentified": Int(required=True),
    "titles_recorded": fields.Integer(required=True),
    "counted": fields.List(fields.Nested(PlanInCountSchema), required=True),
    "outside": fields.List(fields.Nested(PlanInCountSchema), required=True),
    "undetermined": fields.List(fields.Nested(PlanInCountSchema), required=True),
    "explanation": fields.List(fields.String(), required=True),
}, name="CountReconciliation")

ReconciliationSchema = Schema.from_dict({
    "plans_recorded": fields.Integer(required=True),
    "commitments_published": fields.Integer(required=True, metadata={
        "description": "Commitments the recorded plans' sources count (where they do)"}),
    "plans_without_count": fields.Integer(required=True),
    "titles_recorded": fields.Integer(required=True),
    "counts": fields.List(fields.Nested(CountReconciliationSchema), required=True),
}, name="Reconciliation")


class PlanProgressSchema(Schema):
    value = Num(required=True)
    known = fields.Integer(required=True)
    total = fields.Integer(required=True)
    off_track = fields.Integer(required=True)


PLAN_COLUMNS = ("id key scope cve_ent number title period_start period_end published_date "
                "commitments_published proactive_published notes")

PlanSchema = Schema.from_dict({
    **columns(m.ActionPlan, PLAN_COLUMNS, "plan.", cve_ent="state_cve"),
    "state": Str(attribute="state_name"),
    "commitments_recorded": fields.Integer(required=True, attribute="recorded"),
    "progress": fields.Nested(PlanProgressSchema, required=True),
    **cited("plan."),
}, name="Plan")

PlanDetailSchema = Schema.from_dict({
    **columns(m.ActionPlan, PLAN_COLUMNS, cve_ent="state_cve"),
    "commitment_ids": fields.Function(lambda p: [c.id for c in p.commitments], required=True),
    **cited(),
}, name="PlanDetail")

CommitmentSchema = Schema.from_dict({
    **columns(m.Commitment, "id number label ogp_id title responsible counterpart", "c."),
    **columns(m.ActionPlan, "plan_id plan scope cve_ent", "p.",
              plan_id="id", plan="title", cve_ent="state_cve"),
    "state": Str(attribute="state_name"),
    "themes": fields.List(fields.String(), required=True),
    "progress": Num(required=True, metadata={"description": "0..1, null when unknown"}),
    "progress_state": fields.String(required=True),
    "late_milestones": fields.Integer(required=True, attribute="late"),
    **cited("c."),
}, name="Commitment")

MilestoneSchema = Schema.from_dict({
    **columns(m.Milestone, "id commitment_id number title weight start_date due_date status "
              "progress completed_on"),
    **cited(),
}, name="Milestone")

def _file_url(obj: Any) -> str | None:
    """The public address of a record's file (a download), or None without one."""
    from app.files import file_url

    return file_url(obj, external=True)


def file_fields(model: type[Base]) -> dict[str, fields.Field]:
    """A record's file: its name, size, type and SHA-256, and where it is downloaded."""
    return {
        **columns(model, "file_name file_size file_type file_sha256"),
        "file_url": fields.Function(_file_url, allow_none=True, required=True, metadata={
            "type": "string", "description": "Address of the file's download; null without a "
                                             "file"}),
    }


EvidenceSchema = Schema.from_dict({
    **columns(m.Evidence, "id commitment_id milestone_id title url dated proves added_by",
              added_by="added_by_label"),
    **file_fields(m.Evidence),
    "added_at": When(),
}, name="Evidence")

ProgressReportSchema = Schema.from_dict({
    **columns(m.ProgressReport, "id commitment_id reported_on text added_by",
              added_by="added_by_label"),
    **file_fields(m.ProgressReport),
    **cited(),
    "added_at": When(),
}, name="ProgressReport")

AssessmentSchema = Schema.from_dict({
    **columns(m.Assessment, "framework aspect value"),
    **cited(),
}, name="Assessment")

# Dumps app.plans.service.CommitmentRecord: the commitment, its progress (as the list gives
# it) and the evidence of the commitment and of its milestones.
CommitmentDetailSchema = Schema.from_dict({
    **columns(m.Commitment, "id plan_id number label ogp_id title problem objective responsible "
              "counterpart status", "commitment."),
    "progress": Num(required=True, attribute="progress.value",
                    metadata={"description": "0..1, null when unknown (as in the list)"}),
    "progress_state": fields.String(required=True, attribute="progress.state"),
    "late_milestones": fields.Integer(required=True, attribute="progress.late"),
    "themes": fields.Function(lambda r: sorted(t.theme for t in r.commitment.themes),
                              required=True),
    "sdg_goals": fields.Function(lambda r: sorted(g.goal for g in r.commitment.sdg_goals),
                                 required=True),
    "milestones": fields.List(fields.Nested(MilestoneSchema), required=True,
                              attribute="commitment.milestones"),
    "evidence": fields.List(fields.Nested(EvidenceSchema), required=True, metadata={
        "description": "Of the commitment and of its milestones, by their own date"}),
    "progress_reports": fields.List(fields.Nested(ProgressReportSchema), required=True,
                                    attribute="commitment.progress_reports"),
    "assessments": fields.List(fields.Nested(AssessmentSchema), required=True,
                               attribute="commitment.assessments"),
    **cited("commitment."),
    "updated_at": When(attribute="commitment.updated_at"),
}, name="CommitmentDetail")


# --- Metric -------------------------------------------------------------------------------


def _indices(
    suffixes: tuple[str, ...] = ("",), digits_int: tuple[str, ...] = ()
) -> dict[str, fields.Field]:
    out: dict[str, fields.Field] = {}
    for index in INDICES:
        for suffix in suffixes:
            out[f"{index}{suffix}"] = Int() if suffix in digits_int else Num()
    return out


_INSTITUTION_FIELDS = columns(m.Institution, "id key name level type cve_ent municipality_code",
                              type="kind", cve_ent="state_cve")
InstitutionSchema = Schema.from_dict(_INSTITUTION_FIELDS, name="Institution")


ScoreSchema = Schema.from_dict({
    "institution_id": fields.Integer(required=True, attribute="id"),
    "key": fields.String(required=True),
    "name": fields.String(required=True),
    "level": fields.String(required=True),
    "level_label": fields.String(required=True),
    "type": fields.String(required=True, attribute="kind"),
    "type_label": fields.String(required=True, attribute="kind_label"),
    "cve_ent": Str(attribute="state"),
    "state": fields.String(required=True, attribute="state_name"),
    **_indices(),
    "rank": Int(metadata={"description": "GA rank in the round (ties share the best rank)"}),
}, name="Score")

InstitutionRoundSchema = Schema.from_dict({
    "year": fields.Integer(required=True),
    **_indices(),
    "GAg": Num(), "GAc": Num(),
    "rank": Int(), "ranked": fields.Integer(required=True),
    "national_GA": Num(), "kind_GA": Num(),
}, name="InstitutionRound")


InstitutionDetailSchema = Schema.from_dict({
    **_INSTITUTION_FIELDS,
    "aliases": fields.Function(lambda i: sorted(a.name for a in i["aliases"]), required=True),
    "rounds": fields.List(fields.Nested(InstitutionRoundSchema), required=True),
}, name="InstitutionDetail")


RoundSchema = Schema.from_dict({
    **columns(m.MetricRound, "year label notes imported_file imported_sha256 imported_at",
              "round."),
    "weight_scheme": fields.Dict(allow_none=True, attribute="round.weight_scheme"),
    **cited("round."),
    "scores": fields.Integer(required=True),
    "computed": fields.Dict(keys=fields.String(), values=Num(), required=True),
    "published": fields.Dict(keys=fields.String(), values=Num(), required=True),
}, name="Round")


AggregateSchema = Schema.from_dict({
    "key": fields.String(required=True),
    "name": fields.String(required=True),
    "n": fields.Integer(required=True),
    "n_published": Int(),
    **_indices(("", "_published", "_difference", "_min", "_max", "_rank"), ("_rank",)),
}, name="Aggregate")


class AggregatesSchema(Schema):
    year = fields.Integer(required=True)
    by = fields.String(required=True)
    items = fields.List(fields.Nested(AggregateSchema), required=True)


COMPARED = ("GA", "T", "P")
ComparisonRowSchema = Schema.from_dict({
    "key": fields.String(required=True),
    "name": fields.String(required=True),
    "n_matched": Int(), "entered": Int(), "left": Int(),
    **{f"{i}_{part}": (Int() if "rank" in part else Num())
       for i in COMPARED
       for part in ("before", "after", "delta", "rank_before", "rank_after", "rank_change")},
}, name="ComparisonRow")


class ComparisonSchema(Schema):
    before = fields.Integer(required=True, data_key="from")
    after = fields.Integer(required=True, data_key="to")
    by = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    items = fields.List(fields.Nested(ComparisonRowSchema), required=True)


FigureSchema = Schema.from_dict({
    **columns(m.PublishedFigure, "id scope scope_key index value decimals note",
              index="index_name"),
    **columns(m.MetricRound, "year", "round."),
    **cited(),
}, name="Figure")


# --- History ------------------------------------------------------------------------------


ChangeSchema = Schema.from_dict({
    **columns(m.AuditEvent, "id actor action entity entity_id cve_ent commitment_id summary "
              "source before after", cve_ent="state_cve"),
    "at": When(required=True),
}, name="Change")

SourceSchema = Schema.from_dict({
    **columns(m.Source, "id key publisher title date url kind note", "source."),
    "cited_by": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            attribute="uses",
                            metadata={"description": "table -> records that cite it"}),
}, name="Source")
