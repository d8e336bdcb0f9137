"""Edit pages: parse the form, call one edit service, render (or the conflict page).

Every route needs a signed-in user (anonymous: redirect to sign in) who may edit the record's
state (otherwise 403, decided from the record in the database, never from the form).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from app import records
from app.accounts.service import require_admin, require_state
from app.downloads import XLSX_MIMETYPE
from app.extensions import db
from app.listing import download, parse_list, wants_download
from app.metric.importer import RoundImportError
from app.models import AuditEvent, State
from app.params import choice, get_or_404, parse, site_path
from app.schema.history import describe
from common.codes import DESK_DUE, DESK_SOON_DAYS, DESK_STALE_DAYS, PROGRESS_STATES
from metrics import SchemeError
from metrics.readers import ReadError

from . import bp, desk, kinds, recycle, service, sheets
from .forms import DeleteForm, MetricImportForm, RestoreForm, SpreadsheetForm, conflict_rows

# Milestones are edited like every other kind; their former addresses still lead there.


@bp.get("/commitments/<int:commitment_id>/milestones/new")
def new_milestone(commitment_id: int) -> Response:
    return redirect(url_for("edit.new_record", kind="milestone", parent_key=commitment_id), 308)


@bp.get("/milestones/<int:milestone_id>/edit")
def edit_milestone(milestone_id: int) -> Response:
    return redirect(url_for("edit.edit_record", kind="milestone", obj_id=milestone_id), 308)


def _posted() -> bool:
    return request.method == "POST"


def _record_page(kind: kinds.Kind, form: Any, obj: Any, context: Any) -> str:
    return render_template("edit/record.html", kind=kind, form=form, obj=obj, context=context,
                           back=kind.page(obj if obj is not None else context),
                           delete_form=DeleteForm(version=str(obj.version)) if obj else None)


def _refuse_oversized() -> None:
    """413 before reading a body far larger than a file may be (the form's own fields are
    small): a file just over the limit gets the form's message instead."""
    if (request.content_length or 0) > current_app.config["EVIDENCE_MAX_BYTES"] + 65_536:
        raise RequestEntityTooLarge()


def _state_cve(parent: Any) -> str | None:
    return parent.cve_ent if isinstance(parent, State) else service.state_of(db.session, parent)


def _refused(form: Any, exc: service.Refused) -> None:
    for name, message in exc.problems:
        target = form._fields.get(name)
        if target is not None:
            target.errors = [*target.errors, str(message)]
        else:
            form.form_errors.append(str(message))


@bp.route("/edit/<kind>/new/<parent_key>", methods=["GET", "POST"])
@login_required
def new_record(kind: str, parent_key: str) -> Any:
    k = kinds.kind_or_404(kind)
    parent = kinds.parent_or_404(db.session, k, parent_key)
    state_cve = _state_cve(parent)
    require_state(current_user, state_cve)
    if (existing := k.existing(db.session, parent)) is not None:
        return redirect(url_for("edit.edit_record", kind=kind, obj_id=existing.id))
    _refuse_oversized()
    form = k.form(new=True)()
    k.prepare(form, parent)
    if form.validate_on_submit() and form.require_source():
        values = k.new_values(db.session, current_user, parent, form.values())
        try:
            obj = service.create_record(db.session, current_user, k.schema, values,
                                        state_cve=state_cve, source=form.source(),
                                        evidence=form.evidence(), upload=form.upload)
            db.session.commit()
        except IntegrityError:
            return _duplicate(k, form, None, parent)
        except service.Refused as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            flash(_("Guardado."), "success")
            return redirect(k.page(obj))
    return _record_page(k, form, None, parent)


def _duplicate(k: kinds.Kind, form: Any, obj_id: int | None, parent: Any) -> tuple[str, int]:
    """A save the database refused as a duplicate (e.g. the same member twice)."""
    db.session.rollback()
    form.form_errors.append(_("Ya existe un registro con esos datos; no se guardó."))
    obj = db.session.get(k.model, obj_id) if obj_id else None
    return _record_page(k, form, obj, obj if obj is not None else parent), 409


def _last_event(k: kinds.Kind, obj_id: int) -> int | None:
    return db.session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.entity == k.model.__tablename__, AuditEvent.entity_id == str(obj_id)))


@bp.route("/edit/<kind>/<int:obj_id>", methods=["GET", "POST"])
@login_required
def edit_record(kind: str, obj_id: int) -> Any:
    k = kinds.kind_or_404(kind)
    obj = get_or_404(db.session, k.model, obj_id)
    service.check(db.session, current_user, obj)
    _refuse_oversized()
    form = k.form()()
    k.prepare(form, obj)
    form.bind_record(obj)
    if not _posted():
        form.load(obj, _last_event(k, obj_id))
    if form.validate_on_submit():
        try:
            changed = service.update_record(
                db.session, current_user, k.schema, obj, form.values(), source=form.source(),
                evidence=form.evidence(), expected_version=form.expected_version(),
                upload=form.upload,
            )
            db.session.commit()
        except service.MissingSource:
            form.require_source()
        except (records.VersionConflict, StaleDataError):
            return _record_conflict(k, obj_id, form)
        except IntegrityError:
            return _duplicate(k, form, obj_id, None)
        except service.Refused as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            flash(_("Guardado.") if changed else _("Sin cambios."), "success")
            return redirect(k.page(obj))
    elif form.missing_choice:  # the conflict page again, until every choice is made
        return _record_conflict(k, obj_id, form, form.original_base())
    return _record_page(k, form, obj, obj)


def _record_conflict(k: kinds.Kind, obj_id: int, form: Any,
                     base: tuple[dict[str, Any], int | None] | None = None) -> tuple[str, int]:
    """The 409 page: per field what the user changed and what someone else changed (who,
    when); the form again holds the current values with only the user's own changes on top,
    at the current version, so saving it reverts nothing of the other person's."""
    db.session.rollback()
    base = base if base is not None else form.read_base()
    conflict = service.record_conflict(db.session, k.schema, k.model, obj_id, form.FIELDS,
                                       form.values(), base)
    obj = db.session.get(k.model, obj_id)
    form.set_values(conflict.merged)
    form.load_base({f.name: f.current for f in conflict.fields}, conflict.version,
                   _last_event(k, obj_id), [f.name for f in conflict.to_choose], base)
    for field in conflict.to_choose:
        form[field.name].errors = [_("Usted y %(who)s cambiaron este campo: elija el valor "
                                     "que debe quedar.", who=field.by or _("otra persona"))]
    return render_template(
        "edit/conflict.html", form=form, conflict=conflict, kind=k,
        rows=conflict_rows(k.schema, conflict),
        action=url_for("edit.edit_record", kind=k.name, obj_id=obj_id), back=k.page(obj),
    ), 409


@bp.post("/edit/<kind>/<int:obj_id>/delete")
@login_required
def delete_record(kind: str, obj_id: int) -> Any:
    k = kinds.kind_or_404(kind)
    obj = get_or_404(db.session, k.model, obj_id)
    service.check(db.session, current_user, obj)
    edit_page = url_for("edit.edit_record", kind=kind, obj_id=obj_id)
    landing = k.after_delete(obj)
    form = DeleteForm()
    if form.validate_on_submit() and form.require_source():
        try:
            service.delete_record(db.session, current_user, obj, source=form.source(),
                                  expected_version=form.expected_version())
            db.session.commit()
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            flash(_("Otra persona cambió este registro mientras tanto; revise y vuelva a "
                    "intentar."), "error")
            return redirect(edit_page)
        flash(_("«%(what)s» eliminado. Sigue en el historial público y en la papelera, "
                "desde donde se puede restaurar.", what=records.summary_of(obj)), "success")
        return redirect(landing)
    for message in form.source_url.errors:
        flash(message, "error")
    return redirect(edit_page)


@bp.get("/edit/states/<cve:cve_ent>")
@login_required
def state(cve_ent: str) -> Any:
    """The state's desk: its plans and commitments with their progress, what is overdue,
    due soon or needs an update; ``format=json`` the same figures as one document,
    ``format=csv|xlsx`` the commitments as listed."""
    st = get_or_404(db.session, State, cve_ent)
    require_state(current_user, st.cve_ent)
    view = parse_list(desk.DESK)
    result = desk.state_desk(db.session, st, view)
    if view.format == "json":
        return jsonify(desk.desk_document(result, view))
    if wants_download(view):
        return download(view, result.rows, f"{desk.DESK.name}_{st.cve_ent}")
    return render_template("edit/state.html", state=st, desk=result, list=view,
                           due_labels=DESK_DUE, status_labels=PROGRESS_STATES,
                           soon_days=DESK_SOON_DAYS, stale_days=DESK_STALE_DAYS)


# --- The recycle bin -----------------------------------------------------------------------


@bp.get("/edit/recycle-bin")
@login_required
def recycle_bin() -> Any:
    """Deleted records (an admin's: every state; an editor's: their state), to restore."""
    view = parse_list(recycle.BIN)
    result = recycle.recycle_bin(db.session, current_user, view)
    if wants_download(view):
        return download(view, result.downloaded)
    return render_template("edit/recycle_bin.html", bin=result, list=view)


@bp.post("/edit/recycle-bin/<table>/<int:obj_id>/restore")
@login_required
def restore_from_bin(table: str, obj_id: int) -> Response:
    """Restore one record from the bin through the audited restore (owners first)."""
    obj = recycle.deleted_record(db.session, table, obj_id)
    if obj is None:
        raise NotFound()
    service.check(db.session, current_user, obj)
    form = RestoreForm()
    if form.validate_on_submit() and form.require_source():
        try:
            restored = service.restore(db.session, current_user, obj, source=form.source())
        except service.RevertError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            flash(_("Otra persona cambió este registro mientras tanto; revise y vuelva a "
                    "intentar."), "error")
        else:
            db.session.commit()
            flash(_("«%(what)s» restaurado.", what=records.summary_of(obj)) if restored
                  else _("El registro no estaba eliminado."), "success")
    else:
        for message in form.source_url.errors:
            flash(message, "error")
    return redirect(_referrer_path() or url_for("edit.recycle_bin"))


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
    return render_template("edit/revert.html", event=event, change=describe(event), form=form,
                           error=error, target=target), 200 if error is None else 409


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
    # The year is required: once the form validates it is there (the check tells mypy so).
    if form.validate_on_submit() and form.year.data is not None:
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
    body: bytes | str
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
    headers: tuple[sheets.Sheet, ...] = ()
    if form.validate_on_submit():
        try:
            data = sheets.read_file(form.file.data.read(), form.file.data.filename or "")
            upload = sheets.validate(db.session, current_user, data)
            if not upload.problems:
                changed = sheets.apply(db.session, current_user, upload, source=form.source())
                db.session.commit()
        except sheets.UnreadableFile as exc:
            error, headers = str(exc), exc.headers
        except service.MissingSource:
            db.session.rollback()
            form.source_url.errors = [_("Indique la fuente de los cambios: sin fuente no se "
                                        "guarda.")]
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            error = _("Otra persona cambió estos registros mientras tanto; descargue de nuevo.")
    status = 422 if error or (upload and upload.problems) or form.source_url.errors else 200
    return render_template("edit/upload.html", state=st, form=form, upload=upload,
                           error=error, headers=headers, changed=changed,
                           sheets=sheets.SHEETS), status
