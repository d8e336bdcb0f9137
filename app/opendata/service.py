"""What the /data page lists: the public tables with their size, and their downloads.

Functions take a session and never commit. Public means: no account table and no column
naming an account (``package.exported_columns(table, with_accounts=False)``), and only live
rows (withdrawn ones stay in ``flask export``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .dump import dumps_rows, table_rows
from .package import (
    LICENCES,
    SOURCES,
    TABLES,
    column_doc,
    descriptor,
    exported_columns,
    field_type,
    tables,
)


@dataclass
class Column:
    name: str
    type: str
    title: str  # Spanish, as in the schema
    description: str  # in the reader's language


@dataclass
class Dataset:
    name: str
    title: str
    description: str
    licence: str
    sources: list[str]
    rows: int
    columns: list[Column]


def _live_count(session: Session, table: Any) -> int:
    stmt = select(func.count()).select_from(table)
    if "deleted_at" in table.c:
        stmt = stmt.where(table.c.deleted_at.is_(None))
    return session.connection().execute(stmt).scalar() or 0


def public_descriptor(session: Session) -> dict[str, Any]:
    """The package of the public tables and their live rows, as /data/datapackage.json
    serves it (tables without live rows are listed as plain data resources)."""
    empty = {t.name for t in tables() if not _live_count(session, t)}
    return descriptor(empty=empty)


def datasets(session: Session, language: str) -> list[Dataset]:
    """Every public table with its texts in ``language``, licence, sources, live row count
    and columns."""
    out = []
    english = language == "en"
    for table in tables():
        doc = TABLES[table.name]
        licence = LICENCES[doc.licence]
        columns = []
        for column in exported_columns(table, with_accounts=False):
            texts = column_doc(table.name, column.name)
            assert texts is not None
            columns.append(Column(column.name, field_type(column), texts.title,
                                  texts.en if english else texts.es))
        out.append(Dataset(
            name=table.name, title=doc.title(language), description=doc.description(language),
            licence=licence["title" if english else "title_es"],
            sources=[en if english else es for en, es in SOURCES[doc.sources]],
            rows=_live_count(session, table),
            columns=columns,
        ))
    return out


def public_table(name: str) -> Any:
    """The public table called ``name``, or None."""
    return next((t for t in tables() if t.name == name), None)


def _header(table: Any) -> list[str]:
    return [c.name for c in exported_columns(table, with_accounts=False)]


def table_json(session: Session, table: Any) -> str:
    """A public table's live rows in the package's JSON form (an array of objects)."""
    return dumps_rows(_header(table), table_rows(session, table, live_only=True))


def table_cells(session: Session, table: Any) -> tuple[list[str], list[list[Any]]]:
    """A public table's header and live rows for CSV and XLSX (JSON values as text)."""
    header = _header(table)
    objects = {c.name for c in table.columns if field_type(c) == "object"}
    rows = [
        [json.dumps(r[k], ensure_ascii=False) if k in objects and r[k] is not None else r[k]
         for k in header]
        for r in table_rows(session, table, live_only=True)
    ]
    return header, rows
