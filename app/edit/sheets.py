"""The spreadsheet round trip: a state's plans, commitments and milestones out as XLSX (one
sheet each) or CSV (one file per sheet), edited offline, and back in.

The download is written for Excel and LibreOffice alike: a code column (a status) holds the
label in the reader's language, with a drop-down list of the labels (data validation over
the "Listas" sheet), and an "Ayuda" sheet gives each column's label, help and how to type
it, from the schemas. The upload reads XLSX, ODS (LibreOffice's own format) and CSV in UTF-8
or in the encodings Excel saves ("CSV (delimitado por comas)": Windows-1252; detected with
charset-normalizer), comma- or semicolon-separated; a label is read back as its code (either
language), so re-saving an untouched download changes nothing.

An upload is read and validated whole (types, dates, weights, statuses from common/codes.py,
records of a state the user may edit, ids that exist, the version each row was downloaded at)
and every problem is reported by sheet, row and column; only a clean file is applied, all or
nothing, through ``records.bulk``. Equal values change nothing and record nothing, so
uploading an unchanged download leaves the database as it was. Rows are matched by ``id``;
a row left out of the file is left alone (never deleted), and new records are added with the
forms.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.accounts.service import actor_of, can_edit_state
from app.downloads import FORMULA_STARTS, neutralise
from app.models import ActionPlan, Base, Commitment, Milestone, User
from app.schema import Field, FieldError, RecordSchema
from app.schema.records import COMMITMENT, MILESTONE, PLAN, next_number, number_taken
from common.text import xml_safe


def _cell(value: Any) -> Any:
    """A cell as the download wrote it: text a spreadsheet would run as a formula had a
    leading ' added, which goes again."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook: the rows of one kind, its columns from the schema."""

    name: str  # the sheet's name in the workbook (and the CSV's ?sheet=), as in the file
    label: Any  # what its rows are, in the reader's language ("Hitos")
    schema: RecordSchema
    parent: str | None  # the column naming the record's parent (read-only)
    query: Callable[[str], Any]
    readonly: tuple[str, ...] = ()  # shown for orientation, must not change
    # The model of ``parent``: a row with an empty id adds a record under that parent.
    parent_model: type[Any] | None = None

    @property
    def model(self) -> type[Base]:
        return self.schema.model

    @property
    def columns(self) -> tuple[str, ...]:
        """The edited columns, in the schema's order."""
        return tuple(f.name for f in self.schema.editable)

    @property
    def header(self) -> list[str]:
        return ["id", "version", *([self.parent] if self.parent else []), *self.readonly,
                *self.columns]

    def column_label(self, column: str | None) -> str | None:
        """What a column of the file holds, in the reader's language (None: no label)."""
        if column and self.schema.has(column):
            return str(self.schema.field(column).label)
        return None

    def cell(self, obj: Any, column: str) -> Any:
        """What the download writes: a code as its label (what the drop-down offers)."""
        value = getattr(obj, column)
        if self.schema.has(column):
            field = self.schema.field(column)
            if field.codes is not None and value is not None:
                return field.codes.label(value)
            return field.cell(value)
        return value

    def coded(self) -> list[tuple[int, Field]]:
        """The code columns (1-based position, field): those with a drop-down list."""
        return [(number, self.schema.field(name))
                for number, name in enumerate(self.header, start=1)
                if name in self.columns and self.schema.field(name).codes is not None]


SHEETS = (
    Sheet("plans", _l("Planes de acción"), PLAN, None,
          lambda cve: select(ActionPlan).where(ActionPlan.state_cve == cve)
          .order_by(ActionPlan.id), readonly=("state_cve",)),
    Sheet("commitments", _l("Compromisos"), COMMITMENT, "plan_id",
          lambda cve: select(Commitment).join(ActionPlan).where(ActionPlan.state_cve == cve)
          .order_by(Commitment.plan_id, Commitment.number), readonly=("number",),
          parent_model=ActionPlan),
    Sheet("milestones", _l("Hitos"), MILESTONE, "commitment_id",
          lambda cve: select(Milestone).join(Commitment).join(ActionPlan)
          .where(ActionPlan.state_cve == cve)
          .order_by(Milestone.commitment_id, Milestone.number), readonly=("number",),
          parent_model=Commitment),
)
BY_NAME = {s.name: s for s in SHEETS}


# --- Download ------------------------------------------------------------------------------


def export(session: Session, cve: str) -> dict[str, list[list[Any]]]:
    """Every sheet's rows (header first) for the state ``cve``."""
    out = {}
    for sheet in SHEETS:
        rows: list[list[Any]] = [sheet.header]
        for obj in session.scalars(sheet.query(cve)):
            rows.append([sheet.cell(obj, name) for name in sheet.header])
        out[sheet.name] = rows
    return out


# The sheets a download adds for the reader, which an upload skips (in any language).
HELP_SHEET = _l("Ayuda")
LISTS_SHEET = _l("Listas")
# Rows a drop-down list covers below the header (rows added by hand get it too).
VALIDATED_ROWS = 2000


def _reader_sheets() -> set[str]:
    """The help and lists sheets' names in every language of the site."""
    names = set()
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            names |= {str(HELP_SHEET), str(LISTS_SHEET)}
    return names


def _append(ws: Any, row: list[Any]) -> None:
    """A row of cells: numbers, dates and empty cells typed; text as text, never a formula."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        if value is None or isinstance(value, int | float | date):
            cell = WriteOnlyCell(ws)
            cell.value = value  # the same as WriteOnlyCell(ws, value), which types no date
        else:
            cell = WriteOnlyCell(ws, value=xml_safe(str(neutralise(str(value)))))
            cell.data_type = "s"
        cells.append(cell)
    ws.append(cells)


def xlsx_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    """One worksheet per sheet, a drop-down list on each code column, the lists and the help.

    Text is written as text (never a formula), as the downloads do.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook(write_only=True)
    lists_title = str(LISTS_SHEET)
    lists: list[tuple[Field, list[str]]] = []  # one column of the lists sheet each
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        ws.freeze_panes = "A2"
        for row in rows:
            _append(ws, row)
        for number, coded in BY_NAME[name].coded() if name in BY_NAME else []:
            assert coded.codes is not None
            labels = [coded.codes.label(code) for code in coded.codes.codes]
            lists.append((coded, labels))
            column = get_column_letter(len(lists))
            source = f"{quote_sheetname(lists_title)}!${column}$2:${column}${len(labels) + 1}"
            validation = DataValidation(
                type="list", formula1=source, allow_blank=not coded.required,
                showErrorMessage=True, errorStyle="stop",
                errorTitle=_("Valor no válido"),
                error=_("Elija uno de la lista: %(values)s", values=", ".join(labels)))
            letter = get_column_letter(number)
            validation.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.data_validations.append(validation)
    _help_sheet(book.create_sheet(str(HELP_SHEET)), [s for s in SHEETS if s.name in sheets])
    ws = book.create_sheet(lists_title)
    _append(ws, [str(field.label) for field, _labels in lists])
    for index in range(max((len(labels) for _field, labels in lists), default=0)):
        _append(ws, [labels[index] if index < len(labels) else None
                     for _field, labels in lists])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _how_to_type(field: Field) -> str:
    """How a column's value is typed, in the reader's language."""
    if field.codes is not None:
        return _("Uno de la lista: %(values)s",
                 values=", ".join(field.codes.label(c) for c in field.codes.codes))
    return str({
        "text": _l("Texto"), "long_text": _l("Texto"), "url": _l("Dirección que empieza con "
                                                                   "http:// o https://"),
        "integer": _l("Número entero"), "number": _l("Número (punto decimal)"),
        "percent": _l("Porcentaje de 0 a 100 (75 o 75.5)"),
        "date": _l("Fecha (AAAA-MM-DD o DD/MM/AAAA)"),
        "partial_date": _l("Fecha: AAAA, AAAA-MM o AAAA-MM-DD"),
    }.get(field.type, ""))


def _help_sheet(ws: Any, sheets: list[Sheet]) -> None:
    """Each sheet's columns: name, label, whether required, help and how to type it."""
    _append(ws, [_("Cómo usar este libro: edite las hojas de datos y súbalo en «Subir una hoja "
                   "de cálculo»; se revisa entero y, si algo no se puede leer, no se guarda "
                   "nada. No cambie las columnas id ni version; una fila con id vacío agrega "
                   "un registro. Las hojas «%(help)s» y «%(lists)s» no se leen al subirlo.",
                   help=str(HELP_SHEET), lists=str(LISTS_SHEET))])
    _append(ws, [])
    _append(ws, [_("Hoja"), _("Columna"), _("Nombre"), _("Obligatoria"), _("Cómo se escribe"),
                 _("Ayuda")])
    for sheet in sheets:
        fixed = {
            "id": _("Identificador del registro: no lo cambie; vacío en una fila nueva."),
            "version": _("La versión descargada: no la cambie; vacía en una fila nueva. Si "
                         "otra persona cambió el registro después, la fila se rechaza."),
        }
        for name in sheet.header:
            if name in fixed:
                _append(ws, [sheet.name, name, "", "", "", fixed[name]])
            elif name == sheet.parent:
                _append(ws, [sheet.name, name, "", _("sí"), _("Número entero"),
                             _("El registro al que pertenece (su id); no se cambia aquí.")])
            elif name not in sheet.columns:
                _append(ws, [sheet.name, name, "", "", "",
                             _("Para orientarse: no se cambia aquí.")])
            else:
                field = sheet.schema.field(name)
                _append(ws, [sheet.name, name, str(field.label),
                             _("sí") if field.required else _("no"), _how_to_type(field),
                             str(field.help or "")])


def csv_text(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return "\ufeff" + buffer.getvalue()


# --- Upload --------------------------------------------------------------------------------


@dataclass
class Problem:
    """One refused cell (or row, or sheet): where, and why in the reader's language."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    @property
    def sheet_label(self) -> str | None:
        """What the sheet holds, in the reader's language (None: not a sheet of ours)."""
        sheet = BY_NAME.get(self.sheet)
        return str(sheet.label) if sheet is not None else None

    @property
    def column_label(self) -> str | None:
        sheet = BY_NAME.get(self.sheet)
        return sheet.column_label(self.column) if sheet is not None else None


@dataclass
class NewRow:
    """A row with an empty id: a record to add under ``parent``, numbered or the next one."""

    sheet: Sheet
    parent: Any
    number: int | None
    values: dict[str, Any]


@dataclass
class Upload:
    """What an upload would change, or the problems that stop it."""

    problems: list[Problem] = field(default_factory=list)
    changes: list[tuple[Any, dict[str, Any], int]] = field(default_factory=list)
    new: list[NewRow] = field(default_factory=list)
    rows: int = 0

    def problem(self, sheet: str, row: int | None, column: str | None, message: Any) -> None:
        self.problems.append(Problem(sheet, row, column, str(message)))

    @property
    def summary(self) -> str:
        return ngettext("No se guardó nada: %(num)d problema",
                        "No se guardó nada: %(num)d problemas", len(self.problems))


class UnreadableFile(ValueError):
    """The upload is neither a workbook (XLSX, ODS) nor a CSV file of one of the sheets;
    ``headers``: the sheets whose headers the file should have had (a CSV's)."""

    def __init__(self, message: str, headers: tuple[Sheet, ...] = ()) -> None:
        super().__init__(message)
        self.headers = headers



ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
# What libmagic calls the workbooks of Excel 97-2003 (.xls).
OLD_EXCEL = ("application/vnd.ms-excel", "application/x-ole-storage", "application/CDFV2",
             "application/msword")
# The encodings spreadsheet programs save a CSV in besides UTF-8: Excel's "CSV (delimitado
# por comas)" (Windows-1252), "CSV (Macintosh)" and "CSV (MS-DOS)".
CSV_ENCODINGS = ["cp1252", "mac_roman", "cp850"]


def read_file(data: bytes, filename: str) -> dict[str, list[list[Any]]]:
    """The sheets of an uploaded workbook (XLSX or ODS), or the one sheet of a CSV (known by
    its header). The type is read from the content, not the name."""
    from app.files import content_type

    found = content_type(data) if data else "text/plain"
    if found == ODS_TYPE:
        return _read_ods(data, filename)
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, filename)
    if found in OLD_EXCEL:
        raise UnreadableFile(_("%(file)s: es un libro de Excel 97-2003 (.xls), que no se lee "
                               "aquí. Guárdelo como «Libro de Excel (.xlsx)» y súbalo de nuevo.",
                               file=filename))
    return _read_csv(data, filename)


def _read_xlsx(data: bytes, filename: str) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        # Cells are converted while read (a date cell of an absurd number fails here).
        out = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
        book.close()
    except Exception:  # noqa: BLE001  (openpyxl raises many kinds)
        raise UnreadableFile(_("%(file)s: no es un libro XLSX legible. Guárdelo de nuevo "
                               "como «Libro de Excel (.xlsx)».", file=filename)) from None
    return out


def _read_ods(data: bytes, filename: str) -> dict[str, list[list[Any]]]:
    """An ODS workbook's sheets (pandas with odfpy), cells as Python values."""
    import pandas as pd

    try:
        frames = pd.read_excel(io.BytesIO(data), engine="odf", sheet_name=None, header=None,
                               dtype=object)
    except Exception:  # noqa: BLE001  (odfpy and pandas raise many kinds)
        raise UnreadableFile(_("%(file)s: no es una hoja de cálculo ODS legible. Ábrala en "
                               "LibreOffice y guárdela de nuevo (.ods o .xlsx).",
                               file=filename)) from None
    return {str(name): [[_ods_value(v) for v in row] for row in frame.itertuples(index=False)]
            for name, frame in frames.items()}


def _ods_value(value: Any) -> Any:
    """A cell as pandas read it, as openpyxl would give it: None for empty, datetimes."""
    import pandas as pd

    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _decode(data: bytes, filename: str) -> str:
    """A CSV's text: UTF-8 (with or without BOM), else the encoding charset-normalizer finds
    among those spreadsheet programs save (Excel's Windows-1252 above all)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=CSV_ENCODINGS).best()
    if best is None or "\x00" in str(best):
        raise UnreadableFile(_("%(file)s: no se pudo leer como texto (ni UTF-8 ni Windows-1252) "
                               "ni como libro XLSX u ODS. Súbalo como libro (.xlsx u .ods), o "
                               "en Excel use «Guardar como» › «CSV UTF-8 (delimitado por "
                               "comas)».", file=filename))
    return str(best)


def _read_csv(data: bytes, filename: str) -> dict[str, list[list[Any]]]:
    text = _decode(data, filename)
    for delimiter in (",", ";", "\t"):  # ";": Excel where the decimal separator is a comma
        rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
        header = rows[0] if rows else []
        for sheet in SHEETS:
            if header == sheet.header:
                return {sheet.name: rows}
    raise UnreadableFile(_("%(file)s: el encabezado no es el de una hoja descargada de aquí "
                           "(los de cada hoja, abajo).", file=filename), SHEETS)


def validate(session: Session, user: User, sheets: dict[str, list[list[Any]]]) -> Upload:
    """Check every cell of every sheet; collect the changes a clean file would make."""
    upload = Upload()
    skipped = _reader_sheets()
    for name in sheets:
        if name not in BY_NAME and name not in skipped:
            upload.problem(name, None, None, _("hoja desconocida (se esperan: %(sheets)s)",
                                               sheets=", ".join(BY_NAME)))
    for sheet in SHEETS:
        if sheet.name in sheets:
            _validate_sheet(session, user, sheet, sheets[sheet.name], upload)
    _check_groups(session, upload)
    return upload


def _validate_sheet(session: Session, user: User, sheet: Sheet, rows: list[list[Any]],
                    upload: Upload) -> None:
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        return
    header = [str(h) if h is not None else "" for h in rows[0]]
    if header != sheet.header:
        missing = [c for c in sheet.header if c not in header]
        extra = [c for c in header if c not in sheet.header]
        message = _("el encabezado no es el descargado")
        if missing:
            message += "; " + _("faltan: %(columns)s", columns=", ".join(missing))
        if extra:
            message += "; " + _("desconocidas: %(columns)s", columns=", ".join(extra))
        upload.problem(sheet.name, 1, None, message)
        return
    ids = [_id_or_none(r[0]) for r in rows[1:]]
    model: Any = sheet.model
    found = {o.id: o for o in session.scalars(
        select(model).where(model.id.in_([i for i in ids if i is not None])))}
    seen: set[int] = set()
    for number, row in enumerate(rows[1:], start=2):
        upload.rows += 1
        cells = dict(zip(header, [_cell(v) for v in row] + [None] * (len(header) - len(row)),
                         strict=False))
        _validate_row(session, user, sheet, cells, number, found, seen, upload)


_ID = MILESTONE.field("number")  # ids and versions are whole numbers like a number


def _id_or_none(value: Any) -> int | None:
    try:
        parsed: int | None = _ID.parse(value)
        return parsed
    except FieldError:
        return None


def _entity(sheet: Sheet) -> str:
    return str(sheet.schema.label).lower()


def _validate_row(session: Session, user: User, sheet: Sheet, cells: dict[str, Any],
                  number: int, found: dict[int, Any], seen: set[int], upload: Upload) -> None:
    def report(column: str | None, message: Any) -> None:
        upload.problem(sheet.name, number, column, message)

    if cells["id"] in (None, ""):
        _validate_new_row(session, user, sheet, cells, report, upload)
        return
    obj_id = _id_or_none(cells["id"])
    obj = found.get(obj_id) if obj_id is not None else None
    if obj is None:
        report("id", _("«%(id)s» no es el id de un registro (%(what)s); déjelo vacío para "
                       "agregar uno", id=cells["id"], what=_entity(sheet)))
        return
    if obj.id in seen:
        report("id", _("el id %(id)s aparece dos veces", id=obj_id))
        return
    seen.add(obj.id)
    if not can_edit_state(user, records.derive_context(session, obj)[0]):
        report("id", _("%(what)s %(id)s es de un estado que usted no puede editar",
                       what=_entity(sheet), id=obj_id))
        return
    for column in (sheet.parent, *sheet.readonly):
        if column and not _same_cell(cells[column], sheet.cell(obj, column)):
            report(column, _("no se puede cambiar aquí (es %(value)s)",
                             value=sheet.cell(obj, column)))
    values = _values(sheet, cells, report)
    version = _id_or_none(cells["version"])
    if version is None:
        report("version", _("debe ser la versión descargada (un número entero)"))
    elif version != obj.version:
        report("version", _("el registro cambió desde la descarga (versión %(now)s, no "
                            "%(then)s): descargue de nuevo y rehaga esta fila",
                            now=obj.version, then=version))
    if values is not None:
        upload.changes.append((obj, values, version or 0))


def _values(sheet: Sheet, cells: dict[str, Any], report: Callable[[str | None, Any], None],
            ) -> dict[str, Any] | None:
    """The row's edited values parsed and checked by the schema; None if any was refused."""
    parsed = sheet.schema.parse(cells, sheet.columns)
    for column, message in parsed.problems:
        report(column, message)
    return parsed.values if parsed.ok else None


def _validate_new_row(session: Session, user: User, sheet: Sheet, cells: dict[str, Any],
                      report: Callable[[str | None, Any], None], upload: Upload) -> None:
    """A row with an empty id: a new record under the parent its parent column names."""
    if sheet.parent is None or sheet.parent_model is None:
        report("id", _("un registro nuevo de este tipo (%(what)s) se agrega con los "
                       "formularios, no aquí", what=_entity(sheet)))
        return
    if cells["version"] not in (None, ""):
        report("version", _("debe quedar vacía en una fila nueva (aún no tiene versión)"))
    parent_id = _id_or_none(cells[sheet.parent])
    parent = session.get(sheet.parent_model, parent_id) if parent_id is not None else None
    if parent is None:
        report(sheet.parent, _("«%(id)s» no es el id de un registro al que pueda pertenecer",
                               id=cells[sheet.parent] or ""))
        return
    if not can_edit_state(user, records.derive_context(session, parent)[0]):
        report(sheet.parent, _("%(id)s es de un estado que usted no puede editar",
                               id=parent_id))
        return
    wanted = None
    if cells["number"] not in (None, ""):
        wanted = _id_or_none(cells["number"])
        taken = {n.number for n in upload.new if n.sheet is sheet and n.parent is parent}
        if wanted is None or wanted < 1:
            report("number", _("debe ser un número entero desde 1, o quedar vacío para el "
                               "siguiente"))
        elif wanted in taken or number_taken(session, sheet.schema, parent.id, wanted):
            report("number", _("el %(n)s ya está ocupado en ese registro", n=wanted))
    values = _values(sheet, cells, report)
    if values is not None:
        upload.new.append(NewRow(sheet, parent, wanted, values))


def _same_cell(cell: Any, value: Any) -> bool:
    if value is None:
        return cell in (None, "")
    if isinstance(value, int):
        return _id_or_none(cell) == value
    return str(cell) == str(value)


def _check_groups(session: Session, upload: Upload) -> None:
    """The schemas' rules over every record under one parent (a commitment's milestones are
    all weighted or none is), with the uploaded values in place of the recorded ones."""
    for sheet in SHEETS:
        schema = sheet.schema
        if schema.group_rule is None or schema.numbered_within is None:
            continue
        rows: dict[int, dict[Any, Mapping[str, Any]]] = {}
        for obj, values, _version in upload.changes:
            if isinstance(obj, schema.model):
                rows.setdefault(getattr(obj, schema.numbered_within), {})[
                    getattr(obj, "id")] = values  # noqa: B009  (every sheet's model has an id)
        for new in upload.new:
            if new.sheet is sheet:
                rows.setdefault(new.parent.id, {})[id(new)] = new.values
        model: Any = schema.model
        for parent_id, uploaded in rows.items():
            recorded = {o.id: {f.name: getattr(o, f.name) for f in schema.fields}
                        for o in session.scalars(select(model).where(
                            getattr(model, schema.numbered_within) == parent_id))}
            merged: list[Mapping[str, Any]] = [
                {**recorded.get(key, {}), **values} for key, values in uploaded.items()]
            merged += [values for key, values in recorded.items() if key not in uploaded]
            for column, message in schema.group_rule(merged):
                upload.problem(sheet.name, None, column, _("%(parent)s: %(message)s",
                               parent=parent_id, message=str(message)))


def apply(session: Session, user: User, upload: Upload, *, source: str | None) -> int:
    """Apply a clean upload through records.bulk; return how many records changed.

    Only values that differ as a person reads them count (a spreadsheet's re-save of an
    untouched download changes nothing). Raises MissingSource (from the edit service) when
    something changes without a source.
    """
    from .service import MissingSource

    assert not upload.problems
    changing = [(o, changes, n) for o, v, n in upload.changes
                if (changes := _changes(o, v))]
    if not (changing or upload.new):
        return 0
    if not source:
        raise MissingSource()
    with records.bulk(session, actor=actor_of(user).name, source=source, user=user) as batch:
        for obj, values, version in changing:
            batch.update(obj, {**values, "source": source}, expected_version=version)
        # Rows without a number take the next ones after every number taken: recorded
        # (deleted rows keep theirs) or asked for by another new row of the same parent.
        highest: dict[tuple[str, int], int] = {}
        for new in upload.new:
            key = (new.sheet.name, new.parent.id)
            if key not in highest:
                highest[key] = next_number(session, new.sheet.schema, new.parent.id) - 1
            highest[key] = max(highest[key], new.number or 0)
        for new in upload.new:
            key = (new.sheet.name, new.parent.id)
            if new.number is None:
                highest[key] += 1
            parent_column = new.sheet.parent or ""
            batch.create(new.sheet.model, {**new.values, parent_column: new.parent.id,
                                           "source": source,
                                           "number": new.number or highest[key]})
    return len(changing) + len(upload.new)


def _changes(obj: Any, values: dict[str, Any]) -> dict[str, Any]:
    schema = next(s.schema for s in SHEETS if isinstance(obj, s.model))
    return schema.changes(obj, values)
