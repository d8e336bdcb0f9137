"""What the /data page lists: the public tables with their size, and their downloads.

Functions take a session and never commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .dump import dumps_rows, table_rows
from .package import LICENCES, SOURCES, TABLES, descriptor, field_type, tables


@dataclass
class Dataset:
    name: str
    title: str
    description: str
    licence: str
    sources: list[str]
    rows: int
    fields: list[dict[str, Any]]


def public_descriptor() -> dict[str, Any]:
    """The package of the public tables, as /data/datapackage.json serves it."""
    return descriptor(public_only=True)


def datasets(session: Session) -> list[Dataset]:
    """Every public table with its description, licence, sources, row count and columns."""
    out = []
    for spec in public_descriptor()["resources"]:
        table = next(t for t in tables() if t.name == spec["name"])
        stmt = select(func.count()).select_from(table)
        if "deleted_at" in table.c:
            stmt = stmt.where(table.c.deleted_at.is_(None))
        doc = TABLES[table.name]
        out.append(Dataset(
            name=table.name, title=doc.title, description=doc.description,
            licence=LICENCES[doc.licence]["title"],
            sources=[s["title"] for s in SOURCES[doc.sources]],
            rows=session.connection().execute(stmt).scalar() or 0,
            fields=spec["schema"]["fields"],
        ))
    return out


def public_table(name: str) -> Any:
    """The public table called ``name``, or None."""
    return next((t for t in tables(public_only=True) if t.name == name), None)


def table_json(session: Session, table: Any) -> str:
    """A public table's live rows in the package's JSON form."""
    header = [c.name for c in table.columns]
    return dumps_rows(header, table_rows(session, table, live_only=True))


def table_cells(session: Session, table: Any) -> tuple[list[str], list[list[Any]]]:
    """A public table's header and live rows for CSV and XLSX (JSON values as text)."""
    header = [c.name for c in table.columns]
    objects = {c.name for c in table.columns if field_type(c) == "object"}
    rows = [
        [json.dumps(r[k], ensure_ascii=False) if k in objects and r[k] is not None else r[k]
         for k in header]
        for r in table_rows(session, table, live_only=True)
    ]
    return header, rows
