"""Fieldwork pages: run a round from the browser.

Each view parses its input (a form, the path), calls one page service (``pages``) or service,
and renders; the request owns the transaction (commit on success, rollback on a refusal). The
role in the round is checked by the services on every read and write: a coordinator's round
page, a coder's institutions and capture form (only theirs: another's is 403), the reviewer's
disagreements and settlement form. The round's results, its methodology and its anonymised
fieldwork (once frozen) are public.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from app import records
from app.extensions import db
from app.params import choice, parse
from app.schema.records import RECONCILIATION
from app.states.service import state_names
from common.codes import FIELDWORK_ROLES, INSTITUTION_TYPES, LEVELS, SAMPLE_METHODS

from . import bp, pages, service
from .forms import (
    AssignForm,
    ConfirmForm,
    MemberForm,
    SampleForm,
    SettleForm,
    answer_label,
    capture_form,
    conflict_rows,
)
from .guard import RoundFrozen
from .messages import (
    BASIS_LABELS,
    CHANNEL_LABELS,
    EVIDENCE_LABELS,
    RULE_LABELS,
    SPEED_LABELS,
    message,
)

REFUSALS = (service.FieldworkError, RoundFrozen)


@bp.context_processor
def labels() -> dict[str, Any]:
    return {"ROLES": FIELDWORK_ROLES, "SAMPLE_METHODS": SAMPLE_METHODS,
            "LEVELS": LEVELS, "TYPES": INSTITUTION_TYPES, "SPEED": SPEED_LABELS,
            "CHANNELS": CHANNEL_LABELS, "RULES": RULE_LABELS, "BASES": BASIS_LABELS,
            "EVIDENCE": EVIDENCE_LABELS, "answer_label": answer_label}


def _round(year: int) -> Any:
    return pages.round_or_404(db.session, year)


# --- Public ----------------------------------------------------------------------------------


@bp.get("/fieldwork/")
def index() -> str:
    return render_template("fieldwork/index.html",
                           rounds=pages.rounds_index(db.session, current_user))


@bp.get("/fieldwork/<int:year>")
def round_public(year: int) -> str:
    fw = _round(year)
    roles = (service.roles_of(db.session, current_user, fw)
             if current_user.is_authenticated else set())
    return render_template("fieldwork/round.html", page=pages.public_round(db.session, fw),
                           roles=roles)


@bp.get("/fieldwork/<int:year>/methodology")
def methodology(year: int) -> str:
    return render_template("fieldwork/methodology.html",
                           page=pages.methodology_page(_round(year)))


@bp.get("/fieldwork/<int:year>/fieldwork.json")
def data(year: int) -> Response:
    """A frozen round's fieldwork, anonymised: what ``flask metric fieldwork compute`` reads."""
    body = pages.public_data(db.session, _round(year))
    return Response(json.dumps(body, ensure_ascii=False, indent=1) + "\n",
                    mimetype="application/json", headers={
                        "Content-Disposition":
                            f'attachment; filename="trabajo-de-campo-{year}.json"'})


# --- The coordinator's round page ---------------------------------------------------------------


def _manage(fw: Any, status: int = 200, **forms: Any) -> tuple[str, int]:
    page = pages.round_page(db.session, current_user, fw)
    member_form = forms.get("member_form") or MemberForm(formdata=None)
    sample_form = forms.get("sample_form") or SampleForm(formdata=None)
    sample_form.offer_states(state_names(db.session))
    assign_form = forms.get("assign_form") or AssignForm(
        formdata=None, coders=[c.user_id for c in page.coders],
        double_share=fw.double_share)
    assign_form.coders.choices = [(c.user_id, f"{c.name} ({c.email})") for c in page.coders]
    return render_template(
        "fieldwork/manage.html", page=page, member_form=member_form, sample_form=sample_form,
        assign_form=assign_form, freeze_form=forms.get("freeze_form") or ConfirmForm(
            formdata=None, prefix="freeze"),
        publish_form=forms.get("publish_form") or ConfirmForm(formdata=None, prefix="publish"),
        error=forms.get("error"), error_at=forms.get("error_at"),
    ), status


def _refused(fw: Any, exc: Exception, at: str, **forms: Any) -> tuple[str, int]:
    db.session.rollback()
    return _manage(fw, 422, error=message(exc), error_at=at, **forms)


@bp.get("/fieldwork/<int:year>/manage")
@login_required
def manage(year: int) -> tuple[str, int]:
    return _manage(_round(year))


@bp.post("/fieldwork/<int:year>/members")
@login_required
def add_member(year: int) -> Any:
    fw = _round(year)
    form = MemberForm()
    if not form.validate_on_submit():
        return _manage(fw, 422, member_form=form)
    try:
        added = pages.give_role(db.session, current_user, fw, form.email.data or "",
                                form.role.data or "")
    except REFUSALS as exc:
        return _refused(fw, exc, "members", member_form=form)
    db.session.commit()
    flash(_("Papel asignado.") if added else _("La cuenta ya tenía ese papel."), "success")
    return redirect(url_for(".manage", year=year) + "#miembros")


@bp.post("/fieldwork/<int:year>/sample")
@login_required
def sample(year: int) -> Any:
    fw = _round(year)
    form = SampleForm()
    form.offer_states(state_names(db.session))
    if not form.validate_on_submit() or not (form.keys() or form.count.data):
        if form.is_submitted() and not form.errors:
            form.listed.errors = [_("Liste claves o indique una cuota.")]
        return _manage(fw, 422, sample_form=form)
    quotas = [service.Quota(form.count.data, form.state.data or None, form.level.data or None,
                            form.kind.data or None)] if form.count.data else []
    try:
        result = service.draw_sample(db.session, current_user, fw, quotas=quotas,
                                     listed=form.keys())
    except REFUSALS as exc:
        return _refused(fw, exc, "sample", sample_form=form)
    db.session.commit()
    flash(_("Muestra: %(added)s instituciones agregadas, %(already)s ya estaban; %(size)s en "
            "total.", added=result.added, already=result.already, size=result.size), "success")
    for quota in result.quotas:
        if quota.short:
            flash(_("La cuota pedía %(wanted)s y el registro solo tiene %(available)s.",
                    wanted=quota.wanted, available=quota.available), "error")
    return redirect(url_for(".manage", year=year) + "#muestra")


@bp.post("/fieldwork/<int:year>/assign")
@login_required
def assign(year: int) -> Any:
    fw = _round(year)
    form = AssignForm()
    page_coders = pages.round_page(db.session, current_user, fw).coders
    form.coders.choices = [(c.user_id, c.name) for c in page_coders]
    if not form.validate_on_submit():
        return _manage(fw, 422, assign_form=form)
    try:
        result = pages.assign(db.session, current_user, fw, form.coders.data or [],
                              form.double_share.data)
    except REFUSALS as exc:
        return _refused(fw, exc, "assign", assign_form=form)
    db.session.commit()
    flash(_("Asignaciones: %(n)s nuevas; %(double)s instituciones con doble codificación.",
            n=result.assigned, double=result.double_coded), "success")
    return redirect(url_for(".manage", year=year) + "#asignacion")


@bp.post("/fieldwork/<int:year>/freeze")
@login_required
def freeze(year: int) -> Any:
    fw = _round(year)
    form = ConfirmForm(prefix="freeze")
    if not form.validate_on_submit():
        return _manage(fw, 422, freeze_form=form)
    try:
        result = service.freeze(db.session, current_user, fw)
    except REFUSALS as exc:
        return _refused(fw, exc, "freeze", freeze_form=form)
    db.session.commit()
    flash(_("Ronda %(year)s congelada con %(n)s instituciones: ya no puede cambiar.",
            year=result.year, n=result.institutions), "success")
    return redirect(url_for(".manage", year=year) + "#cierre")


@bp.post("/fieldwork/<int:year>/publish")
@login_required
def publish(year: int) -> Any:
    fw = _round(year)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return _manage(fw, 422, publish_form=form)
    try:
        result = service.publish(db.session, current_user, fw)
    except REFUSALS as exc:
        return _refused(fw, exc, "publish", publish_form=form)
    db.session.commit()
    flash(_("Publicada como la ronda %(year)s de la Métrica: %(created)s resultados nuevos, "
            "%(updated)s cambiados, %(unchanged)s sin cambios.", year=result.year,
            created=result.created, updated=result.updated, unchanged=result.unchanged),
          "success")
    return redirect(url_for(".round_public", year=year))


@bp.get("/fieldwork/<int:year>/progress.csv")
@login_required
def progress_csv(year: int) -> Response:
    by = parse({"by": choice(service.PROGRESS_BY, load_default="state")})["by"]
    result = service.progress(db.session, current_user, _round(year), by)
    return Response(result.csv(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="avance-{year}-{by}.csv"'})


# --- A coder's pages --------------------------------------------------------------------------


@bp.get("/fieldwork/<int:year>/mine")
@login_required
def mine(year: int) -> str:
    fw = _round(year)
    return render_template("fieldwork/mine.html", round=fw,
                           rows=service.my_institutions(db.session, current_user, fw))


@bp.route("/fieldwork/<int:year>/institutions/<int:institution_id>", methods=["GET", "POST"])
@login_required
def capture(year: int, institution_id: int) -> Any:
    fw = _round(year)
    page = pages.capture_page(db.session, current_user, fw, institution_id)
    form = capture_form(page.rows)
    status, conflicts = 200, form.conflicts() if form.is_submitted() else {}
    if not form.is_submitted():
        form.load(page.rows)
    elif form.validate_on_submit():
        changes = form.changes(service.calendar_of(fw))
        if changes is None:
            status = 422
        elif not changes:
            flash(_("Sin cambios."), "success")
            return redirect(url_for(".capture", year=year, institution_id=institution_id))
        else:
            try:
                saved = pages.save_capture(db.session, current_user, fw, institution_id,
                                           changes)
            except REFUSALS as exc:
                db.session.rollback()
                _field_error(form, exc)
                status = 422
            except (records.VersionConflict, StaleDataError):
                db.session.rollback()
                form.form_errors.append(_("Otra sesión cambió estas respuestas mientras tanto; "
                                          "vuelva a abrir la página."))
                status = 409
            else:
                if saved.saved:
                    db.session.commit()
                    flash(_("Guardado: %(created)s respuestas nuevas, %(updated)s cambiadas.",
                            created=saved.created, updated=saved.updated), "success")
                    return redirect(url_for(".capture", year=year,
                                            institution_id=institution_id))
                events = {r.unit: r.last_event for r in page.rows}
                conflicts = form.show_conflicts(saved.conflicts, events)
                status = 409
    else:
        status = 422
    if form.missing_choice:
        status = 409
    return render_template("fieldwork/capture.html", page=page, form=form, conflicts=conflicts,
                           frozen=fw.frozen_at is not None), status


def _field_error(form: Any, exc: Exception) -> None:
    """A refusal from the service, on the input it names (``<unit>.<field>``) if there is one."""
    where = getattr(exc, "field", None) or ""
    unit, _dot, name = where.partition(".")
    target = form._fields.get(f"{unit}__{name}") if unit else None
    if target is not None:
        target.errors = [*target.errors, message(exc)]
    else:
        form.form_errors.append(message(exc))


# --- The reviewer's pages ---------------------------------------------------------------------


@bp.get("/fieldwork/<int:year>/disagreements")
@login_required
def disagreements(year: int) -> str:
    return render_template("fieldwork/disagreements.html",
                           page=pages.disagreements_page(db.session, current_user, _round(year)))


@bp.route("/fieldwork/<int:year>/disagreements/<int:institution_id>/<item>/<int:occasion>",
          methods=["GET", "POST"])
@login_required
def settle(year: int, institution_id: int, item: str, occasion: int) -> Any:
    fw = _round(year)
    page = pages.settle_page(db.session, current_user, fw, institution_id, item, occasion)
    form = SettleForm()
    form.offer(page.item, service.calendar_of(fw))
    status, conflict = 200, None
    if not form.is_submitted() and page.reconciliation is not None:
        form.load(page.reconciliation, page.last_event)
    elif not form.is_submitted():  # read as unsettled: a settlement saved meanwhile conflicts
        form.load(SimpleNamespace(version=0, **dict.fromkeys(form.FIELDS)), None)
    elif form.validate():
        try:
            pages.settle(db.session, current_user, fw, institution_id, item, occasion,
                         form.values(), expected_version=form.expected_version() or 0)
        except REFUSALS as exc:
            db.session.rollback()
            _settle_error(form, exc)
            status = 422
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            base = form.read_base() or ({}, None)
            conflict = pages.settle_conflict(db.session, fw, institution_id, item, occasion,
                                             form.values(), base)
            form.set_values(conflict.merged)
            form.load_base({f.name: f.current for f in conflict.fields}, conflict.version,
                           None, [f.name for f in conflict.to_choose], base)
            page = pages.settle_page(db.session, current_user, fw, institution_id, item,
                                     occasion)
            status = 409
        else:
            db.session.commit()
            flash(_("Conciliado: «%(item)s» de %(institution)s.", item=page.item.label,
                    institution=page.institution.name), "success")
            return redirect(url_for(".disagreements", year=year))
    else:
        status = 409 if form.missing_choice else 422
    return render_template(
        "fieldwork/settle.html", page=page, form=form, frozen=fw.frozen_at is not None,
        conflict=conflict_rows(RECONCILIATION, conflict) if conflict is not None else None,
    ), status


def _settle_error(form: Any, exc: Exception) -> None:
    name = getattr(exc, "field", None)
    if name in form.FIELDS:
        form[name].errors = [*form[name].errors, message(exc)]
    else:
        form.form_errors.append(message(exc))


@bp.errorhandler(RoundFrozen)
def frozen(exc: RoundFrozen) -> tuple[str, int]:
    """A change to a frozen round that no form expected: said, never a server error."""
    db.session.rollback()
    return render_template("fieldwork/frozen.html", text=message(exc)), 409

