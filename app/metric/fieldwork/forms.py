"""Fieldwork forms (Flask-WTF, CSRF on each).

The capture form has one group of inputs per item of the round's instruments (per request or
proposal): the answer, offered as the item's scale (``metrics.fieldwork.instruments``), and the
other fields of the observation schema (``app.schema.records.OBSERVATION``: dates, folio,
evidence, note), each built and read by its schema field. A row's answer is then checked by
the instruments' own ``normalise`` (its codes, bounds and the order of the dates), the same
check the services and an exported file's computation make, so no rule is written here.
The reconciliation form is the record form of ``RECONCILIATION`` with the item's scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Field as FormField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3 has it, types-WTForms 3.2 not
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.edit.forms import RecordForm, as_input, conflict_rows, schema_input
from app.edit.service import Conflict
from app.records import jsonable
from app.schema import FieldError
from app.schema.records import OBSERVATION, RECONCILIATION
from common.codes import FIELDWORK_ROLES, INSTITUTION_TYPES, LEVELS
from metrics.fieldwork import Answer, AnswerError, Calendar, Item
from metrics.fieldwork.instruments import NOT_APPLICABLE, UNANSWERED, normalise

from .messages import answer_text
from .pages import OBSERVATION_FIELDS, CaptureInput, CaptureRow
from .service import ObservationInput

DATES = ("sent_on", "acknowledged_on", "answered_on")
# The fields a row of a review item has (no request was sent: no dates, no folio).
REVIEW_FIELDS = ("answer", "evidence_url", "evidence_file", "note")
SEPARATOR = "__"


def answer_choices(item: Item) -> list[tuple[str, str]]:
    """The answers an item's scale offers, as (code, label) in the reader's language."""
    scale = item.scale
    if scale.type == "yes_no":
        choices = [("yes", _("Sí")), ("no", _("No"))]
    elif scale.type == "ordinal":
        choices = [(level.code, level.label) for level in scale.levels]
    elif scale.type == "business_days":
        choices = [("answered", _("Respondida (con fechas de envío y de respuesta)")),
                   (UNANSWERED, _("Sin respuesta"))]
    else:
        choices = []
    if item.not_applicable and choices:
        choices.append((NOT_APPLICABLE, _("No aplica")))
    return choices


def answer_label(item: Item, value: str | None) -> str:
    """An answer as a person reads it (a normalised speed: its business days)."""
    if value is None or value == "":
        return "—"
    labels = dict(answer_choices(item))
    if value in labels:
        return labels[value]
    if item.scale.type == "business_days":
        return _("%(n)s días hábiles", n=value)
    return value


def answer_input(item: Item) -> FormField:
    """The answer's input: the scale's choices, or a number for a number scale."""
    label = OBSERVATION.field("answer").label
    choices = answer_choices(item)
    if not choices:
        unit = f" ({item.scale.unit})" if item.scale.unit else ""
        return StringField(label, description=_l("Un número%(unit)s.", unit=unit))
    return SelectField(label, choices=[SelectChoice("", _l("(sin respuesta todavía)")),
                                       *(SelectChoice(c, text) for c, text in choices)],
                       validate_choice=False)


def check_answer(item: Item, values: dict[str, Any], calendar: Calendar) -> tuple[str, str] | None:
    """The instruments' check of one answer: None, or (field at fault, message)."""
    try:
        normalise(item, Answer(values.get("answer"), values.get("sent_on"),
                               values.get("acknowledged_on"), values.get("answered_on")),
                  calendar)
    except AnswerError as exc:
        return exc.field, str(answer_text(exc))
    return None


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="fieldwork-capture-base")


class CaptureForm(FlaskForm):
    """One institution's sheet; its inputs are named ``<unit>__<field>`` (``pages.unit_id``).

    ``base`` (signed) holds, per row that had an answer when the form was read, its values,
    version and last event, so a save sends only what the coder changed and a conflict can
    tell their changes from one saved meanwhile; after a conflict it also holds the fields
    the coder must choose between and what the conflict page showed.
    """

    base = HiddenField()
    ROWS: ClassVar[tuple[CaptureRow, ...]] = ()
    missing_choice: bool = False

    # --- Reading the rows -----------------------------------------------------------------

    @classmethod
    def names(cls, row: CaptureRow) -> tuple[str, ...]:
        return OBSERVATION_FIELDS if row.citizen else REVIEW_FIELDS

    def input(self, row: CaptureRow, name: str) -> FormField:
        return self[f"{row.unit}{SEPARATOR}{name}"]

    def load(self, rows: Iterable[CaptureRow]) -> None:
        """Fill the form from the stored answers; sign what it was read with."""
        base: dict[str, Any] = {}
        for row in rows:
            values = row.values()
            for name in self.names(row):
                self.input(row, name).data = as_input(OBSERVATION.field(name), values[name])
            if row.observation is not None:
                base[row.unit] = {"values": jsonable(values), "version": row.observation.version,
                                  "event": row.last_event}
        self.base.data = _signer().dumps({"rows": base})

    def _base(self) -> dict[str, Any] | None:
        try:
            data = _signer().loads(self.base.data or "")
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("rows"), dict) else None

    def changes(self, calendar: Calendar) -> list[CaptureInput] | None:
        """The rows the coder changed, parsed and checked; None when any is refused (the
        errors are on the inputs) or the form's base is missing."""
        base = self._base()
        if base is None:
            self.form_errors.append(_("El formulario caducó o está incompleto: vuelva a abrir "
                                      "la página; no se guardó nada."))
            return None
        ok = True
        changed: list[CaptureInput] = []
        choose = base.get("choose", {})
        for row in self.ROWS:
            names = self.names(row)
            parsed = OBSERVATION.parse({n: self.input(row, n).data for n in names}, names)
            for name, message in parsed.problems:
                self.input(row, name).errors = [*self.input(row, name).errors, str(message)]
            read = base["rows"].get(row.unit)
            read_values = self._values_of(read)
            values = dict(parsed.values)
            for name in choose.get(row.unit, []):  # after a conflict: mine, or theirs
                kept = request.form.get(f"keep{SEPARATOR}{row.unit}{SEPARATOR}{name}")
                if kept == "theirs":
                    values[name] = read_values.get(name)
                    self.input(row, name).data = as_input(OBSERVATION.field(name), values[name])
                elif kept != "mine":
                    self.input(row, name).errors = [*self.input(row, name).errors,
                                                    _("Elija cuál valor debe quedar.")]
                    self.missing_choice = True
                    ok = False
            if not parsed.ok:
                ok = False
                continue
            if all(OBSERVATION.field(n).same(read_values.get(n), values.get(n)) for n in names):
                continue  # not changed by the coder: nothing to save
            refused = check_answer(row.item, values, calendar)
            if refused is not None:
                name, message = refused
                target = self.input(row, name if name in names else "answer")
                target.errors = [*target.errors, message]
                ok = False
                continue
            full = {n: values.get(n) for n in OBSERVATION_FIELDS}
            if not row.citizen:  # a review item keeps what it had in the fields not shown
                full.update({n: read_values.get(n) for n in OBSERVATION_FIELDS if n not in names})
            changed.append(CaptureInput(
                row.unit, row.item.key, row.occasion, ObservationInput(**full),
                int(read["version"]) if read else 0, read_values,
                read.get("event") if read else None))
        return changed if ok else None

    @staticmethod
    def _values_of(read: dict[str, Any] | None) -> dict[str, Any]:
        """A row's values as the form read them (all empty for a row without an answer)."""
        stored = (read or {}).get("values") or {}
        values = {}
        for name in OBSERVATION_FIELDS:
            try:
                values[name] = OBSERVATION.field(name).parse(stored.get(name))
            except FieldError:
                values[name] = None
        return values

    # --- After a conflict --------------------------------------------------------------------

    def conflicts(self) -> dict[str, list[dict[str, Any]]]:
        """What the last conflict page showed, per row (kept in the signed base)."""
        base = self._base() or {}
        shown: dict[str, list[dict[str, Any]]] = base.get("shown", {})
        return shown

    def show_conflicts(self, conflicts: dict[str, Conflict], last_events: dict[str, int | None]
                       ) -> dict[str, list[dict[str, Any]]]:
        """Merge each conflicting row: the current values with only the coder's own changes
        on top, at the current version; the fields both changed are left to choose."""
        base = self._base() or {"rows": {}}
        choose: dict[str, list[str]] = {}
        shown: dict[str, list[dict[str, Any]]] = {}
        for unit, conflict in conflicts.items():
            row = next(r for r in self.ROWS if r.unit == unit)
            for name in self.names(row):
                self.input(row, name).data = as_input(OBSERVATION.field(name),
                                                      conflict.merged[name])
            base["rows"][unit] = {
                "values": jsonable({f.name: f.current for f in conflict.fields}),
                "version": conflict.version, "event": last_events.get(unit)}
            choose[unit] = [f.name for f in conflict.to_choose if f.name in self.names(row)]
            for name in choose[unit]:
                self.input(row, name).errors = [_("Usted y %(who)s cambiaron este campo: elija "
                                                  "el valor que debe quedar.",
                                                  who=next(f.by for f in conflict.fields
                                                           if f.name == name)
                                                  or _("otra sesión"))]
            shown[unit] = conflict_rows(OBSERVATION, conflict)
        base["choose"], base["shown"] = choose, shown
        self.base.data = _signer().dumps(base)
        return shown


def capture_form(rows: Sequence[CaptureRow]) -> CaptureForm:
    """The capture form of one institution's rows (a form class per sheet)."""
    attrs: dict[str, Any] = {"ROWS": tuple(rows)}
    for row in rows:
        names = CaptureForm.names(row)
        attrs[f"{row.unit}{SEPARATOR}answer"] = answer_input(row.item)
        for name in names[1:]:
            attrs[f"{row.unit}{SEPARATOR}{name}"] = schema_input(OBSERVATION.field(name))
    form_class = type("FieldworkCaptureForm", (CaptureForm,), attrs)
    return form_class()


class SettleForm(RecordForm):
    """A reviewer's answer for a disagreement: the reconciliation schema's fields, the answer
    offered as the item's scale, checked by the instruments."""

    SCHEMA = RECONCILIATION
    FIELDS = tuple(f.name for f in RECONCILIATION.fields)
    answer = SelectField(RECONCILIATION.field("answer").label, choices=[],
                         validate_choice=False)
    sent_on = schema_input(RECONCILIATION.field("sent_on"))
    acknowledged_on = schema_input(RECONCILIATION.field("acknowledged_on"))
    answered_on = schema_input(RECONCILIATION.field("answered_on"))
    reason = schema_input(RECONCILIATION.field("reason"))
    item: Item | None = None
    calendar: Calendar | None = None

    def offer(self, item: Item, calendar: Calendar) -> None:
        self.item, self.calendar = item, calendar
        self.answer.choices = [SelectChoice("", _l("(elija)")),
                               *(SelectChoice(c, text) for c, text in answer_choices(item))]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.item is not None and self.calendar is not None:
            refused = check_answer(self.item, self.parsed, self.calendar)
            if refused is not None:
                name, message = refused
                self[name].errors = [*self[name].errors, message]
                return False
        return ok


# --- The coordinator's forms -------------------------------------------------------------------


class MemberForm(FlaskForm):
    email = StringField(_l("Correo electrónico de la cuenta"),
                        validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Papel en la ronda"), choices=[
        SelectChoice(c, _l(FIELDWORK_ROLES._labels[c])) for c in FIELDWORK_ROLES])


class SampleForm(FlaskForm):
    """Institutions listed by key, and one quota drawn with the round's seed."""

    listed = TextAreaField(_l("Claves de instituciones (una por renglón)"),
                           validators=[Length(max=20000)],
                           description=_l("Por ejemplo municipal:09:coyoacan; las claves están "
                                          "en las páginas de cada institución."))
    count = IntegerField(_l("Cuota: cuántas instituciones sortear"),
                         validators=[Optional(), NumberRange(1, 5000)])
    state = SelectField(_l("Cuota: estado"), choices=[], default="")
    level = SelectField(_l("Cuota: nivel"), default="", choices=[
        SelectChoice("", _l("(cualquiera)")),
        *(SelectChoice(c, _l(LEVELS._labels[c])) for c in LEVELS)])
    kind = SelectField(_l("Cuota: tipo de institución"), default="", choices=[
        SelectChoice("", _l("(cualquiera)")),
        *(SelectChoice(c, _l(INSTITUTION_TYPES._labels[c])) for c in INSTITUTION_TYPES)])

    def offer_states(self, names: dict[str, str]) -> None:
        self.state.choices = [SelectChoice("", _l("(cualquiera)")),
                              SelectChoice("federal", _l("Federación")),
                              *(SelectChoice(c, n) for c, n in sorted(names.items()))]

    def keys(self) -> list[str]:
        return [line.strip() for line in (self.listed.data or "").splitlines() if line.strip()]


class AssignForm(FlaskForm):
    coders = SelectMultipleField(
        _l("Personas codificadoras"), coerce=int, choices=[], option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[InputRequired(_l("Elija al menos una persona."))])
    double_share = FloatField(_l("Proporción con doble codificación (de 0 a 1)"),
                              validators=[Optional(), NumberRange(0, 1)])


class ConfirmForm(FlaskForm):
    """Freezing or publishing: a POST with its CSRF token and an explicit confirmation."""

    confirm = BooleanField(_l("Confirmo"), validators=[
        DataRequired(_l("Marque la casilla para confirmar."))])
