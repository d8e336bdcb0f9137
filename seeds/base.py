"""Shared pieces of the seed loaders: reading sourced CSV files and idempotent upserts."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

DATA_DIR = Path(__file__).parent / "data"


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
            yield number, row


def upsert(
    session: Session, model: type, key: dict[str, Any], values: dict[str, Any]
) -> tuple[Any, str]:
    """Create or update the row identified by ``key``; return it and the outcome.

    The outcome is "created", "updated" or "unchanged", so loading twice changes nothing.
    """
    stmt = select(model).filter_by(**key)
    obj = session.scalars(stmt).one_or_none()
    if obj is None:
        obj = model(**key, **values)
        session.add(obj)
        return obj, "created"
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return obj, "updated" if changed else "unchanged"
