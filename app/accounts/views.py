"""Sign in, sign out, change the password. Failed sign-ins are rate-limited."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug import Response

from app.extensions import db

from . import bp, service
from .forms import LoginForm, PasswordForm
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
    return {"can_edit_state": lambda cve: service.can_edit_state(current_user, cve)}


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
