"""Sign in, sign out, change the password. Failed sign-ins are rate-limited."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug import Response
from werkzeug.exceptions import BadRequest
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms 3.2

from app.extensions import db
from app.models import State, User
from app.params import get_or_404
from common.codes import ROLES

from . import bp, service
from .forms import ActiveForm, LoginForm, NewUserForm, PasswordForm
from .security import limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    return "account:" + service.normal_email(request.form.get("email", ""))[:254]


def _failed(response: Response) -> bool:
    return response.status_code != 302


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("main.home")


@bp.app_context_processor
def account_helpers() -> dict[str, object]:
    return {"can_edit_state": lambda cve: service.can_edit_state(current_user, cve),
            "is_admin": lambda: service.is_admin(current_user), "role_labels": ROLES}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
def login() -> str | Response:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is not None:
            db.session.commit()  # a rehashed password
            login_user(user)
            return redirect(_safe_next(form.next.data))
        flash(_("Correo o contraseña incorrectos, o la cuenta está desactivada."), "error")
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("main.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current.data or "", form.new.data or "")
        except service.AccountError:
            form.current.errors = [_("La contraseña actual no es correcta.")]
        else:
            db.session.commit()
            flash(_("Contraseña cambiada."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/password.html", form=form)


# --- Admin: the users page (the same service as ``flask users``) -------------------------


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users() -> str | Response:
    service.require_admin(current_user)
    form = NewUserForm()
    form.state_cve.choices = [SelectChoice("", "—")] + [
        SelectChoice(s.cve_ent, s.name)
        for s in db.session.scalars(select(State).order_by(State.cve_ent))
    ]
    if form.validate_on_submit():
        try:
            user = service.create_user(
                db.session, form.email.data or "", form.password.data or "",
                role=form.role.data, state_cve=form.state_cve.data or None,
                agency=form.agency.data,
            )
            db.session.commit()
        except service.AccountError as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            flash(_("Cuenta creada: %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/users.html", form=form, users=service.users(db.session),
                           active_form=ActiveForm())


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def set_active(user_id: int) -> Response:
    service.require_admin(current_user)
    user = get_or_404(db.session, User, user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        raise BadRequest()
    if user.id == current_user.id:
        flash(_("No puede desactivar su propia cuenta."), "error")
    else:
        service.set_active(db.session, user.email, form.active.data == "1")
        db.session.commit()
        flash(_("Cuenta actualizada: %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.users"))
