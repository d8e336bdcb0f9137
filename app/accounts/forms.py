"""Sign-in and password forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms 3.2
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length

from common.codes import ROLES

from .service import MIN_PASSWORD


class LoginForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(), Length(max=1000)])
    next = HiddenField(validators=[Length(max=500)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Contraseña actual"), validators=[DataRequired()])
    new = PasswordField(
        _l("Contraseña nueva"), validators=[DataRequired(), Length(MIN_PASSWORD, 1000)]
    )
    confirm = PasswordField(
        _l("Repita la contraseña nueva"),
        validators=[DataRequired(), EqualTo("new", message=_l("Las contraseñas no coinciden."))],
    )


class NewUserForm(FlaskForm):
    """The users page's form: the same checks as ``flask users create`` (service.create_user)."""

    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Rol"), choices=[SelectChoice(c, _l(ROLES._labels[c])) for c in ROLES])
    state_cve = SelectField(_l("Estado (solo edición)"), choices=[])
    agency = StringField(_l("Organismo (nombre público)"), validators=[Length(max=120)])
    password = PasswordField(
        _l("Contraseña"), validators=[DataRequired(), Length(MIN_PASSWORD, 1000)]
    )
    confirm = PasswordField(
        _l("Repita la contraseña"),
        validators=[DataRequired(),
                    EqualTo("password", message=_l("Las contraseñas no coinciden."))],
    )


class ActiveForm(FlaskForm):
    """Disable or enable an account (a POST with its CSRF token)."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])


class ResetForm(FlaskForm):
    """A new password set with a reset link."""

    new = PasswordField(
        _l("Contraseña nueva"), validators=[DataRequired(), Length(MIN_PASSWORD, 1000)]
    )
    confirm = PasswordField(
        _l("Repita la contraseña nueva"),
        validators=[DataRequired(), EqualTo("new", message=_l("Las contraseñas no coinciden."))],
    )


class ConfirmForm(FlaskForm):
    """An admin's action on an account that needs nothing but its CSRF token (a POST)."""
