"""Shared pieces of the seed loaders: reading sourced CSV files, errors and reports.

Loaders write through ``app.records.upsert`` as SEED_ACTOR, with each row's source: every
change is recorded, and loading twice changes and records nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.schema import Field, FieldError, RecordSchema
from app.schema.fields import in_english

DATA_DIR = Path(__file__).parent / "data"
SEED_ACTOR = "seed"


class SeedError(ValueError):
    """Bad seed input; the message names the file, the row and the field."""

    def __init__(self, path: Path | str, row: int | None, field_name: str | None, problem: str):
        self.path, self.row, self.field_name, self.problem = str(path), row, field_name, problem
        where = Path(path).name
        if row is not None:
            where += f", row {row}"
        if field_name:
            where += f", field '{field_name}'"
        super().__init__(f"{where}: {problem}")


@dataclass
class LoadReport:
    """What a loader did: counts of rows created, updated and left unchanged."""

    dataset: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        return (
            f"{self.dataset}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


def read_csv(path: Path, required: Iterable[str] = ("source",)) -> Iterator[tuple[int, dict]]:
    """Yield (row number as a spreadsheet shows it, row) with empty cells as None.

    Every name in ``required`` must be a column and be filled in on every row.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise SeedError(path, 1, missing[0], "column is missing from the header")
        for number, raw in enumerate(reader, start=2):
            if None in raw:
                raise SeedError(path, number, None, "the row has more fields than the header")
            row = {k: (v.strip() or None) if v else None for k, v in raw.items()}
            for name in required:
                if row.get(name) is None:
                    raise SeedError(path, number, name, "is empty but required")
            if "source" in required:
                from .sources import check_source_cell

                check_source_cell(path, number, row["source"])
            yield number, row



def seed_value(path: Path | str, row: int, column: str, field: Field, value: Any, *,
               required: bool = False) -> Any:
    """One seed cell read by its schema field: the rule the forms and spreadsheets apply."""
    try:
        parsed = field.parse(value)
    except FieldError as error:
        raise SeedError(path, row, column, in_english(error)) from None
    if required and parsed is None:
        raise SeedError(path, row, column, "is empty but required")
    return parsed


def seed_record(path: Path | str, row: int, schema: RecordSchema,
                cells: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """A record's seed cells (field -> (column, text)) read by its schema, rules included."""
    values = {name: seed_value(path, row, column, schema.field(name), value)
              for name, (column, value) in cells.items()}
    for name, message in schema.check(values):
        column = cells[name][0] if name in cells else name
        raise SeedError(path, row, column, in_english(message))
    return values
