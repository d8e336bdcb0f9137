"""Marshmallow schemas of the API's responses (the OpenAPI description is generated from them).

Unknown values are ``null`` (never 0): every field that may be unknown allows None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields

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


# --- Tracker ------------------------------------------------------------------------------


class StateSchema(Schema):
    cve_ent = fields.String(required=True, metadata={"description": "INEGI state code"})
    name = fields.String(required=True)
    short_name = fields.String(required=True)
    iso_3166_2 = fields.String(required=True)
    source = Str()


class ExerciseSchema(Schema):
    """A state's local co-creation exercise (one per state; null facts when unknown)."""

    cve_ent = fields.String(required=True, attribute="State.cve_ent")
    state = fields.String(required=True, attribute="State.name")
    stage = Str(attribute="LocalExercise.stage")
    declaration_date = Str(attribute="LocalExercise.declaration_date")
    stl_installed_date = Str(attribute="LocalExercise.stl_installed_date")
    first_plan = Str(attribute="first_plan")
    plans = fields.Function(lambda r: r.plans or 0, required=True)
    status = Str(attribute="LocalExercise.status_text")
    status_as_of = Str(attribute="LocalExercise.status_as_of")
    facilitator = Str(attribute="LocalExercise.facilitator")
    source = Str(attribute="LocalExercise.source")


class StateDetailSchema(StateSchema):
    exercise = fields.Nested(ExerciseSchema, allow_none=True, required=True)


class MemberSchema(Schema):
    id = fields.Integer(required=True, attribute="StlMember.id")
    cve_ent = fields.String(required=True, attribute="LocalExercise.state_cve")
    sector = fields.String(required=True, attribute="StlMember.sector")
    name = fields.String(required=True, attribute="StlMember.name")
    source = Str(attribute="StlMember.source")


class PlanProgressSchema(Schema):
    value = Num(required=True)
    known = fields.Integer(required=True)
    total = fields.Integer(required=True)
    off_track = fields.Integer(required=True)


class PlanSchema(Schema):
    id = fields.Integer(required=True, attribute="plan.id")
    key = fields.String(required=True, attribute="plan.key")
    scope = fields.String(required=True, attribute="plan.scope")
    cve_ent = Str(attribute="plan.state_cve")
    state = Str(attribute="state_name")
    number = Int(attribute="plan.number")
    title = fields.String(required=True, attribute="plan.title")
    period_start = Int(attribute="plan.period_start")
    period_end = Int(attribute="plan.period_end")
    published_date = Str(attribute="plan.published_date")
    commitments_published = Int(attribute="plan.commitments_published")
    proactive_published = Int(attribute="plan.proactive_published")
    commitments_recorded = fields.Integer(required=True, attribute="recorded")
    progress = fields.Nested(PlanProgressSchema, required=True)
    notes = Str(attribute="plan.notes")
    source = Str(attribute="plan.source")


class CommitmentSchema(Schema):
    id = fields.Integer(required=True, attribute="c.id")
    plan_id = fields.Integer(required=True, attribute="p.id")
    plan = fields.String(required=True, attribute="p.title")
    scope = fields.String(required=True, attribute="p.scope")
    cve_ent = Str(attribute="p.state_cve")
    state = Str(attribute="state_name")
    number = fields.Integer(required=True, attribute="c.number")
    label = Str(attribute="c.label")
    ogp_id = Str(attribute="c.ogp_id")
    title = fields.String(required=True, attribute="c.title")
    responsible = Str(attribute="c.responsible")
    counterpart = Str(attribute="c.counterpart")
    themes = fields.List(fields.String(), required=True)
    progress = Num(required=True, metadata={"description": "0..1, null when unknown"})
    progress_state = fields.String(required=True)
    late_milestones = fields.Integer(required=True, attribute="late")
    source = Str(attribute="c.source")


class MilestoneSchema(Schema):
    id = fields.Integer(required=True)
    commitment_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    weight = Num()
    start_date = _n(fields.Date)
    due_date = _n(fields.Date)
    status = fields.String(required=True)
    progress = Num()
    completed_on = _n(fields.Date)
    source = Str()


class EvidenceSchema(Schema):
    id = fields.Integer(required=True)
    commitment_id = Int()
    milestone_id = Int()
    title = fields.String(required=True)
    url = Str()
    file_ref = Str()
    added_by = Str(attribute="added_by_label")
    added_at = When()


class AssessmentSchema(Schema):
    framework = fields.String(required=True)
    aspect = fields.String(required=True)
    value = fields.String(required=True)
    source = Str()


class CommitmentDetailSchema(Schema):
    id = fields.Integer(required=True)
    plan_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    label = Str()
    ogp_id = Str()
    title = fields.String(required=True)
    problem = Str()
    objective = Str()
    responsible = Str()
    counterpart = Str()
    status = Str()
    themes = fields.Function(lambda c: sorted(t.theme for t in c.themes), required=True)
    sdg_goals = fields.Function(lambda c: sorted(g.goal for g in c.sdg_goals), required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    assessments = fields.List(fields.Nested(AssessmentSchema), required=True)
    source = Str()
    updated_at = When()


class PlanDetailSchema(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    scope = fields.String(required=True)
    cve_ent = Str(attribute="state_cve")
    number = Int()
    title = fields.String(required=True)
    period_start = Int()
    period_end = Int()
    published_date = Str()
    commitments_published = Int()
    proactive_published = Int()
    commitment_ids = fields.Function(lambda p: [c.id for c in p.commitments], required=True)
    notes = Str()
    source = Str()


# --- Metric -------------------------------------------------------------------------------


def _indices(suffixes: tuple[str, ...] = ("",), digits_int: tuple[str, ...] = ()) -> dict:
    out: dict[str, fields.Field] = {}
    for index in INDICES:
        for suffix in suffixes:
            out[f"{index}{suffix}"] = Int() if suffix in digits_int else Num()
    return out


class InstitutionSchema(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    type = fields.String(required=True, attribute="kind")
    cve_ent = Str(attribute="state_cve")
    municipality_code = Str()


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


class InstitutionDetailSchema(InstitutionSchema):
    aliases = fields.Function(lambda i: sorted(a.name for a in i["aliases"]), required=True)
    rounds = fields.List(fields.Nested(InstitutionRoundSchema), required=True)


class RoundSchema(Schema):
    year = fields.Integer(required=True, attribute="round.year")
    label = fields.String(required=True, attribute="round.label")
    source = Str(attribute="round.source")
    notes = Str(attribute="round.notes")
    weight_scheme = fields.Dict(allow_none=True, attribute="round.weight_scheme")
    imported_file = Str(attribute="round.imported_file")
    imported_sha256 = Str(attribute="round.imported_sha256")
    imported_at = When(attribute="round.imported_at")
    scores = fields.Integer(required=True)
    computed = fields.Dict(keys=fields.String(), values=Num(), required=True)
    published = fields.Dict(keys=fields.String(), values=Num(), required=True)


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


class FigureSchema(Schema):
    id = fields.Integer(required=True)
    year = fields.Integer(required=True, attribute="round.year")
    scope = fields.String(required=True)
    scope_key = fields.String(required=True)
    index = fields.String(required=True, attribute="index_name")
    value = fields.Float(required=True)
    decimals = Int()
    note = Str()
    source = Str()


# --- History ------------------------------------------------------------------------------


class ChangeSchema(Schema):
    id = fields.Integer(required=True)
    at = When(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    entity = fields.String(required=True)
    entity_id = fields.String(required=True)
    cve_ent = Str(attribute="state_cve")
    commitment_id = Int()
    summary = Str()
    source = Str()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class SourceSchema(Schema):
    id = fields.Integer(required=True, attribute="source.id")
    key = fields.String(required=True, attribute="source.key")
    publisher = fields.String(required=True, attribute="source.publisher")
    title = fields.String(required=True, attribute="source.title")
    date = Str(attribute="source.date")
    url = Str(attribute="source.url")
    kind = fields.String(required=True, attribute="source.kind")
    note = Str(attribute="source.note")
    cited_by = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           attribute="uses",
                           metadata={"description": "table -> records that cite it"})
