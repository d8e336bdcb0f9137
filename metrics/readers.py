"""Read round files (the published 2017 file and the documented standard format) into frames.

Readers are pure: they take the state names as data and return a frame plus what they
repaired; anything they cannot map raises ReadError naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
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


def _decode_file(
    path: Path, encoding: str = "latin-1"
) -> tuple[list[str], dict[int, list[str]], dict[int, str]]:
    """Return the file's lines decoded, the decoding notes and the raw text per row number."""
    lines, notes, raw_text = [], {}, {}
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # a BOM, as spreadsheet programs write
        data = data[3:]
    for number, raw in enumerate(data.splitlines(), start=1):
        text, line_notes = decode_line(raw, encoding)
        lines.append(text)
        if line_notes:
            notes[number] = line_notes
            raw_text[number] = raw.decode("latin-1")
    return lines, notes, raw_text


def _lookup(table: dict[str, str], value: str, path: Path, row: int, name: str, what: str) -> str:
    code = table.get(fold(value))
    if code is None:
        raise ReadError(path, row, name, f"'{value}' is not a known {what}")
    return code


def _map_state(
    value: str | None, level: str, states: dict[str, str], path: Path, row: int, name: str
) -> str | None:
    """Return the INEGI code of ``value`` (None for the Federation), or raise ReadError."""
    value = (value or "").strip()
    if level == "federal":
        if value and compact(value) not in {compact(n) for n in FEDERAL_STATE_NAMES}:
            raise ReadError(path, row, name, f"a federal institution cannot be in '{value}'")
        return None
    if not value:
        raise ReadError(path, row, name, "is empty but the institution is not federal")
    if compact(value) in {compact(n) for n in FEDERAL_STATE_NAMES}:
        raise ReadError(path, row, name, f"'{value}' needs level federal, not {level}")
    if value.isdigit() and len(value) <= 2 and value.zfill(2) in states.values():
        return value.zfill(2)
    cve = states.get(compact(value))
    if cve is None:
        raise ReadError(path, row, name, f"'{value}' is not a state name or INEGI code")
    return cve


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
    lines, notes, raw_text = _decode_file(path)
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in next(reader, [])]
    needed = ["SO", "edo", "niv", "ts", *INDICES]
    for name in needed:
        if name not in header:
            raise ReadError(path, 1, name, "column is missing from the header")
    records, repairs = [], []
    for number, cells in enumerate(reader, start=2):
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
        records.append(
            {
                "row": number,
                "source_name": source_name,
                "name": name,
                "key": institution_key(level, state, name),
                "level": level,
                "kind": kind,
                "state": state,
                "municipality_code": None,
                **{i: row[i] for i in INDICES},
            }
        )
    frame = pd.DataFrame.from_records(records).set_index("row", drop=False)
    frame.index.name = None
    if frame.empty:
        raise ReadError(path, None, None, "the file has no institutions")
    _missing_to_nan(frame, list(INDICES))
    _none_for_missing(frame, ("state", "municipality_code"))
    _check_unique_keys(frame, path)
    return ReadResult(frame, repairs, len(frame))


def _read_standard_table(path: Path) -> tuple[pd.DataFrame, list[Repair]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        table = pd.read_excel(path, dtype=object, engine="openpyxl")
        return table, []
    if suffix != ".csv":
        raise ReadError(path, None, None, "the standard format is a .csv or .xlsx file")
    lines, notes, raw_text = _decode_file(path, "utf-8")
    table = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    repairs = [Repair(n, raw_text[n], lines[n - 1], v) for n, v in notes.items() if n > 1]
    return table, repairs


def read_standard(path: Path | str, states: dict[str, str]) -> ReadResult:
    """Read a round in the standard format (CSV or XLSX; columns documented in the README)."""
    path = Path(path)
    table, repairs = _read_standard_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    for name in STANDARD_REQUIRED:
        if name not in table.columns:
            raise ReadError(path, 1, name, "column is missing from the header")
    components = [c for c in table.columns if "." in c]
    for column in components:
        sub = column.split(".", 1)[0]
        if sub not in SUBINDICES:
            raise ReadError(path, 1, column, f"component columns are <{'|'.join(SUBINDICES)}>.name")
    known = {*STANDARD_REQUIRED, "state", "key", "municipality_code", *INDICES, *components}
    unknown = [c for c in table.columns if c not in known]
    if unknown:
        raise ReadError(path, 1, unknown[0], "is not a column of the standard format")
    repairs_by_row = {r.row: r for r in repairs}
    records = []
    for offset, row in enumerate(table.to_dict("records")):
        number = offset + 2
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
        if fix_notes:
            previous = repairs_by_row.get(number)
            if previous:
                previous.notes += fix_notes
                previous.after = name
            else:
                repairs.append(Repair(number, text["institution"], name, fix_notes))
        elif number in repairs_by_row:
            repairs_by_row[number].after = name
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
        records.append(
            {
                "row": number,
                "source_name": text["institution"],
                "name": name,
                "key": key,
                "level": level,
                "kind": kind,
                "state": state,
                "municipality_code": municipality,
                **{i: row.get(i, np.nan) for i in (*INDICES, *components)},
            }
        )
    if not records:
        raise ReadError(path, None, None, "the file has no institutions")
    frame = pd.DataFrame.from_records(records).set_index("row", drop=False)
    frame.index.name = None
    _missing_to_nan(frame, [c for c in (*INDICES, *components) if c in frame.columns])
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
