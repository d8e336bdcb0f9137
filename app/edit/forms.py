"""Edit forms (Flask-WTF, CSRF on each). Every factual change names its source."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from common.codes import MILESTONE_STATUSES


def web_url(_form: Any, field: Any) -> None:
    """Only http(s) addresses: a link shown publicly must never run a script."""
    if field.data:
        parts = urlsplit(field.data.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(_l("Escriba una dirección que empiece con http:// o https://."))
        field.data = field.data.strip()


class SourcedForm(FlaskForm):
    """The source of a change: a URL, or an evidence item (URL, title, date, what it proves)."""

    version = HiddenField()
    source_url = StringField(
        _l("Fuente del cambio (URL)"), validators=[Optional(), Length(max=2000), web_url],
        description=_l("Obligatoria si no agrega evidencia: todo cambio a una fecha, un estado "
                       "o un hito debe citar su fuente."),
    )
    evidence_url = StringField(
        _l("Evidencia: dirección (URL)"), validators=[Optional(), Length(max=2000), web_url]
    )
    evidence_title = StringField(_l("Evidencia: título"), validators=[Length(max=300)])
    evidence_date = DateField(_l("Evidencia: fecha"), validators=[Optional()])
    evidence_proves = TextAreaField(
        _l("Evidencia: qué demuestra"), validators=[Length(max=2000)]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.evidence_url.data and not (self.evidence_title.data or "").strip():
            self.evidence_title.errors = [_l("La evidencia necesita un título.")]
            ok = False
        if (self.evidence_title.data or "").strip() and not self.evidence_url.data:
            self.evidence_url.errors = [_l("La evidencia necesita su dirección (URL).")]
            ok = False
        return ok

    def source(self) -> str | None:
        return self.source_url.data or self.evidence_url.data or None

    def evidence(self) -> dict[str, Any] | None:
        if not self.evidence_url.data:
            return None
        return {
            "url": self.evidence_url.data,
            "title": self.evidence_title.data.strip(),
            "dated": self.evidence_date.data,
            "proves": (self.evidence_proves.data or "").strip() or None,
        }

    def require_source(self) -> bool:
        """Refuse (with the message on the form) a change that names no source."""
        if self.source():
            return True
        self.source_url.errors = [*self.source_url.errors, _l(
            "Indique la fuente del cambio (una URL) o agregue una evidencia: sin fuente no se "
            "guarda."
        )]
        return False

    def expected_version(self) -> int | None:
        return int(self.version.data) if (self.version.data or "").isdigit() else None


class MilestoneForm(SourcedForm):
    title = TextAreaField(_l("Hito"), validators=[DataRequired(), Length(max=2000)])
    weight = DecimalField(
        _l("Peso"), places=None, validators=[Optional(), NumberRange(min=0.0001, max=1000)],
        description=_l("Opcional; sin pesos, todos los hitos cuentan igual."),
    )
    start_date = DateField(_l("Inicio"), validators=[Optional()])
    due_date = DateField(_l("Vence"), validators=[Optional()])
    status = SelectField(
        _l("Estado"),
        choices=[SelectChoice(code, _l(label)) for code, label in MILESTONE_STATUSES.items()],
    )
    progress = IntegerField(
        _l("Avance declarado (%)"), validators=[Optional(), NumberRange(0, 100)],
        description=_l("Solo si está en proceso y la fuente lo dice; si no, cuenta como 50 %."),
    )
    completed_on = DateField(_l("Terminado el"), validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        start, due = self.start_date.data, self.due_date.data
        if start and due and start > due:
            self.due_date.errors = [_l("La fecha de vencimiento es anterior a la de inicio.")]
            ok = False
        if self.completed_on.data and self.status.data not in ("complete", "verified"):
            self.completed_on.errors = [_l("Solo un hito completo tiene fecha de término.")]
            ok = False
        return ok

    def values(self) -> dict[str, Any]:
        status = self.status.data
        return {
            "title": self.title.data.strip(),
            "weight": float(self.weight.data) if self.weight.data is not None else None,
            "start_date": self.start_date.data,
            "due_date": self.due_date.data,
            "status": status,
            "progress": self.progress.data / 100
            if self.progress.data is not None and status == "in_progress" else None,
            "completed_on": self.completed_on.data if status in ("complete", "verified") else None,
        }


class DeleteForm(SourcedForm):
    """Deleting a record also names why (its source)."""
