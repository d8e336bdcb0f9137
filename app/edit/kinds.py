"""Every kind of record an editor edits, declared once: its schema (app/schema), where a new
one hangs from (read from the URL and the database, never from the form), its public page and
where to go after deleting it. The generic views in ``views.py`` do the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3 has it, types-WTForms 3.2 not

from app import records
from app.models import (
    ActionPlan,
    Base,
    Commitment,
    LocalExercise,
    State,
    StlMember,
    User,
)
from app.params import get_or_404, path_id, state_code
from app.schema import RecordSchema
from app.schema.records import SCHEMAS, authorship, free_plan_key, next_number

from . import forms


@dataclass(frozen=True)
class Kind:
    name: str
    parent_model: type[Base]  # a new record hangs from one of these (by its key in the URL)
    new_values: Callable[[Session, User, Any, dict[str, Any]], dict[str, Any]]
    page: Callable[[Any], str]  # the public page showing a record (or a parent)
    # The public page to land on once the record is deleted: its parent's.
    after_delete: Callable[[Any], str]
    # The choices a form needs from the record's context (evidence: the milestones).
    prepare: Callable[[Any, Any], None] = lambda form, context: None
    # The record to edit instead of adding one (a state has one exercise).
    existing: Callable[[Session, Any], Any] = lambda session, parent: None
    # What belongs to the record's new parent when one is created (evidence of a milestone).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> RecordSchema:
        return SCHEMAS[self.name]

    @property
    def model(self) -> type[Base]:
        return self.schema.model

    @property
    def label(self) -> Any:
        return self.schema.label

    def form(self, *, new: bool = False) -> type[forms.RecordForm]:
        return forms.record_form(self.name, new=new)


def _state_page(obj: Any) -> str:
    if isinstance(obj, State):
        cve = obj.cve_ent
    elif isinstance(obj, StlMember):
        cve = obj.exercise.state_cve
    else:
        cve = obj.state_cve
    return url_for("states.detail", cve_ent=cve)


def _plan_page(obj: Any) -> str:
    if isinstance(obj, State):
        return _state_page(obj)
    plan = obj if isinstance(obj, ActionPlan) else obj.plan
    return url_for("plans.plan", plan_id=plan.id)


def _plan_parent_page(plan: ActionPlan) -> str:
    """Where a plan lives: its state's page, or the plans list for a national plan."""
    if plan.state_cve:
        return url_for("states.detail", cve_ent=plan.state_cve)
    return url_for("plans.plans")


def _commitment_of(obj: Any) -> Commitment:
    if isinstance(obj, Commitment):
        return obj
    commitment: Commitment = obj.commitment or obj.milestone.commitment
    return commitment


def _commitment_page(obj: Any) -> str:
    return url_for("plans.commitment", commitment_id=_commitment_of(obj).id)


def _commitment_or_plan_page(obj: Any) -> str:
    return _plan_page(obj) if isinstance(obj, ActionPlan) else _commitment_page(obj)


def _exercise_of(session: Session, state: State) -> LocalExercise | None:
    return session.scalars(
        select(LocalExercise).where(LocalExercise.state_cve == state.cve_ent)
    ).one_or_none()


def _new_exercise(session: Session, user: User, state: State, values: dict) -> dict:
    if session.scalars(select(LocalExercise).where(LocalExercise.state_cve == state.cve_ent)
                       .execution_options(**records.WITH_DELETED)).first() is not None:
        raise NotFound()  # one exercise per state: edit it (or restore it) instead
    return {**values, "state_cve": state.cve_ent}


def _new_plan(session: Session, user: User, state: State, values: dict) -> dict:
    return {**values, "scope": "local", "state_cve": state.cve_ent,
            "key": free_plan_key(session, state.cve_ent, values)}


def _new_commitment(session: Session, user: User, plan: ActionPlan, values: dict) -> dict:
    return {**values, "plan": plan,
            "number": next_number(session, SCHEMAS["commitment"], plan.id)}


def _new_milestone(session: Session, user: User, commitment: Commitment, values: dict) -> dict:
    return {**values, "commitment": commitment,
            "number": next_number(session, SCHEMAS["milestone"], commitment.id)}


def _new_member(session: Session, user: User, exercise: LocalExercise, values: dict) -> dict:
    return {**values, "exercise": exercise}


def _new_evidence(session: Session, user: User, commitment: Commitment, values: dict) -> dict:
    milestone_id = values.get("milestone_id")
    if milestone_id is not None and milestone_id not in {m.id for m in commitment.milestones}:
        raise NotFound()  # a milestone of another commitment
    return {**values, "commitment": commitment, **authorship(user)}


def _new_progress(session: Session, user: User, commitment: Commitment, values: dict) -> dict:
    return {**values, "commitment": commitment, **authorship(user)}


def _milestone_choices(form: Any, context: Any) -> None:
    commitment = _commitment_of(context)
    form.milestone_id.choices = [SelectChoice("", _l("(el compromiso en general)"))] + [
        SelectChoice(str(m.id), f"{m.number}. {m.title[:80]}") for m in commitment.milestones
    ]


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("exercise", State, _new_exercise, _state_page, _state_page, existing=_exercise_of),
    Kind("member", LocalExercise, _new_member, _state_page, _state_page),
    Kind("plan", State, _new_plan, _plan_page, _plan_parent_page),
    Kind("commitment", ActionPlan, _new_commitment, _commitment_or_plan_page,
         lambda c: _plan_page(c.plan)),
    Kind("milestone", Commitment, _new_milestone, _commitment_page, _commitment_page),
    Kind("evidence", Commitment, _new_evidence, _commitment_page, _commitment_page,
         prepare=_milestone_choices),
    Kind("progress", Commitment, _new_progress, _commitment_page, _commitment_page),
)}


def kind_or_404(name: str) -> Kind:
    if name not in KINDS:
        raise NotFound()
    return KINDS[name]


def parent_or_404(session: Session, kind: Kind, key: str) -> Any:
    """The record a new ``kind`` hangs from, by its key in the URL (a state code or an id)."""
    if kind.parent_model is State:
        return get_or_404(session, State, state_code(key))
    return get_or_404(session, kind.parent_model, path_id(key))
