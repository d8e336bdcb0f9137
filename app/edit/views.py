"""Edit pages: parse the form, call one edit service, render (or the conflict page).

Every route needs a signed-in user (anonymous: redirect to sign in) who may edit the record's
state (otherwise 403, decided from the record in the database, never from the form).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from app import records
from app.extensions import db
from app.models import Commitment, Milestone
from app.params import get_or_404

from . import bp, service
from .forms import DeleteForm, MilestoneForm


def _back(commitment_id: int) -> Response:
    return redirect(url_for("plans.commitment", commitment_id=commitment_id))


def _conflict(milestone_id: int, form: MilestoneForm) -> tuple[str, int]:
    db.session.rollback()
    conflict = service.milestone_conflict(db.session, milestone_id, form.values())
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
    form = DeleteForm()
    if form.validate_on_submit() and form.require_source():
        try:
            service.delete_milestone(db.session, current_user, m, source=form.source(),
                                     expected_version=form.expected_version())
            db.session.commit()
        except (records.VersionConflict, StaleDataError):
            db.session.rollback()
            flash(_("Otra persona cambió este hito mientras tanto; revise y vuelva a intentar."),
                  "error")
            return redirect(url_for("edit.edit_milestone", milestone_id=milestone_id))
        flash(_("Hito eliminado (sigue en el historial)."), "success")
        return _back(m.commitment_id)
    for message in form.source_url.errors:
        flash(message, "error")
    return redirect(url_for("edit.edit_milestone", milestone_id=milestone_id))


def _posted() -> bool:
    return request.method == "POST"
