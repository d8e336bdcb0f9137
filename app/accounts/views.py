"""Sign in, sign out, the account page, passwords (change, reset links) and the admin's users
page. Failed sign-ins are rate-limited and every attempt is recorded."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug import Response
from werkzeug.exceptions import BadRequest
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms 3.2

from app.auth import end_session, start_session
from app.extensions import db
from app.httpcache import private
from app.models import State, User
from app.params import get_or_404, site_path
from app.plans.feeds import site_url
from common.codes import ROLES, SIGN_IN_OUTCOMES

from . import bp, service
from .forms import ActiveForm, ConfirmForm, LoginForm, NewUserForm, PasswordForm, ResetForm
from .security import limiter

# --- Rate limits: a stranger's failures never lock the owner out ----------------------------


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _email() -> str:
    return service.normal_email(request.form.get("email", ""))[:254]


def _account_key() -> str:
    """The account, whatever the address: the slower ceiling."""
    return "account:" + _email()


def _account_address_key() -> str:
    """The account from this client's address."""
    return f"account:{_email()}|{get_remote_address()}"


def _failed(response: Response) -> bool:
    return response.status_code != 302


def safe_next(target: str | None) -> str:
    """Only a path of this site is followed after sign-in (``params.site_path``); anything
    else goes home."""
    return site_path(target) or url_for("main.home")


@bp.app_context_processor
def account_helpers() -> dict[str, object]:
    return {"can_edit_state": lambda cve: service.can_edit_state(current_user, cve),
            "is_admin": lambda: service.is_admin(current_user), "role_labels": ROLES,
            "sign_in_outcomes": SIGN_IN_OUTCOMES}


# --- Sign in and out --------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@private
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, key_func=_account_address_key, methods=["POST"],
               deduct_when=_failed)
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
def login() -> str | Response:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = service.sign_in(db.session, form.email.data or "", form.password.data or "",
                                 request.remote_addr)
        db.session.commit()  # the attempt (and a rehashed password)
        if result.user is not None:
            start_session(result.user)
            return redirect(safe_next(form.next.data))
        flash(_("Correo o contraseña incorrectos, o la cuenta está desactivada."), "error")
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    """Sign out: every session of the account ends, also copies of this one's cookie."""
    if current_user.is_authenticated:
        service.end_sessions(current_user)
        db.session.commit()
    end_session()
    return redirect(url_for("main.home"))


# --- The account page and passwords ------------------------------------------------------------


@bp.get("/account")
@login_required
def account() -> str:
    return render_template("accounts/account.html",
                           page=service.account_page(db.session, current_user))


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
            # This session goes on (with the new token); the others end.
            start_session(current_user._get_current_object(), keep_start=True)
            flash(_("Contraseña cambiada. Las demás sesiones de su cuenta se cerraron."),
                  "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/password.html", form=form)


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
@private
def reset(token: str) -> str | Response | tuple[str, int]:
    """Set a new password with a reset link (valid once, for PASSWORD_RESET_HOURS)."""
    user = service.user_for_reset(db.session, token)
    if user is None:
        return render_template("accounts/reset.html", form=None, email=None), 404
    form = ResetForm()
    if form.validate_on_submit():
        service.reset_password(db.session, token, form.new.data or "", request.remote_addr)
        db.session.commit()
        end_session()
        flash(_("Contraseña guardada. Inicie sesión con ella."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, email=user.email)


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
    return render_template("accounts/users.html", form=form,
                           page=service.users_page(db.session), active_form=ActiveForm())


def _admin_target(user_id: int, form: FlaskForm) -> User:
    """The account an admin acts on (404 if none), once the posted ``form`` validates."""
    service.require_admin(current_user)
    user = get_or_404(db.session, User, user_id)
    if not form.validate_on_submit():
        raise BadRequest()
    return user


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def set_active(user_id: int) -> Response:
    form = ActiveForm()
    user = _admin_target(user_id, form)
    if user.id == current_user.id:
        flash(_("No puede desactivar su propia cuenta."), "error")
    else:
        service.set_active(db.session, user.email, form.active.data == "1")
        db.session.commit()
        flash(_("Cuenta actualizada: %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/sign-out")
@login_required
def sign_out_everywhere(user_id: int) -> Response:
    """End every session of an account (also the admin's own: they sign in again)."""
    user = _admin_target(user_id, ConfirmForm())
    service.end_sessions(user)
    db.session.commit()
    if user.id == current_user.id:
        end_session()
        return redirect(url_for("accounts.login"))
    flash(_("Se cerraron todas las sesiones de %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/reset")
@login_required
def issue_reset(user_id: int) -> str:
    """A one-time reset link for an account, shown once to the admin to pass on."""
    user = _admin_target(user_id, ConfirmForm())
    user, token = service.reset_token(db.session, user.email)
    return render_template("accounts/reset_link.html", user=user,
                           link=site_url("accounts.reset", token=token),
                           hours=current_app.config["PASSWORD_RESET_HOURS"])
