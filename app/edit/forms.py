"""Edit forms (Flask-WTF, CSRF on each). Every factual change names its source."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation

from app.params import whole_number
from common.codes import COMMITMENT_STATUSES, MILESTONE_STATUSES, PROGRAMMES, SECTORS, STAGES
from metrics.readers import FORMATS


def web_url(_form: Any, field: Any) -> None:
    """Only http(s) addresses: a link shown publicly must never run a script."""
    if field.data:
        parts = urlsplit(field.data.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(_l("Escriba una dirección que empiece con http:// o https://."))
        field.data = field.data.strip()


class SourcedForm(FlaskForm):
    """The source of a change: a URL, or an evidence item (URL, title, date, what it proves).

    ``FIELDS`` names the record's fields in the order the edit and conflict pages show them.
    """

    FIELDS: tuple[str, ...] = ()
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
        return whole_number(self.version.data)

    @staticmethod
    def in_order(first: Any, then: Any, message: Any) -> bool:
        """Refuse (the message on ``then``) two values given in the wrong order."""
        if first.data and then.data and first.data > then.data:
            then.errors = [message]
            return False
        return True


def finite(_form: Any, field: Any) -> None:
    """A number, not NaN, sNaN or Infinity (which Decimal reads, and no range can compare)."""
    if field.data is not None and not field.data.is_finite():
        field.data = None
        raise StopValidation(_l("Escriba un número."))


class MilestoneForm(SourcedForm):
    FIELDS = ("title", "weight", "start_date", "due_date", "status", "progress", "completed_on")
    title = TextAreaField(_l("Hito"), validators=[DataRequired(), Length(max=2000)])
    weight = DecimalField(
        _l("Peso"), places=None,
        validators=[Optional(), finite, NumberRange(min=0.0001, max=1000)],
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
        ok &= self.in_order(self.start_date, self.due_date,
                            _l("La fecha de vencimiento es anterior a la de inicio."))
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


# --- The other records an editor owns ------------------------------------------------------

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def check_partial_date(value: str) -> str | None:
    """None if ``value`` is "YYYY", "YYYY-MM" or "YYYY-MM-DD" (a real date), else the problem."""
    if not _PARTIAL_DATE.match(value):
        return _l("Escriba AAAA, AAAA-MM o AAAA-MM-DD.")
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        date(parts[0], parts[1], parts[2])
    except ValueError:
        return _l("No es una fecha real.")
    return None


def partial_date(_form: Any, field: Any) -> None:
    """A date kept at the source's precision: "YYYY", "YYYY-MM" or "YYYY-MM-DD"."""
    field.data = (field.data or "").strip() or None
    if field.data and (problem := check_partial_date(field.data)):
        raise ValidationError(problem)


def _text(field: Any) -> str | None:
    return (field.data or "").strip() or None


def _choices(codes: Any, *, blank: bool = False) -> list[SelectChoice]:
    options = [SelectChoice(code, _l(codes._labels[code])) for code in codes]
    return [SelectChoice("", _l("(desconocido)")), *options] if blank else options


PARTIAL_HELP = _l("AAAA, AAAA-MM o AAAA-MM-DD: la precisión que da la fuente.")


class RecordForm(SourcedForm):
    """An edit form whose ``values()`` are the record's columns (``FIELDS``, in order)."""

    TEXT: frozenset[str] = frozenset()

    def values(self) -> dict[str, Any]:
        out = {}
        for name in self.FIELDS:
            data = self[name].data
            if isinstance(data, str):
                data = data.strip() or None
            out[name] = data
        return out

    def shown(self, name: str, value: Any) -> Any:
        """How the conflict page shows a value: a choice by its label."""
        field = self[name]
        if hasattr(field, "iter_choices"):
            for choice in field.iter_choices():
                if str(choice[0]) == str(value):
                    return choice[1]
        return value

    def load(self, obj: Any) -> None:
        for name in self.FIELDS:
            value = getattr(obj, name)
            self[name].data = "" if value is None and name in self.TEXT else value
        self.version.data = str(obj.version)


class ExerciseForm(RecordForm):
    FIELDS = ("declaration_date", "stl_installed_date", "facilitator", "status_text",
              "status_as_of", "stage")
    TEXT = frozenset(FIELDS)
    declaration_date = StringField(_l("Declaratoria conjunta (fecha)"),
                                   validators=[partial_date], description=PARTIAL_HELP)
    stl_installed_date = StringField(_l("Instalación del Secretariado Técnico Local (fecha)"),
                                     validators=[partial_date], description=PARTIAL_HELP)
    facilitator = StringField(_l("Facilitador(a)"), validators=[Length(max=300)])
    status_text = TextAreaField(_l("Último estatus conocido"), validators=[Length(max=2000)])
    status_as_of = StringField(_l("Fecha del estatus"), validators=[partial_date],
                               description=PARTIAL_HELP)
    stage = SelectField(_l("Etapa"), choices=_choices(STAGES, blank=True), default="")


class MemberForm(RecordForm):
    FIELDS = ("sector", "name")
    TEXT = frozenset(FIELDS)
    sector = SelectField(_l("Sector"), choices=_choices(SECTORS))
    name = StringField(_l("Integrante"), validators=[DataRequired(), Length(max=300)])


class PlanForm(RecordForm):
    FIELDS = ("title", "period_start", "period_end", "published_date", "commitments_published",
              "proactive_published", "notes")
    TEXT = frozenset({"title", "published_date", "notes"})
    title = StringField(_l("Título del plan"), validators=[DataRequired(), Length(max=300)])
    period_start = IntegerField(_l("Periodo: año de inicio"),
                                validators=[Optional(), NumberRange(1990, 2100)])
    period_end = IntegerField(_l("Periodo: año de término"),
                              validators=[Optional(), NumberRange(1990, 2100)])
    published_date = StringField(_l("Publicado el"), validators=[partial_date],
                                 description=PARTIAL_HELP)
    commitments_published = IntegerField(_l("Compromisos publicados (según la fuente)"),
                                         validators=[Optional(), NumberRange(0, 10000)])
    proactive_published = IntegerField(_l("Compromisos proactivos publicados"),
                                       validators=[Optional(), NumberRange(0, 10000)])
    notes = TextAreaField(_l("Notas"), validators=[Length(max=4000)])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        ok &= self.in_order(self.period_start, self.period_end,
                            _l("El periodo termina antes de empezar."))
        return ok


class CommitmentForm(RecordForm):
    FIELDS = ("title", "title_es", "title_en", "problem", "objective", "responsible",
              "counterpart", "status")
    TEXT = frozenset(FIELDS)
    title = TextAreaField(_l("Compromiso (título)"), validators=[DataRequired(), Length(max=2000)])
    title_es = TextAreaField(_l("Título en español"), validators=[Length(max=2000)])
    title_en = TextAreaField(_l("Título en inglés"), validators=[Length(max=2000)])
    problem = TextAreaField(_l("Problema"), validators=[Length(max=8000)])
    objective = TextAreaField(_l("Objetivo"), validators=[Length(max=8000)])
    responsible = TextAreaField(_l("Institución(es) responsable(s)"),
                                validators=[Length(max=2000)])
    counterpart = TextAreaField(_l("Contraparte de la sociedad civil"),
                                validators=[Length(max=2000)])
    status = SelectField(_l("Estado declarado"), choices=_choices(COMMITMENT_STATUSES, blank=True),
                         default="")


class EvidenceForm(RecordForm):
    """An evidence item: its own address is the source of adding it."""

    FIELDS = ("url", "title", "dated", "proves", "milestone_id")
    TEXT = frozenset({"url", "title", "proves"})
    url = StringField(_l("Dirección (URL)"),
                      validators=[DataRequired(), Length(max=2000), web_url])
    title = StringField(_l("Título"), validators=[DataRequired(), Length(max=300)])
    dated = DateField(_l("Fecha del documento"), validators=[Optional()])
    proves = TextAreaField(_l("Qué demuestra"), validators=[Length(max=2000)])
    milestone_id = SelectField(_l("Hito al que corresponde"),
                               coerce=lambda v: int(v) if v else None)

    def source(self) -> str | None:
        return self.source_url.data or self.url.data or None


class RestoreForm(SourcedForm):
    """Restoring a deleted record, or reverting a change, names its reason (its source)."""


class NewPlanForm(PlanForm):
    """A new local plan also says which programme it belongs to."""

    FIELDS = ("programme", *PlanForm.FIELDS)
    TEXT = frozenset({"programme", *PlanForm.TEXT})
    programme = SelectField(_l("Programa"), choices=[
        SelectChoice(code, _l(PROGRAMMES._labels[code]))
        for code in ("inai_cocreacion", "ogp_local")
    ])


class MetricImportForm(FlaskForm):
    """A metric round file and what ``flask metric import`` asks with it."""

    file = FileField(_l("Archivo de la ronda (CSV o XLSX)"), validators=[FileRequired()])
    year = IntegerField(_l("Año de la ronda"), validators=[DataRequired(), NumberRange(2000, 2100)])
    fmt = SelectField(_l("Formato"), default="", choices=[
        SelectChoice("", _l("(detectar por el encabezado)")),
        *(SelectChoice(code, code) for code in FORMATS),
    ])
    label = StringField(_l("Nombre de la ronda (si es nueva)"), validators=[Length(max=200)])
    source = StringField(_l("Fuente de los datos (obligatoria si la ronda es nueva)"),
                         validators=[Length(max=2000)])
    strict = BooleanField(_l("Detenerse si se rechaza algún valor"))
    dry_run = BooleanField(_l("Solo revisar: leer e informar sin guardar nada"))


class SpreadsheetForm(FlaskForm):
    """An edited download: the XLSX workbook, or one sheet's CSV."""

    file = FileField(_l("Hoja de cálculo (XLSX o CSV descargado de aquí)"),
                     validators=[FileRequired()])
    source_url = StringField(
        _l("Fuente de los cambios (URL)"), validators=[Optional(), Length(max=2000), web_url],
        description=_l("Obligatoria si el archivo cambia algo."),
    )
