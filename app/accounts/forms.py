"""Sign-in and password forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

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
