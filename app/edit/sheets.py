"""The spreadsheet round trip: a state's plans, commitments and milestones out as XLSX (one
sheet each) or CSV (one file per sheet), edited offline, and back in.

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
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import records
from app.accounts.service import actor_of, can_edit_state
from app.downloads import FORMULA_STARTS, neutralise
from app.models import ActionPlan, Commitment, Milestone, User
from app.params import MAX_ID
from common.codes import COMMITMENT_STATUSES, MILESTONE_STATUSES
from common.text import xml_safe

from .forms import check_partial_date

# --- Cell types: each parses a cell (text from CSV, typed from XLSX) or raises ValueError ---


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    # The download wrote text that a spreadsheet would run as a formula with a leading '.
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text


def _required_text(value: Any) -> str:
    text = _text(value)
    if text is None or not text.strip():
        raise ValueError("must not be empty")
    return text


def _integer(value: Any) -> int | None:
    """A whole number a database integer column holds (|n| <= MAX_ID), ASCII digits only."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]{1,19}", text):
            raise ValueError(f"'{value}' is not a whole number")
        number = int(text)
    if abs(number) > MAX_ID:
        raise ValueError(f"'{value}' is too large (at most {MAX_ID})")
    return number


def _integer_in(low: int, high: int) -> Callable[[Any], int | None]:
    """A whole number from ``low`` to ``high`` (as the edit form allows), or empty."""
    def parse(value: Any) -> int | None:
        number = _integer(value)
        if number is not None and not low <= number <= high:
            raise ValueError(f"'{value}' is not between {low} and {high}")
        return number
    return parse


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif str(value).isascii():  # float() also reads "١٢" and "１２"
            number = float(str(value).strip())
        else:
            raise ValueError()
    except (ValueError, OverflowError):
        raise ValueError(f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"'{value}' is not a number")
    return number


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _partial_date(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        value = value.strftime("%Y-%m-%d")
    text = _text(value)
    if text is None:
        return None
    if problem := check_partial_date(text.strip()):
        raise ValueError(f"'{value}': {problem}")
    return text.strip()


def _code(codes: Any, *, required: bool) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        text = _text(value)
        if text is None:
            if required:
                raise ValueError(f"must be one of {', '.join(codes.codes)}")
            return None
        if text not in codes.codes:
            raise ValueError(f"'{text}' is not one of {', '.join(codes.codes)}")
        return text
    return parse


@dataclass(frozen=True)
class Sheet:
    name: str
    model: type
    parent: str | None  # the column naming the record's parent (read-only)
    # Editable columns and their parsers, in the file's order after id, version and parent.
    columns: dict[str, Callable[[Any], Any]]
    query: Callable[[str], Any]
    readonly: tuple[str, ...] = ()  # shown for orientation, must not change
    # The model of ``parent``: a row with an empty id adds a record under that parent.
    parent_model: type | None = None

    @property
    def header(self) -> list[str]:
        return ["id", "version", *([self.parent] if self.parent else []), *self.readonly,
                *self.columns]


SHEETS = (
    Sheet("plans", ActionPlan, None, {
        "title": _required_text, "period_start": _integer_in(1990, 2100),
        "period_end": _integer_in(1990, 2100), "published_date": _partial_date,
        "commitments_published": _integer_in(0, 10000),
        "proactive_published": _integer_in(0, 10000), "notes": _text,
    }, lambda cve: select(ActionPlan).where(ActionPlan.state_cve == cve).order_by(ActionPlan.id),
        readonly=("state_cve",)),
    Sheet("commitments", Commitment, "plan_id", {
        "title": _required_text, "responsible": _text, "counterpart": _text,
        "objective": _text, "status": _code(COMMITMENT_STATUSES, required=False),
    }, lambda cve: select(Commitment).join(ActionPlan).where(ActionPlan.state_cve == cve)
        .order_by(Commitment.plan_id, Commitment.number), readonly=("number",),
        parent_model=ActionPlan),
    Sheet("milestones", Milestone, "commitment_id", {
        "title": _required_text, "weight": _number, "start_date": _date, "due_date": _date,
        "status": _code(MILESTONE_STATUSES, required=True), "progress": _number,
        "completed_on": _date,
    }, lambda cve: select(Milestone).join(Commitment).join(ActionPlan)
        .where(ActionPlan.state_cve == cve).order_by(Milestone.commitment_id, Milestone.number),
        readonly=("number",), parent_model=Commitment),
)
BY_NAME = {s.name: s for s in SHEETS}


# --- Download ------------------------------------------------------------------------------


def export(session: Session, cve: str) -> dict[str, list[list[Any]]]:
    """Every sheet's rows (header first) for the state ``cve``."""
    out = {}
    for sheet in SHEETS:
        rows: list[list[Any]] = [sheet.header]
        for obj in session.scalars(sheet.query(cve)):
            rows.append([getattr(obj, name) for name in sheet.header])
        out[sheet.name] = rows
    return out


def xlsx_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    """One worksheet per sheet; text written as text (never a formula), as the downloads do."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            cells = []
            for value in row:
                if value is None or isinstance(value, int | float | date):
                    cells.append(WriteOnlyCell(ws, value=value))
                else:
                    cell = WriteOnlyCell(ws, value=xml_safe(str(neutralise(str(value)))))
                    cell.data_type = "s"
                    cells.append(cell)
            ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_text(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return "\ufeff" + buffer.getvalue()


# --- Upload --------------------------------------------------------------------------------


@dataclass
class Problem:
    sheet: str
    row: int | None
    column: str | None
    message: str


@dataclass
class Upload:
    """What an upload would change, or the problems that stop it."""

    problems: list[Problem] = field(default_factory=list)
    changes: list[tuple[Any, dict[str, Any], int]] = field(default_factory=list)
    # New records: (sheet, parent row, number or None for the next free one, values).
    new: list[tuple[Sheet, Any, int | None, dict[str, Any]]] = field(default_factory=list)
    rows: int = 0

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, message))


class UnreadableFile(ValueError):
    """The upload is neither an XLSX workbook nor a CSV file of one of the sheets."""


def read_file(data: bytes, filename: str) -> dict[str, list[list[Any]]]:
    """The sheets of an uploaded XLSX workbook, or the one sheet of a CSV (by its header)."""
    if data.startswith(b"PK\x03\x04"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            # Cells are converted while read (a date cell of an absurd number fails here).
            out = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
            book.close()
        except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds)
            raise UnreadableFile(f"{filename}: not a readable XLSX workbook ({exc})") from None
        return out
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(f"{filename}: not UTF-8 text nor an XLSX workbook") from None
    rows = [list(r) for r in csv.reader(io.StringIO(text))]
    header = rows[0] if rows else []
    for sheet in SHEETS:
        if header == sheet.header:
            return {sheet.name: rows}
    raise UnreadableFile(f"{filename}: the header is not that of a downloaded sheet "
                         f"({'; '.join(', '.join(s.header) for s in SHEETS)})")


def validate(session: Session, user: User, sheets: dict[str, list[list[Any]]]) -> Upload:
    """Check every cell of every sheet; collect the changes a clean file would make."""
    upload = Upload()
    for name in sheets:
        if name not in BY_NAME:
            upload.problem(name, None, None, f"unknown sheet (expected {', '.join(BY_NAME)})")
    for sheet in SHEETS:
        if sheet.name in sheets:
            _validate_sheet(session, user, sheet, sheets[sheet.name], upload)
    _check_weights(upload)
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
        upload.problem(sheet.name, 1, None, "the header is not the downloaded one"
                       + (f"; missing: {', '.join(missing)}" if missing else "")
                       + (f"; unknown: {', '.join(extra)}" if extra else ""))
        return
    ids = [_integer_or_none(r[0]) for r in rows[1:]]
    found = {o.id: o for o in session.scalars(
        select(sheet.model).where(sheet.model.id.in_([i for i in ids if i is not None])))}
    seen: set[int] = set()
    for number, row in enumerate(rows[1:], start=2):
        upload.rows += 1
        cells = dict(zip(header, [*row, *[None] * (len(header) - len(row))], strict=False))
        _validate_row(session, user, sheet, cells, number, found, seen, upload)


def _integer_or_none(value: Any) -> int | None:
    try:
        return _integer(value)
    except ValueError:
        return None


def _validate_row(session: Session, user: User, sheet: Sheet, cells: dict[str, Any],
                  number: int, found: dict[int, Any], seen: set[int], upload: Upload) -> None:
    report = lambda column, message: upload.problem(sheet.name, number, column, message)  # noqa: E731
    if cells["id"] in (None, ""):
        _validate_new_row(session, user, sheet, cells, report, upload)
        return
    obj_id = _integer_or_none(cells["id"])
    obj = found.get(obj_id) if obj_id is not None else None
    if obj is None:
        report("id", f"'{cells['id']}' is not the id of a recorded {sheet.model.__tablename__} "
               "(leave it empty to add one)")
        return
    if obj_id in seen:
        report("id", f"id {obj_id} appears twice")
        return
    seen.add(obj_id)
    if not can_edit_state(user, records.derive_context(session, obj)[0]):
        report("id", f"{sheet.model.__tablename__} {obj_id} belongs to a state you may not edit")
        return
    for column in (sheet.parent, *sheet.readonly):
        if column and _same_cell(cells[column], getattr(obj, column)) is False:
            report(column, f"cannot be changed here (it is {getattr(obj, column)})")
    values = _values(sheet, cells, report)
    version = _integer_or_none(cells["version"])
    if version is None:
        report("version", "must be the version downloaded (a whole number)")
    elif version != obj.version:
        report("version", f"the record changed since the download (version {obj.version}, "
               f"not {version}): download again and redo this row")
    if values is not None:
        upload.changes.append((obj, values, version or 0))


def _values(sheet: Sheet, cells: dict[str, Any], report: Callable[[str, str], None],
            ) -> dict[str, Any] | None:
    """The row's editable values parsed and checked together; None if a cell was refused."""
    values = {}
    for column, parse in sheet.columns.items():
        try:
            values[column] = parse(cells[column])
        except ValueError as exc:
            report(column, str(exc))
    if len(values) < len(sheet.columns):
        return None
    problems = list(_row_rules(sheet, values))
    for column, message in problems:
        report(column, message)
    return None if problems else values


def _validate_new_row(session: Session, user: User, sheet: Sheet, cells: dict[str, Any],
                      report: Callable[[str, str], None], upload: Upload) -> None:
    """A row with an empty id: a new record under the parent its parent column names."""
    if sheet.parent is None or sheet.parent_model is None:
        report("id", f"a new {sheet.model.__tablename__} is added with the forms, not here")
        return
    if cells["version"] not in (None, ""):
        report("version", "must be empty on a new row (it has no version yet)")
    parent_id = _integer_or_none(cells[sheet.parent])
    parent = session.get(sheet.parent_model, parent_id) if parent_id is not None else None
    if parent is None:
        report(sheet.parent, f"'{cells[sheet.parent] or ''}' is not the id of a recorded "
               f"{sheet.parent_model.__tablename__}")
        return
    if not can_edit_state(user, records.derive_context(session, parent)[0]):
        report(sheet.parent, f"{sheet.parent_model.__tablename__} {parent.id} belongs to a "
               "state you may not edit")
        return
    wanted = None
    if cells["number"] not in (None, ""):
        wanted = _integer_or_none(cells["number"])
        taken = {n for s, p, n, _v in upload.new if s is sheet and p is parent}
        if wanted is None or wanted < 1:
            report("number", "must be a whole number from 1, or empty for the next one")
        elif wanted in taken or session.scalar(
                select(sheet.model.id).where(getattr(sheet.model, sheet.parent) == parent.id,
                                             sheet.model.number == wanted)
                .execution_options(**records.WITH_DELETED)) is not None:
            report("number", f"{wanted} is already used in "
                   f"{sheet.parent_model.__tablename__} {parent.id}")
    values = _values(sheet, cells, report)
    if values is not None:
        upload.new.append((sheet, parent, wanted, values))


def _same_cell(cell: Any, value: Any) -> bool:
    if value is None:
        return cell in (None, "")
    return str(_integer_or_none(cell) if isinstance(value, int) else cell) == str(value)


def _row_rules(sheet: Sheet, values: dict[str, Any]) -> Iterable[tuple[str, str]]:
    if sheet.name == "plans":
        start, end = values["period_start"], values["period_end"]
        if start and end and start > end:
            yield "period_end", "the period ends before it starts"
    if sheet.name == "milestones":
        if values["weight"] is not None and not 0 < values["weight"] <= 1000:
            yield "weight", "must be over 0 (and at most 1000), or empty"
        if values["progress"] is not None and not 0 <= values["progress"] <= 1:
            yield "progress", "must be a share between 0 and 1, or empty"
        if values["progress"] is not None and values["status"] != "in_progress":
            yield "progress", "only a milestone in progress has a stated progress"
        start, due = values["start_date"], values["due_date"]
        if start and due and start > due:
            yield "due_date", "is before the start date"
        if values["completed_on"] and values["status"] not in ("complete", "verified"):
            yield "completed_on", "only a complete milestone has a completion date"


def _check_weights(upload: Upload) -> None:
    """A commitment's milestones are all weighted or none is (else progress is ambiguous)."""
    by_commitment: dict[int, list[bool]] = {}
    for obj, values, _version in upload.changes:
        if isinstance(obj, Milestone):
            by_commitment.setdefault(obj.commitment_id, []).append(values["weight"] is not None)
    for sheet, parent, _number, values in upload.new:
        if sheet.model is Milestone:
            by_commitment.setdefault(parent.id, []).append(values["weight"] is not None)
    for commitment_id, weighted in by_commitment.items():
        if any(weighted) and not all(weighted):
            upload.problem("milestones", None, "weight",
                           f"commitment {commitment_id}: give every milestone a weight, or none")


def apply(session: Session, user: User, upload: Upload, *, source: str | None) -> int:
    """Apply a clean upload through records.bulk; return how many records changed.

    Raises MissingSource (from the edit service) when something changes without a source.
    """
    from .service import MissingSource

    assert not upload.problems
    changing = [(o, v, n) for o, v, n in upload.changes
                if any(getattr(o, k) != value for k, value in v.items())]
    if not (changing or upload.new):
        return 0
    if not source:
        raise MissingSource()
    with records.bulk(session, actor=actor_of(user).name, source=source, user=user) as batch:
        for obj, values, version in changing:
            batch.update(obj, {**values, "source": source}, expected_version=version,
                         summary=str(getattr(obj, "title", ""))[:200])
        highest = _highest_numbers(session, upload)
        for sheet, parent, wanted, values in upload.new:
            if wanted is None:
                highest[sheet.model, parent.id] += 1
            batch.create(sheet.model, {
                **values, sheet.parent: parent.id, "source": source,
                "number": wanted or highest[sheet.model, parent.id],
            }, summary=values["title"][:200])
    return len(changing) + len(upload.new)


def _highest_numbers(session: Session, upload: Upload) -> dict[tuple[type, int], int]:
    """Per (model, parent) of the new rows, the highest number taken: recorded (deleted rows
    keep theirs) or asked for by a new row; rows without a number get the next ones."""
    highest: dict[tuple[type, int], int] = {}
    for sheet, parent, wanted, _values in upload.new:
        key = (sheet.model, parent.id)
        if key not in highest:
            highest[key] = session.scalar(
                select(func.max(sheet.model.number))
                .where(getattr(sheet.model, sheet.parent) == parent.id)
                .execution_options(**records.WITH_DELETED)) or 0
        highest[key] = max(highest[key], wanted or 0)
    return highest
