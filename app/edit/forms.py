"""Edit forms (Flask-WTF, CSRF on each), built from the record schemas (app/schema).

A record's form has one input per field of its schema, in order, labelled and helped as the
schema says; what a person typed is read by the schema's ``parse`` (the same one the
spreadsheet upload and the seed loaders use) and checked by its rules. Every factual change
names its source: a URL, or an evidence item read by the evidence schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flask import current_app, request
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms import Field as FormField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3 has it, types-WTForms 3.2 not
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import DateInput, TextArea

from app import files
from app.i18n import format_moment
from app.params import whole_number
from app.records import jsonable
from app.schema import Field, FieldError, RecordSchema
from app.schema.records import EVIDENCE, SCHEMAS, file_fields
from metrics.readers import FORMATS

if TYPE_CHECKING:
    from app.edit.service import Conflict

SOURCE_URL = Field(
    "source_url", "url", _l("Fuente del cambio (URL)"), max_length=2000,
    help=_l("Obligatoria si no agrega evidencia: todo cambio a una fecha, un estado o un hito "
            "debe citar su fuente."),
)
SHEET_SOURCE = Field("source_url", "url", _l("Fuente de los cambios (URL)"), max_length=2000,
                     help=_l("Obligatoria si el archivo cambia algo."))


# The keyboard a number field asks for (HTML inputmode); the text is still read by the schema.
NUMERIC_INPUTS = {"integer": "numeric", "number": "decimal", "percent": "decimal"}


def schema_input(field: Field, label: Any = None, **options: Any) -> FormField:
    """The WTForms input of a schema field: a select for codes, a date input for dates."""
    label = label if label is not None else field.label
    if field.type in ("code", "reference"):
        choices = []
        if field.codes is not None:
            allowed = field.extra.get("choices", field.codes.codes)
            codes = field.codes
            choices = [SelectChoice(c, LazyString(lambda c=c: codes.label(c))) for c in allowed]
            if not field.required:
                choices.insert(0, SelectChoice("", _l("(desconocido)")))
        return SelectField(label, choices=choices, validate_choice=False,
                           description=field.help or "", **options)
    if field.type == "long_text":
        # A title fits in three lines; longer texts (a problem, an objective) get six.
        rows = 3 if (field.max_length or 0) <= 2000 else 6
        return StringField(label, description=field.help or "", widget=TextArea(),
                           render_kw={"rows": rows}, **options)
    if field.type == "date":
        return StringField(label, description=field.help or "", widget=DateInput(), **options)
    if field.type in NUMERIC_INPUTS:  # a short input, and the phone's number keyboard
        return StringField(label, description=field.help or "",
                           render_kw={"inputmode": NUMERIC_INPUTS[field.type]}, **options)
    return StringField(label, description=field.help or "", **options)


def as_input(field: Field, value: Any) -> str:
    """A stored value as its input shows it (percent 0-100, ISO dates, codes)."""
    cell = field.cell(value)
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.15g}"
    if hasattr(cell, "isoformat"):
        return str(cell.isoformat())
    return str(cell)


def _evidence_label(name: str) -> LazyString:
    field = EVIDENCE.field(name)
    return LazyString(lambda: _("Evidencia: %(field)s", field=str(field.label)))


def _parse_into(form_field: FormField, field: Field) -> Any:
    """Parse one input with its schema field; a refusal becomes the input's error."""
    try:
        return field.parse(form_field.data)
    except FieldError as error:
        form_field.errors = [*form_field.errors, error.text()]
        raise


class SourcedForm(FlaskForm):
    """The source of a change: a URL, or an evidence item (URL, title, date, what it proves).

    ``version`` is the record's version when the form was read and ``base`` its values then
    (signed), so a conflict can tell the user's changes from a colleague's.
    """

    version = HiddenField()
    base = HiddenField()
    source_url = schema_input(SOURCE_URL)
    evidence_url = schema_input(EVIDENCE.field("url"), _evidence_label("url"))
    evidence_title = schema_input(EVIDENCE.field("title"), _evidence_label("title"))
    evidence_date = schema_input(EVIDENCE.field("dated"), _evidence_label("dated"))
    evidence_proves = schema_input(EVIDENCE.field("proves"), _evidence_label("proves"))

    _evidence: dict[str, Any] | None = None
    _source: str | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        try:
            self._source = _parse_into(self.source_url, SOURCE_URL)
        except FieldError:
            ok = False
        raw = {name: self[f"evidence_{key}"].data
               for name, key in (("url", "url"), ("title", "title"), ("dated", "date"),
                                 ("proves", "proves"))}
        if any(str(v or "").strip() for v in raw.values()):
            parsed = EVIDENCE.parse(raw, ("url", "title", "dated", "proves"), rules=False)
            problems = list(parsed.problems)
            if parsed.ok and parsed.values.get("url") is None:  # no file can be added here
                problems.append(("url", _("Dé la dirección (URL) de la evidencia; un archivo "
                                          "se sube con «agregar evidencia» del compromiso.")))
            for name, message in problems:
                key = {"dated": "date"}.get(name, name)
                self[f"evidence_{key}"].errors = [*self[f"evidence_{key}"].errors,
                                                  str(message)]
            self._evidence = parsed.values if not problems else None
            ok &= not problems
        return ok

    def source(self) -> str | None:
        if self._source:
            return self._source
        return self._evidence["url"] if self._evidence else None

    def evidence(self) -> dict[str, Any] | None:
        return dict(self._evidence) if self._evidence else None

    def require_source(self) -> bool:
        """Refuse (with the message on the form) a change that names no source."""
        if self.source():
            return True
        self.source_url.errors = [*self.source_url.errors, _(
            "Indique la fuente del cambio (una URL) o agregue una evidencia: sin fuente no se "
            "guarda."
        )]
        return False

    def expected_version(self) -> int | None:
        return whole_number(self.version.data)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="edit-form-base")


FILE_COLUMNS = tuple(f.name for f in file_fields())


def _file_help() -> str:
    return _("Opcional. Se aceptan %(allowed)s, de hasta %(max)s; se revisa su contenido, no "
             "su nombre.", allowed=files.allowed_text(), max=files.format_size(files.max_bytes()))


def file_source(upload: files.Upload) -> str:
    """The source of a change whose only source is the file uploaded with it."""
    return f"{upload.name} · SHA-256 {upload.sha256}"


class RecordForm(SourcedForm):
    """The form of one kind of record; ``values()`` are its fields as the schema parsed them
    (with the file columns of a file uploaded with it, checked by app/files.py)."""

    SCHEMA: ClassVar[RecordSchema]
    FIELDS: ClassVar[tuple[str, ...]] = ()
    # A milestone's change may cite an evidence item instead of a URL (and add it).
    EVIDENCE_SOURCE: ClassVar[bool] = False
    parsed: dict[str, Any]
    # A conflict page posted without choosing a field both people changed.
    missing_choice: bool = False
    # The file uploaded with the form (kinds whose schema holds one), once accepted.
    upload: files.Upload | None = None
    # The stored record being edited: what the rules read for the fields not typed here.
    _record: dict[str, Any] | None = None

    def bind_record(self, obj: Any) -> None:
        """Edit ``obj``: its stored values stand for the fields the form does not type (the
        rule "an address or a file" reads the file kept)."""
        self._record = {f.name: getattr(obj, f.name) for f in self.SCHEMA.fields}

    def _read_file(self) -> bool:
        """Read and check the uploaded file, if any; False (the error on the input) when
        refused."""
        storage = self.file.data if self.SCHEMA.files else None
        if storage is None or not getattr(storage, "filename", None):
            return True
        try:
            self.upload = files.read_upload(storage.stream, storage.filename, files.max_bytes())
        except FieldError as error:
            self.file.errors = [*self.file.errors, error.text()]
            return False
        return True

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        file_ok = self._read_file()
        ok &= file_ok
        raw: dict[str, Any] = {n: self[n].data for n in self.FIELDS}
        names = self.FIELDS
        if self.upload is not None:
            raw |= self.upload.columns()
            names = (*names, *FILE_COLUMNS)
        # A refused file is the problem to fix: "an address or a file" would only repeat it.
        result = self.SCHEMA.parse(raw, names, context=self._record, rules=file_ok)
        for name, message in result.problems:
            self[name].errors = [*self[name].errors, str(message)]
        self.parsed = result.values
        for name in self.FIELDS:  # a reference must be one of the choices the page offered
            value = self.parsed.get(name)
            if self.SCHEMA.field(name).type == "reference" and value is not None and str(
                    value) not in {str(c[0]) for c in self[name].iter_choices()}:
                self[name].errors = [*self[name].errors, _("No es una de las opciones.")]
                ok = False
        return self._choices_made() and ok and result.ok

    def _choices_made(self) -> bool:
        """After a conflict, each field both people changed needs the user's choice
        (``keep_<field>``: "mine" keeps what they typed, "theirs" the value saved meanwhile)."""
        base = self._base_data()
        if base is None:
            return True
        ok = True
        for name in base.get("choose", []):
            if name not in self.FIELDS:
                continue
            choice = request.form.get(f"keep_{name}")
            if choice == "theirs":
                self.parsed[name] = self.SCHEMA.field(name).parse(base["values"].get(name))
                self[name].data = as_input(self.SCHEMA.field(name), self.parsed[name])
            elif choice != "mine":
                self[name].errors = [*self[name].errors, _("Elija cuál valor debe quedar.")]
                self.missing_choice = True
                ok = False
        return ok

    def values(self) -> dict[str, Any]:
        return dict(self.parsed)

    def source(self) -> str | None:
        """The source typed (or the evidence given as the source); else what the schema lets
        stand for it: the record's address, or the file uploaded with it."""
        typed = super().source()
        if typed:
            return typed
        for name in self.SCHEMA.sourced_by:
            if name == "file":
                if self.upload is not None:
                    return file_source(self.upload)
            elif (value := getattr(self, "parsed", {}).get(name)) is not None:
                return str(value)
        return None

    def shown(self, name: str, value: Any) -> str:
        """A value as the conflict page shows it (labels, dates, percent; "—")."""
        return self.SCHEMA.show(name, value)

    def set_values(self, values: dict[str, Any]) -> None:
        for name in self.FIELDS:
            if name in values:
                self[name].data = as_input(self.SCHEMA.field(name), values[name])

    def load(self, obj: Any, last_event: int | None) -> None:
        """Fill the form from the record, with its version and its values as the base."""
        values = {name: getattr(obj, name) for name in self.FIELDS}
        self.set_values(values)
        self.version.data = str(obj.version)
        self.base.data = _signer().dumps({"values": jsonable(values), "event": last_event})

    def load_base(self, current: dict[str, Any], version: int, last_event: int | None,
                  choose: list[str],
                  original: tuple[dict[str, Any], int | None] | None) -> None:
        """After a conflict: the record's current values become the base the user's form is
        compared with, at its current version; ``choose`` the fields both people changed, and
        ``original`` the base the form was first read with (to show the conflict again)."""
        self.version.data = str(version)
        self.base.data = _signer().dumps({
            "values": jsonable(current), "event": last_event, "choose": choose,
            "original": None if original is None else {"values": jsonable(original[0]),
                                                       "event": original[1]}})

    def original_base(self) -> tuple[dict[str, Any], int | None] | None:
        """The base the form was read with before the conflict it is answering."""
        data = self._base_data()
        return self._values_of(data.get("original") if data else None)

    def _base_data(self) -> dict[str, Any] | None:
        try:
            data = _signer().loads(self.base.data or "")
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            return None
        return data

    def read_base(self) -> tuple[dict[str, Any], int | None] | None:
        """The values and last event the form was read with, or None (absent or forged)."""
        return self._values_of(self._base_data())

    def _values_of(self, data: Any) -> tuple[dict[str, Any], int | None] | None:
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            return None
        values = {}
        for name in self.FIELDS:
            try:
                values[name] = self.SCHEMA.field(name).parse(data["values"].get(name))
            except FieldError:
                return None
        event = data.get("event")
        return values, event if isinstance(event, int) else None


_FORMS: dict[tuple[str, bool], type[RecordForm]] = {}


def record_form(kind: str, *, new: bool = False) -> type[RecordForm]:
    """The form class of a kind of record (``new``: with the fields typed only on creation)."""
    key = (kind, new)
    if key not in _FORMS:
        schema = SCHEMAS[kind]
        fields = schema.creatable if new else schema.editable
        attrs: dict[str, Any] = {f.name: schema_input(f) for f in fields}
        attrs |= {"SCHEMA": schema, "FIELDS": tuple(f.name for f in fields),
                  "EVIDENCE_SOURCE": kind == "milestone"}
        if schema.files:
            attrs["file"] = FileField(_l("Archivo"), description=LazyString(_file_help))
        _FORMS[key] = type(f"{kind.title()}{'New' if new else ''}Form", (RecordForm,), attrs)
    return _FORMS[key]


class DeleteForm(SourcedForm):
    """Deleting a record also names why (its source)."""


class RestoreForm(SourcedForm):
    """Restoring a deleted record, or reverting a change, names its reason (its source)."""


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

    file = FileField(_l("Hoja de cálculo (XLSX, ODS o CSV descargado de aquí)"),
                     validators=[FileRequired()])
    source_url = schema_input(SHEET_SOURCE)

    def source(self) -> str | None:
        """The source typed (None when empty, or refused with the error on the input)."""
        try:
            source: str | None = _parse_into(self.source_url, SHEET_SOURCE)
            return source
        except FieldError:
            return None


def conflict_rows(schema: RecordSchema, conflict: Conflict) -> list[dict[str, Any]]:
    """The fields of a conflict as its table shows them (only those someone changed)."""
    return [{
        "name": f.name, "label": f.label, "both": f.both,
        "mine_changed": f.mine_changed, "theirs_changed": f.theirs_changed,
        "base": schema.show(f.name, f.base) if conflict.known_base else "—",
        "mine": schema.show(f.name, f.mine), "current": schema.show(f.name, f.current),
        "by": f.by, "at": format_moment(f.at) if f.at else None,
    } for f in conflict.fields if f.mine_changed or f.theirs_changed]
