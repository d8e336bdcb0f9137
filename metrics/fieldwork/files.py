"""The exported fieldwork file: one JSON document with everything a round's computation needs.

``flask metric fieldwork export`` writes it (coder ids anonymised) and ``flask metric
fieldwork compute`` reads it, so anyone can recompute a published round from its raw
observations with the same engine. Layout::

    {"format": "mga-fieldwork/1",
     "round": {"year", "label", "deadline_days", "extension_days", "closed_days": {date: why},
               "requests", "proposals", "frozen_at"},
     "scheme": {"TG": {"access_info": 0.5, ...}, ...},
     "instruments": {... the instrument file as data ...},
     "institutions": [{"key", "name", "level", "kind", "state", "coders"}],
     "observations": [{"institution", "item", "occasion", "coder", "answer", "sent_on",
                       "acknowledged_on", "answered_on", "folio", "evidence_url",
                       "evidence_file"}],
     "reconciliations": [{"institution", "item", "occasion", "answer", "sent_on",
                          "acknowledged_on", "answered_on", "reviewer", "reason"}]}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .business_days import Calendar, Deadline
from .compute import (
    INSTITUTION_COLUMNS,
    FieldworkDataError,
    FieldworkResult,
    Observation,
    Reconciliation,
    compute_fieldwork,
    parse_date,
)
from .instruments import Answer, InstrumentError, Instruments, Settings, parse_instruments

FILE_FORMAT = "mga-fieldwork/1"


@dataclass
class FieldworkFile:
    """An exported round, read and checked: ready for ``compute``."""

    year: int | None
    label: str
    instruments: Instruments
    scheme: dict[str, dict[str, float]]
    institutions: pd.DataFrame
    observations: list[Observation]
    reconciliations: list[Reconciliation]
    deadline: Deadline
    calendar: Calendar
    expected_coders: dict[str, int]

    def compute(self, final: bool = False) -> FieldworkResult:
        return compute_fieldwork(
            self.instruments, self.institutions, self.observations, self.reconciliations,
            deadline=self.deadline, calendar=self.calendar, scheme=self.scheme, final=final,
            expected_coders=self.expected_coders,
        )


def with_settings(instruments: Instruments, requests: int, proposals: int,
                  deadline: Deadline) -> Instruments:
    """The instruments with a round's own settings (requests, proposals, deadline)."""
    return dataclasses.replace(instruments, settings=Settings(
        deadline_days=deadline.days, extension_days=deadline.extension, requests=requests,
        proposals=proposals))


def _answer(row: Mapping[str, Any], where: str) -> Answer:
    return Answer(
        value=None if row.get("answer") in (None, "") else str(row["answer"]),
        sent_on=parse_date(row.get("sent_on"), f"{where}, sent_on"),
        acknowledged_on=parse_date(row.get("acknowledged_on"), f"{where}, acknowledged_on"),
        answered_on=parse_date(row.get("answered_on"), f"{where}, answered_on"),
    )


def _need(row: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(row, Mapping):
        raise FieldworkDataError(f"{where}: must be an object")
    lacking = [k for k in keys if row.get(k) in (None, "")]
    if lacking:
        raise FieldworkDataError(f"{where}: lacks {', '.join(lacking)}")


def parse_fieldwork(data: Any, source: str = "fieldwork") -> FieldworkFile:
    """Check an exported round's data and return it ready to compute."""
    def fail(message: str) -> FieldworkDataError:
        return FieldworkDataError(f"{source}: {message}")

    if not isinstance(data, Mapping) or data.get("format") != FILE_FORMAT:
        raise fail(f"not a fieldwork file (format must be {FILE_FORMAT!r})")
    meta = data.get("round") or {}
    try:
        instruments = parse_instruments(data.get("instruments"), f"{source}: instruments")
        deadline = Deadline(int(meta.get("deadline_days", instruments.settings.deadline_days)),
                            int(meta.get("extension_days",
                                         instruments.settings.extension_days)))
        requests = int(meta.get("requests", instruments.settings.requests))
        proposals = int(meta.get("proposals", instruments.settings.proposals))
    except InstrumentError:
        raise
    except (TypeError, ValueError) as exc:
        raise fail(f"round: {exc}") from None
    instruments = with_settings(instruments, requests, proposals, deadline)
    closed = [parse_date(d, f"{source}: round.closed_days[{n}]")
              for n, d in enumerate(meta.get("closed_days") or {})]
    calendar = Calendar.of(d for d in closed if d is not None)
    rows = data.get("institutions") or []
    for n, row in enumerate(rows):
        _need(row, ("key", "name", "level", "kind"), f"{source}: institutions[{n}]")
    institutions = pd.DataFrame(
        [{c: row.get(c) for c in INSTITUTION_COLUMNS} for row in rows],
        columns=INSTITUTION_COLUMNS,
    )
    expected = {str(row["key"]): int(row.get("coders") or 1) for row in rows}
    observations = []
    for n, row in enumerate(data.get("observations") or []):
        where = f"{source}: observations[{n}]"
        _need(row, ("institution", "item", "coder"), where)
        observations.append(Observation(
            str(row["institution"]), str(row["item"]), str(row["coder"]), _answer(row, where),
            int(row.get("occasion") or 1)))
    reconciliations = []
    for n, row in enumerate(data.get("reconciliations") or []):
        where = f"{source}: reconciliations[{n}]"
        _need(row, ("institution", "item", "reviewer", "reason"), where)
        reconciliations.append(Reconciliation(
            str(row["institution"]), str(row["item"]), _answer(row, where),
            str(row["reviewer"]), str(row["reason"]), int(row.get("occasion") or 1)))
    scheme = data.get("scheme") or instruments.scheme()
    year = meta.get("year")
    return FieldworkFile(
        year=int(year) if year is not None else None, label=str(meta.get("label") or ""),
        instruments=instruments, scheme=scheme, institutions=institutions,
        observations=observations, reconciliations=reconciliations, deadline=deadline,
        calendar=calendar, expected_coders=expected,
    )


def read_fieldwork(path: Path | str) -> FieldworkFile:
    """Read an exported fieldwork file (JSON)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FieldworkDataError(f"{path.name}: not a readable JSON fieldwork file ({exc})"
                                 ) from None
    return parse_fieldwork(data, path.name)
