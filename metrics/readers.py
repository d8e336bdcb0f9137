"""Read round files (the published 2017 file and the documented standard format) into frames.

Readers are pure: they take the state names as data and return a frame plus what they
repaired; anything they cannot map raises ReadError naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .names import compact, decode_line, fold, institution_key, repair_text
from .scheme import INDICES, SUBINDICES

# Institution types: code -> the names files use for it (folded when matched).
KINDS: dict[str, tuple[str, ...]] = {
    "autonomous": ("Autonomo", "Autónomo", "autonomous"),
    "decentralized": ("Descentralizado", "decentralized"),
    "state_executive": ("Ejecutivo estatal", "state executive"),
    "federal_executive": ("Ejecutivo federal", "federal executive"),
    "trust": ("Fideicomiso", "trust"),
    "judicial": ("Judicial",),
    "legislative": ("Legislativo", "legislative"),
    "municipality": ("Municipio", "municipality"),
    "party": ("Partido", "Partido político", "party"),
    "union": ("Sindicato", "union"),
    "university": ("Universidad", "university"),
    "electoral": ("Órgano electoral", "Instituto electoral", "electoral"),
    "guarantor": ("Órgano garante", "guarantor"),
    "other": ("Otro", "other"),
}
LEVELS: dict[str, tuple[str, ...]] = {
    "federal": ("Federal",),
    "state": ("Estatal", "state"),
    "municipal": ("Municipal",),
}
FEDERAL_STATE_NAMES = ("Federal", "Federación", "Federacion")
MISSING_MARKERS = {"", "na", "n/a", "nd", "n/d", "n.d.", "-", "—", "nan", "none", "null"}
STANDARD_REQUIRED = ("institution", "level", "type")
FORMATS = ("inai-2017", "standard")

_KIND_LOOKUP = {fold(n): code for code, names in KINDS.items() for n in (code, *names)}
_LEVEL_LOOKUP = {fold(n): code for code, names in LEVELS.items() for n in (code, *names)}
_FEDERAL_NAMES = frozenset(compact(n) for n in FEDERAL_STATE_NAMES)
# Levels, types and states repeat on every row: fold each distinct value once.
_fold = lru_cache(maxsize=4096)(fold)
_compact = lru_cache(maxsize=4096)(compact)


class ReadError(ValueError):
    """A round file that cannot be read as it stands; names the file, the row and the field."""

    def __init__(self, path: Path | str, row: int | None, field_name: str | None, problem: str):
        where = Path(path).name
        if row is not None:
            where += f", row {row}"
        if field_name:
            where += f", field '{field_name}'"
        self.row, self.field_name = row, field_name
        super().__init__(f"{where}: {problem}")


@dataclass
class Repair:
    """A name changed on reading: the row, the text as read, the text kept, and why."""

    row: int
    before: str
    after: str
    notes: list[str]


@dataclass
class ReadResult:
    """A round file as a frame (indexed by the file's row number) and the names repaired."""

    frame: pd.DataFrame
    repairs: list[Repair] = field(default_factory=list)
    rows_read: int = 0


XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = {";": "';'", "\t": "tabs", "|": "'|'"}
_HEAD_BYTES = 4096


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB ({n} bytes)" if n >= 1024 * 1024 else f"{n} bytes"


def check_input(path: Path | str, max_bytes: int | None = None) -> None:
    """Refuse a file before reading it: over ``max_bytes``, empty, UTF-16 or not what it says.

    Reads only the file's size and first bytes; raises ReadError naming the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise ReadError(path, None, None, f"cannot be read ({exc.strerror})") from None
    if max_bytes is not None and size > max_bytes:
        raise ReadError(
            path, None, None,
            f"the file is {_size(size)}, over the import limit of {_size(max_bytes)} "
            "set by IMPORT_MAX_BYTES",
        )
    if size == 0:
        raise ReadError(path, None, None, "the file is empty (0 bytes)")
    is_zip = head.startswith(b"PK\x03\x04")
    if path.suffix.lower() in XLSX_SUFFIXES:
        if not is_zip or not zipfile.is_zipfile(path):
            raise ReadError(
                path, None, None,
                "is not an XLSX workbook (not a zip file); save it from the spreadsheet "
                "program as .xlsx, or as a UTF-8 .csv",
            )
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
        raise ReadError(path, None, None, "file is UTF-16; save it as UTF-8")
    if is_zip:
        raise ReadError(path, None, None, "is a zip file (an XLSX workbook?), not CSV text")
    if b"\x00" in head:
        raise ReadError(
            path, None, None, "is a binary file (an old .xls workbook?), not CSV text"
        )


def _looks_utf16(head: bytes) -> bool:
    """Return whether text without a BOM is UTF-16: NUL bytes in every other position."""
    even, odd = head[0::2], head[1::2]
    return len(head) >= 4 and (
        even.count(0) >= len(even) * 0.6 or odd.count(0) >= len(odd) * 0.6
    )


class _Lines:
    """A text file's lines, read and decoded one at a time (for csv.reader).

    Keeps memory flat: only lines that needed a repair are remembered (their decoding notes
    and their raw text, by line number). ``number`` is the last line handed out.
    """

    def __init__(self, path: Path, encoding: str):
        self.path, self.encoding = path, encoding
        self.number = 0
        self.notes: dict[int, list[str]] = {}
        self.raw_text: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        with self.path.open("rb") as handle:
            for index, chunk in enumerate(handle):
                if index == 0 and chunk.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM
                    chunk = chunk[3:]
                for raw in chunk.splitlines():  # also splits a lone \r, as old Macs wrote
                    self.number += 1
                    text, line_notes = decode_line(raw, self.encoding)
                    if line_notes:
                        self.notes[self.number] = line_notes
                        self.raw_text[self.number] = raw.decode("latin-1")
                    yield text + "\n"


def _csv_rows(path: Path, lines: _Lines, skip_blank: bool) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number where the record starts, cells) for each record of ``lines``."""
    reader = csv.reader(lines)
    while True:
        start = lines.number + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ReadError(path, start, None, f"is not valid CSV ({exc})") from None
        if skip_blank and not cells:
            continue
        yield start, cells


def _check_delimiter(path: Path, header: list[str]) -> None:
    """Raise ReadError when the header is separated by something other than commas."""
    text = ",".join(header)
    counts = {d: text.count(d) for d in DELIMITERS}
    found = max(counts, key=lambda d: counts[d])
    if counts[found] and counts[found] >= text.count(","):
        raise ReadError(
            path, 1, None, f"the file is separated by {DELIMITERS[found]}, expected ','"
        )


def _check_header(path: Path, header: list[str], needed: tuple[str, ...] | list[str]) -> None:
    """Raise ReadError for a missing header, another delimiter, or a missing column."""
    if not any(header):
        raise ReadError(path, 1, None, "the file has no header row")
    for name in needed:
        if name not in header:
            _check_delimiter(path, header)
            raise ReadError(path, 1, name, "column is missing from the header")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ReadError(path, 1, name, "appears twice in the header")
        seen.add(name)


def _lookup(table: dict[str, str], value: str, path: Path, row: int, name: str, what: str) -> str:
    code = table.get(_fold(value))
    if code is None:
        raise ReadError(path, row, name, f"'{value}' is not a known {what}")
    return code


def _map_state(
    value: str | None, level: str, states: dict[str, str], path: Path, row: int, name: str
) -> str | None:
    """Return the INEGI code of ``value`` (None for the Federation), or raise ReadError."""
    value = (value or "").strip()
    if level == "federal":
        if value and _compact(value) not in _FEDERAL_NAMES:
            raise ReadError(path, row, name, f"a federal institution cannot be in '{value}'")
        return None
    if not value:
        raise ReadError(path, row, name, "is empty but the institution is not federal")
    if _compact(value) in _FEDERAL_NAMES:
        raise ReadError(path, row, name, f"'{value}' needs level federal, not {level}")
    if value.isdigit() and len(value) <= 2 and value.zfill(2) in states.values():
        return value.zfill(2)
    cve = states.get(_compact(value))
    if cve is None:
        raise ReadError(path, row, name, f"'{value}' is not a state name or INEGI code")
    return cve


_FRAME_COLUMNS = (
    "row", "source_name", "name", "key", "level", "kind", "state", "municipality_code",
)


def _append(columns: dict[str, list], **values: object) -> None:
    """Add one record to column lists (a list per column: far less memory than row dicts)."""
    for name, column in columns.items():
        column.append(values[name])


def _frame(path: Path, columns: dict[str, list]) -> pd.DataFrame:
    """Return the records as a frame indexed by row number; refuse a file without any."""
    if not columns["row"]:
        raise ReadError(path, None, None, "the file has a header but no institutions")
    frame = pd.DataFrame(columns).set_index("row", drop=False)
    frame.index.name = None
    return frame


def _check_unique_keys(frame: pd.DataFrame, path: Path) -> None:
    duplicated = frame["key"].duplicated(keep="first")
    if duplicated.any():
        row = int(frame.index[duplicated][0])
        key = frame.loc[row, "key"]
        first = int(frame.index[(frame["key"] == key).to_numpy()][0])
        raise ReadError(
            path, row, "institution", f"the same institution as row {first} ({key!r})"
        )


def _none_for_missing(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Keep text columns as objects with None (not NaN) for missing values."""
    for column in columns:
        frame[column] = pd.Series(
            [v if isinstance(v, str) and v else None for v in frame[column]],
            index=frame.index, dtype=object,
        )


def _missing_to_nan(frame: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        text = frame[column].astype(object)
        is_marker = text.map(
            lambda v: v is None or (isinstance(v, float) and np.isnan(v))
            or (isinstance(v, str) and v.strip().casefold() in MISSING_MARKERS)
        )
        frame[column] = text.where(~is_marker.astype(bool), np.nan)


def read_inai_2017(path: Path | str, states: dict[str, str]) -> ReadResult:
    """Read the 2017 institution file (BSO.csv) exactly as published.

    ``states`` maps compact state names to INEGI codes (see ``names.state_lookup``).
    Columns: SO ("State-Name"), edo (state or "Federal"), niv, ts, GA, P, T, TG, TC, PG, PC.
    """
    path = Path(path)
    check_input(path)
    lines = _Lines(path, "latin-1")
    rows = _csv_rows(path, lines, skip_blank=False)
    header = [h.strip() for h in next(rows, (1, []))[1]]
    _check_header(path, header, ["SO", "edo", "niv", "ts", *INDICES])
    notes, raw_text = lines.notes, lines.raw_text
    columns: dict[str, list] = {name: [] for name in _FRAME_COLUMNS + INDICES}
    repairs = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            raise ReadError(path, number, None, "the row is empty")
        if len(cells) != len(header):
            raise ReadError(
                path, number, None, f"has {len(cells)} fields, the header has {len(header)}"
            )
        row = dict(zip(header, cells, strict=True))
        level = _lookup(_LEVEL_LOOKUP, row["niv"], path, number, "niv", "level")
        kind = _lookup(_KIND_LOOKUP, row["ts"], path, number, "ts", "institution type")
        state = _map_state(row["edo"], level, states, path, number, "edo")
        source_name = row["SO"]
        name, fix_notes = repair_text(source_name)
        # State institutions are written "State-Name"; the state is its own column.
        prefix = row["edo"].strip() + "-"
        if level != "federal":
            if not name.startswith(prefix):
                raise ReadError(path, number, "SO", f"'{name}' does not start with '{prefix}'")
            name = name[len(prefix):].strip()
        if not name:
            raise ReadError(path, number, "SO", "the institution has no name")
        all_notes = notes.get(number, []) + fix_notes
        if all_notes:
            before = raw_text.get(number, source_name).split(",")[0]
            repairs.append(Repair(number, before, name, all_notes))
        _append(
            columns, row=number, source_name=source_name, name=name,
            key=institution_key(level, state, name), level=level, kind=kind, state=state,
            municipality_code=None, **{i: row[i] for i in INDICES},
        )
    frame = _frame(path, columns)
    _missing_to_nan(frame, list(INDICES))
    _none_for_missing(frame, ("state", "municipality_code"))
    _check_unique_keys(frame, path)
    return ReadResult(frame, repairs, len(frame))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list]]:
    """Yield (row number, cell values) of the workbook's first sheet, streaming.

    The workbook is opened twice in read-only mode: once for the values the spreadsheet
    program computed and saved, once for the formulas. A formula cell without a saved value
    (a file written by a program that does not compute formulas) is refused, naming the cell.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    opened = []
    try:
        opened.append(load_workbook(path, read_only=True, data_only=True))
        opened.append(load_workbook(path, read_only=True, data_only=False))
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        for workbook in opened:
            workbook.close()
        raise ReadError(path, None, None, f"is not a readable XLSX workbook ({exc})") from None
    values, formulas = opened
    # The row iterators hold open members of the archive: close them explicitly (a refused
    # file stops half-way), not whenever the garbage collector gets to them.
    value_rows = formula_rows = None
    try:
        if not values.worksheets:
            raise ReadError(path, None, None, "the workbook has no sheet")
        sheet = values.worksheets[0]
        value_rows = sheet.iter_rows()
        formula_rows = formulas.worksheets[0].iter_rows()
        for number, (cells, formula_cells) in enumerate(
            zip(value_rows, formula_rows, strict=False), start=1
        ):
            row = [cell.value for cell in cells]
            for column, (value, formula) in enumerate(
                zip(row, formula_cells, strict=False), start=1
            ):
                if value is None and getattr(formula, "data_type", None) == "f":
                    raise ReadError(
                        path, number, None,
                        f"sheet '{sheet.title}', cell {get_column_letter(column)}{number}: "
                        f"formula without a computed value ({formula.value}); open and save "
                        "the file in a spreadsheet program, or paste the values",
                    )
            while row and row[-1] is None:
                row.pop()
            if row:
                yield number, row
    finally:
        for rows in (value_rows, formula_rows):
            if rows is not None:
                rows.close()
        values.close()
        formulas.close()


def _standard_rows(path: Path) -> tuple[Iterator[tuple[int, list]], _Lines | None]:
    """Return the (row number, cells) of a standard file (first the header), and its lines."""
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _xlsx_rows(path), None
    if suffix != ".csv":
        raise ReadError(path, None, None, "the standard format is a .csv or .xlsx file")
    lines = _Lines(path, "utf-8")
    return _csv_rows(path, lines, skip_blank=True), lines


def read_standard(path: Path | str, states: dict[str, str]) -> ReadResult:
    """Read a round in the standard format (CSV or XLSX; columns documented in the README)."""
    path = Path(path)
    check_input(path)
    rows, lines = _standard_rows(path)
    first = next(rows, None)
    if first is None:
        raise ReadError(path, None, None, "the file has no header row")
    header = ["" if c is None else str(c).strip() for c in first[1]]
    _check_header(path, header, STANDARD_REQUIRED)
    components = [c for c in header if "." in c]
    for column in components:
        sub = column.split(".", 1)[0]
        if sub not in SUBINDICES:
            raise ReadError(path, 1, column, f"component columns are <{'|'.join(SUBINDICES)}>.name")
    known = {*STANDARD_REQUIRED, "state", "key", "municipality_code", *INDICES, *components}
    for position, column in enumerate(header, start=1):
        if not column:
            raise ReadError(path, 1, None, f"column {position} of the header has no name")
        if column not in known:
            raise ReadError(path, 1, column, "is not a column of the standard format")
    columns: dict[str, list] = {
        name: [] for name in (*_FRAME_COLUMNS, *INDICES, *components)
    }
    repairs: list[Repair] = []
    width = len(header)
    for number, cells in rows:
        if len(cells) > width:
            raise ReadError(
                path, number, None, f"has {len(cells)} fields, the header has {width}"
            )
        cells = [*cells, *[None] * (width - len(cells))]  # missing trailing cells are blank
        row = dict(zip(header, cells, strict=True))
        text = {k: ("" if _is_blank(v) else str(v).strip()) for k, v in row.items()}
        if not any(text.values()):
            raise ReadError(path, number, None, "the row is empty")
        for name in STANDARD_REQUIRED:
            if not text[name]:
                raise ReadError(path, number, name, "is empty but required")
        level = _lookup(_LEVEL_LOOKUP, text["level"], path, number, "level", "level")
        kind = _lookup(_KIND_LOOKUP, text["type"], path, number, "type", "institution type")
        state = _map_state(text.get("state"), level, states, path, number, "state")
        name, fix_notes = repair_text(text["institution"])
        if name == text["institution"]:
            name = text["institution"]  # one string in memory for both columns
        if lines is not None and (decoding := lines.notes.get(number)):
            repairs.append(Repair(number, lines.raw_text[number], name, decoding + fix_notes))
        elif fix_notes:
            repairs.append(Repair(number, text["institution"], name, fix_notes))
        municipality = text.get("municipality_code") or None
        if municipality is not None:
            if level != "municipal":
                raise ReadError(path, number, "municipality_code", "only municipalities have one")
            if not municipality.isdigit() or len(municipality) > 3:
                raise ReadError(
                    path, number, "municipality_code", f"'{municipality}' is not a 3-digit code"
                )
            municipality = municipality.zfill(3)
        key = text.get("key") or institution_key(level, state, name)
        _append(
            columns, row=number, source_name=text["institution"], name=name, key=key,
            level=level, kind=kind, state=state, municipality_code=municipality,
            **{i: row.get(i, np.nan) for i in (*INDICES, *components)},
        )
    frame = _frame(path, columns)
    _missing_to_nan(frame, [*INDICES, *components])
    _none_for_missing(frame, ("state", "municipality_code"))
    _check_unique_keys(frame, path)
    repairs.sort(key=lambda r: r.row)
    return ReadResult(frame, repairs, len(frame))


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def read_round(path: Path | str, fmt: str, states: dict[str, str]) -> ReadResult:
    """Read ``path`` in format ``fmt`` (inai-2017 or standard)."""
    if fmt == "inai-2017":
        return read_inai_2017(path, states)
    if fmt == "standard":
        return read_standard(path, states)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
