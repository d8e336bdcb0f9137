"""The records an editor edits besides milestones, declared once: model, form, where a new
one hangs from (read from the URL and the database, never from the form), and where to go back.

Milestones keep their own views (they also attach evidence); everything else goes through the
generic views in ``views.py`` with these declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound
from wtforms.fields.choices import SelectChoice

from app import records
from app.accounts.service import actor_of
from app.models import ActionPlan, Commitment, Evidence, LocalExercise, State, StlMember, User
from app.params import get_or_404, path_id, state_code

from . import forms


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    form: type[forms.RecordForm]
    label: Any  # lazy text: what the record is called on its pages
    parent_model: type  # a new record hangs from one of these (by its key in the URL)
    new_values: Callable[[Session, User, Any, dict[str, Any]], dict[str, Any]]
    back: Callable[[Any], str]  # the public page of a record (or of a parent)
    # The choices a form needs from the record's context (evidence: the milestones).
    prepare: Callable[[Any, Any], None] = lambda form, context: None
    new_form: type[forms.RecordForm] | None = None
    # The record to edit instead of adding one (a state has one exercise).
    existing: Callable[[Session, Any], Any] = lambda session, parent: None


def _state_page(obj: Any) -> str:
    cve = obj.cve_ent if isinstance(obj, State) else getattr(obj, "state_cve", None) \
        or obj.exercise.state_cve
    return url_for("states.detail", cve_ent=cve)


def _plan_page(obj: Any) -> str:
    if isinstance(obj, State):
        return _state_page(obj)
    plan = obj if isinstance(obj, ActionPlan) else obj.plan
    return url_for("plans.plan", plan_id=plan.id)


def _commitment_of(obj: Any) -> Commitment:
    if isinstance(obj, Commitment):
        return obj
    return obj.commitment or obj.milestone.commitment


def _commitment_page(obj: Any) -> str:
    return url_for("plans.commitment", commitment_id=_commitment_of(obj).id)


def _commitment_back(obj: Any) -> str:
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


def _plan_key(session: Session, cve: str, values: dict) -> str:
    period = (f"{values['period_start']}-{values['period_end']}"
              if values.get("period_start") and values.get("period_end")
              else (values.get("published_date") or "")[:4])
    base = f"local-{cve}-{period}" if period else f"local-{cve}"
    taken = set(session.scalars(select(ActionPlan.key).where(ActionPlan.key.like(f"{base}%"))
                                .execution_options(**records.WITH_DELETED)))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _new_plan(session: Session, user: User, state: State, values: dict) -> dict:
    return {**values, "scope": "local", "state_cve": state.cve_ent,
            "key": _plan_key(session, state.cve_ent, values)}


def _new_commitment(session: Session, user: User, plan: ActionPlan, values: dict) -> dict:
    highest = session.scalar(select(func.max(Commitment.number))
                             .where(Commitment.plan_id == plan.id)
                             .execution_options(**records.WITH_DELETED))
    return {**values, "plan": plan, "number": (highest or 0) + 1}


def _new_member(session: Session, user: User, exercise: LocalExercise, values: dict) -> dict:
    return {**values, "exercise": exercise}


def _new_evidence(session: Session, user: User, commitment: Commitment, values: dict) -> dict:
    return {**values, "commitment": commitment, "added_by_id": user.id,
            "added_by_label": actor_of(user).name}


def _milestone_choices(form: Any, context: Any) -> None:
    commitment = _commitment_of(context)
    form.milestone_id.choices = [SelectChoice("", _l("(el compromiso en general)"))] + [
        SelectChoice(str(m.id), f"{m.number}. {m.title[:80]}") for m in commitment.milestones
    ]


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("exercise", LocalExercise, forms.ExerciseForm, _l("Ejercicio local"), State,
         _new_exercise, _state_page, existing=_exercise_of),
    Kind("member", StlMember, forms.MemberForm, _l("Integrante del Secretariado"),
         LocalExercise, _new_member, _state_page),
    Kind("plan", ActionPlan, forms.PlanForm, _l("Plan de acción"), State, _new_plan,
         _plan_page, new_form=forms.NewPlanForm),
    Kind("commitment", Commitment, forms.CommitmentForm, _l("Compromiso"), ActionPlan,
         _new_commitment, _commitment_back),
    Kind("evidence", Evidence, forms.EvidenceForm, _l("Evidencia"), Commitment,
         _new_evidence, _commitment_page, prepare=_milestone_choices),
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
