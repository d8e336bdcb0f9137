"""Edit pages: parse the form, call one edit service, render (or the conflict page).

Every route needs a signed-in user (anonymous: redirect to sign in) who may edit the record's
state (otherwise 403, decided from the record in the database, never from the form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from app import records
from app.accounts.service import require_admin, require_state
from app.downloads import XLSX_MIMETYPE
from app.extensions import db
from app.metric.importer import RoundImportError
from app.models import AuditEvent, Commitment, Milestone, State
from app.params import choice, get_or_404, parse, site_path
from app.plans.service import state_tracker
from metrics import SchemeError
from metrics.readers import ReadError

from . import bp, kinds, service, sheets
from .forms import DeleteForm, MetricImportForm, MilestoneForm, RestoreForm, SpreadsheetForm


def _back(commitment_id: int) -> Response:
    return redirect(url_for("plans.commitment", commitment_id=commitment_id))


def _conflict(milestone_id: int, form: MilestoneForm) -> tuple[str, int]:
    db.session.rollback()
    conflict = service.record_conflict(db.session, Milestone, milestone_id, form.FIELDS,
                                       form.values())
    form.version.data = str(conflict.version)  # saving again re-applies over theirs
    milestone = db.session.get(Milestone, milestone_id)
    return render_template("edit/conflict.html", form=form, conflict=conflict,
                           m=milestone, c=milestone.commitment), 409


@bp.route("/commitments/<int:commitment_id>/milestones/new", methods=["GET", "POST"])
@login_required
def new_milestone(commitment_id: int) -> Any:
    c = get_or_404(db.session, Commitment, commitment_id)
    service.check_commitment(current_user, c)
    form = MilestoneForm()
    if form.validate_on_submit() and form.require_source():
        service.add_milestone(db.session, current_user, c, form.values(),
                              source=form.source(), evidence=form.evidence())
        db.session.commit()
        flash(_("Hito agregado."), "success")
        return _back(c.id)
    return render_template("edit/milestone.html", form=form, c=c, m=None)


@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@login_required
def edit_milestone(milestone_id: int) -> Any:
    m = get_or_404(db.session, Milestone, milestone_id)
    service.check_commitment(current_user, m.commitment)
    form = MilestoneForm(obj=None if _posted() else m)
    if not _posted():
        form.version.data = str(m.version)
        form.progress.data = round(m.progress * 100) if m.progress is not None else None
    if form.validate_on_submit():
        try:
            changed = service.update_milestone(
                db.session, current_user, m, form.values(), source=form.source(),
                evidence=form.evidence(), expected_version=form.expected_version(),
            )
            db.session.commit()
        except service.MissingSource:
            form.require_source()
        except (records.VersionConflict, StaleDataError):
            return _conflict(milestone_id, form)
        else:
            flash(_("Hito guardado.") if changed else _("Sin cambios."), "success")
            return _back(m.commitment_id)
    return render_template("edit/milestone.html", form=form, c=m.commitment, m=m,
                           delete_form=DeleteForm(version=str(m.version)))


@bp.post("/milestones/<int:milestone_id>/delete")
@login_required
def delete_milestone(milestone_id: int) -> Any:
    m = get_or_404(db.session, Milestone, milestone_id)
    service.check_commitment(current_user, m.commitment)
    return _delete(
        lambda form: service.delete_milestone(db.session, current_user, m, source=form.source(),
                                              expected_version=form.expected_version()),
        edit_page=url_for("edit.edit_milestone", milestone_id=milestone_id),
        done_page=url_for("plans.commitment", commitment_id=m.commitment_id),
        conflict=_("Otra persona cambió este hito mientras tanto; revise y vuelva a intentar."),
        done=_("Hito eliminado (sigue en el historial)."),
    )


def _delete(delete: Callable[[DeleteForm], Any], *, edit_page: str, done_page: str,
            conflict: str, done: str) -> Response:
    """Post a DeleteForm: ``delete`` with its source and version, then go to ``done_page``;
    on a refused form or a version conflict, back to ``edit_page`` with why (flashed)."""
    form = DeleteForm()
    if form.validate_on_submit() and form.require_source():
        try:
            delete(form)
            db.session.commit()
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            flash(conflict, "error")
            return redirect(edit_page)
        flash(done, "success")
        return redirect(done_page)
    for message in form.source_url.errors:
        flash(message, "error")
    return redirect(edit_page)


def _posted() -> bool:
    return request.method == "POST"


# --- Plans, commitments, exercise facts, secretariat members, evidence ---------------------


def _record_page(kind: kinds.Kind, form: Any, obj: Any, context: Any) -> str:
    return render_template("edit/record.html", kind=kind, form=form, obj=obj, context=context,
                           back=kind.back(obj if obj is not None else context),
                           delete_form=DeleteForm(version=str(obj.version)) if obj else None)


def _state_cve(parent: Any) -> str | None:
    return parent.cve_ent if isinstance(parent, State) else service.state_of(db.session, parent)


@bp.route("/edit/<kind>/new/<parent_key>", methods=["GET", "POST"])
@login_required
def new_record(kind: str, parent_key: str) -> Any:
    k = kinds.kind_or_404(kind)
    parent = kinds.parent_or_404(db.session, k, parent_key)
    state_cve = _state_cve(parent)
    require_state(current_user, state_cve)
    if (existing := k.existing(db.session, parent)) is not None:
        return redirect(url_for("edit.edit_record", kind=kind, obj_id=existing.id))
    form = (k.new_form or k.form)()
    k.prepare(form, parent)
    if form.validate_on_submit() and form.require_source():
        values = k.new_values(db.session, current_user, parent, form.values())
        try:
            obj = service.create_record(db.session, current_user, k.model, values,
                                        state_cve=state_cve, source=form.source())
            db.session.commit()
        except IntegrityError:
            return _duplicate(k, form, None, parent)
        flash(_("Guardado."), "success")
        return redirect(k.back(obj))
    return _record_page(k, form, None, parent)


def _duplicate(k: kinds.Kind, form: Any, obj_id: int | None, parent: Any) -> tuple[str, int]:
    """A save the database refused as a duplicate (e.g. the same member twice)."""
    db.session.rollback()
    form.form_errors.append(_("Ya existe un registro con esos datos; no se guardó."))
    obj = db.session.get(k.model, obj_id) if obj_id else None
    return _record_page(k, form, obj, obj if obj is not None else parent), 409


@bp.route("/edit/<kind>/<int:obj_id>", methods=["GET", "POST"])
@login_required
def edit_record(kind: str, obj_id: int) -> Any:
    k = kinds.kind_or_404(kind)
    obj = get_or_404(db.session, k.model, obj_id)
    service.check(db.session, current_user, obj)
    form = k.form()
    k.prepare(form, obj)
    if not _posted():
        form.load(obj)
    if form.validate_on_submit():
        try:
            changed = service.update_record(
                db.session, current_user, obj, form.values(), source=form.source(),
                expected_version=form.expected_version(),
            )
            db.session.commit()
        except service.MissingSource:
            form.require_source()
        except (records.VersionConflict, StaleDataError):
            return _record_conflict(k, obj_id, form)
        except IntegrityError:
            return _duplicate(k, form, obj_id, None)
        else:
            flash(_("Guardado.") if changed else _("Sin cambios."), "success")
            return redirect(k.back(obj))
    return _record_page(k, form, obj, obj)


def _record_conflict(k: kinds.Kind, obj_id: int, form: Any) -> tuple[str, int]:
    db.session.rollback()
    conflict = service.record_conflict(db.session, k.model, obj_id, form.FIELDS, form.values())
    form.version.data = str(conflict.version)
    obj = db.session.get(k.model, obj_id)
    return render_template(
        "edit/conflict.html", form=form, conflict=conflict,
        action=url_for("edit.edit_record", kind=k.name, obj_id=obj_id), back=k.back(obj),
        caption=k.label,
    ), 409


@bp.post("/edit/<kind>/<int:obj_id>/delete")
@login_required
def delete_record(kind: str, obj_id: int) -> Any:
    k = kinds.kind_or_404(kind)
    obj = get_or_404(db.session, k.model, obj_id)
    service.check(db.session, current_user, obj)
    return _delete(
        lambda form: service.delete_record(db.session, current_user, obj, source=form.source(),
                                           expected_version=form.expected_version()),
        edit_page=url_for("edit.edit_record", kind=kind, obj_id=obj_id),
        done_page=k.back(obj),
        conflict=_("Otra persona cambió este registro mientras tanto; revise y vuelva a "
                   "intentar."),
        done=_("Eliminado (sigue en el historial)."),
    )


@bp.get("/edit/states/<cve:cve_ent>")
@login_required
def state(cve_ent: str) -> Any:
    """An editor's desk for one state: every record they own, with its edit links."""
    st = get_or_404(db.session, State, cve_ent)
    require_state(current_user, st.cve_ent)
    return render_template("edit/state.html", state=st,
                           tracker=state_tracker(db.session, st.cve_ent))


# --- Admin: revert a single change (restore a deleted record) -----------------------------


@bp.route("/admin/events/<int:event_id>/revert", methods=["GET", "POST"])
@login_required
def revert_event(event_id: int) -> Any:
    require_admin(current_user)
    event = get_or_404(db.session, AuditEvent, event_id)
    form = RestoreForm()
    error = None
    if form.validate_on_submit() and form.require_source():
        try:
            service.revert(db.session, current_user, event, source=form.source())
            db.session.commit()
        except service.RevertError as exc:
            db.session.rollback()
            error = str(exc)
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            error = _("Otra persona cambió este registro mientras tanto; revise y vuelva a "
                      "intentar.")
        else:
            flash(_("Cambio revertido; la reversión quedó en el historial."), "success")
            return redirect(url_for("edit.revert_event", event_id=event_id))
    target = service.event_target(db.session, event)
    return render_template("edit/revert.html", event=event, form=form, error=error,
                           target=target), 200 if error is None else 409


@bp.post("/admin/records/<table>/<int:obj_id>/restore")
@login_required
def restore_record(table: str, obj_id: int) -> Any:
    require_admin(current_user)
    model = service.BY_TABLE.get(table)
    obj = db.session.get(model, obj_id, execution_options=records.WITH_DELETED) if model else None
    if obj is None:
        raise NotFound()
    form = RestoreForm()
    if form.validate_on_submit() and form.require_source():
        try:
            restored = service.restore(db.session, current_user, obj, source=form.source())
        except service.RevertError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Registro restaurado.") if restored else _("El registro no estaba eliminado."),
                  "success")
    else:
        for message in form.source_url.errors:
            flash(message, "error")
    return redirect(_referrer_path() or url_for("main.home"))


def _referrer_path() -> str | None:
    """The page the form was posted from, as a path of this site (never another host, and
    never built from the Host header): the Referer's path when it names this site."""
    parts = urlsplit(request.referrer or "")
    site = urlsplit(current_app.config["SITE_URL"]).netloc
    if parts.netloc not in (site, request.host):
        return None
    return site_path(parts.path + (f"?{parts.query}" if parts.query else ""))


@bp.route("/admin/metric/import", methods=["GET", "POST"])
@login_required
def import_round() -> Any:
    """Import a metric round from the browser: the CLI's importer, its whole report shown;
    on any error (or a dry run) the request's transaction rolls back and nothing is stored."""
    require_admin(current_user)
    limit = current_app.config.get("IMPORT_MAX_BYTES")
    # Refused before reading: a body well over the limit (the form's own fields are small).
    if limit and (request.content_length or 0) > limit + 65_536:
        raise RequestEntityTooLarge()
    form = MetricImportForm()
    report, error, status = None, None, 200
    if form.validate_on_submit():
        try:
            report = service.import_metric_round(
                db.session, current_user, form.file.data, year=form.year.data,
                fmt=form.fmt.data or None, label=form.label.data or None,
                source=form.source.data or None, strict=form.strict.data, max_bytes=limit,
            )
        except (ReadError, RoundImportError, SchemeError) as exc:
            db.session.rollback()
            error, status = str(exc), 422
        else:
            if form.dry_run.data:
                db.session.rollback()
            else:
                db.session.commit()
    return render_template("edit/import.html", form=form, report=report, error=error,
                           dry_run=form.dry_run.data), status


# --- The spreadsheet round trip -----------------------------------------------------------


@bp.get("/edit/states/<cve:cve_ent>/records.<fmt>")
@login_required
def download_sheets(cve_ent: str, fmt: str) -> Response:
    """The state's plans, commitments and milestones: XLSX (one sheet each) or one CSV
    (?sheet=plans|commitments|milestones)."""
    st = get_or_404(db.session, State, cve_ent)
    require_state(current_user, st.cve_ent)
    data = sheets.export(db.session, st.cve_ent)
    if fmt == "xlsx":
        body, mimetype, name = sheets.xlsx_bytes(data), XLSX_MIMETYPE, f"estado-{cve_ent}.xlsx"
    elif fmt == "csv":
        sheet = parse({"sheet": choice(sheets.BY_NAME, load_default="milestones")})["sheet"]
        body, mimetype = sheets.csv_text(data[sheet]), "text/csv"
        name = f"estado-{cve_ent}-{sheet}.csv"
    else:
        raise NotFound()
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/edit/states/<cve:cve_ent>/upload", methods=["GET", "POST"])
@login_required
def upload_sheets(cve_ent: str) -> Any:
    st = get_or_404(db.session, State, cve_ent)
    require_state(current_user, st.cve_ent)
    form = SpreadsheetForm()
    upload, error, changed = None, None, None
    if form.validate_on_submit():
        try:
            data = sheets.read_file(form.file.data.read(), form.file.data.filename or "")
            upload = sheets.validate(db.session, current_user, data)
            if not upload.problems:
                changed = sheets.apply(db.session, current_user, upload,
                                       source=form.source_url.data or None)
                db.session.commit()
        except sheets.UnreadableFile as exc:
            error = str(exc)
        except service.MissingSource:
            db.session.rollback()
            form.source_url.errors = [_("Indique la fuente de los cambios: sin fuente no se "
                                        "guarda.")]
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            error = _("Otra persona cambió estos registros mientras tanto; descargue de nuevo.")
    status = 422 if error or (upload and upload.problems) or form.source_url.errors else 200
    return render_template("edit/upload.html", state=st, form=form, upload=upload,
                           error=error, changed=changed), status
