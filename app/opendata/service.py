"""What the /data page lists: the public tables with their size, and their downloads.

Functions take a session and never commit. Public means: no account table and no column
naming an account (``package.exported_columns(table, with_accounts=False)``), and only live
rows (withdrawn ones stay in ``flask export``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.downloads import csv_text, xlsx_bytes
from app.models import DataRevision

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

# What each Frictionless field type holds, in the reader's language.
TYPE_LABELS = {
    "string": _l("texto"), "integer": _l("número entero"), "number": _l("número"),
    "date": _l("fecha"), "datetime": _l("fecha y hora (UTC)"), "boolean": _l("sí o no"),
    "object": _l("objeto JSON"),
}


@dataclass
class Column:
    name: str
    type: str  # the Frictionless type, as in datapackage.json
    title: str  # Spanish, as in the schema
    description: str  # in the reader's language

    @property
    def type_label(self) -> str:
        return str(TYPE_LABELS.get(self.type, self.type))


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


# --- Downloads built once per data revision ---------------------------------------------------

# Raise when the files' contents change for the same data (a new column format...).
DOWNLOAD_FORMAT = 1


def table_bytes(session: Session, table: Any, fmt: str) -> bytes:
    """A public table's download as ``fmt`` (json, csv or xlsx)."""
    if fmt == "json":
        return table_json(session, table).encode()
    header, rows = table_cells(session, table)
    return csv_text(header, rows).encode() if fmt == "csv" else xlsx_bytes(header, rows)


def data_revision(session: Session, database: str) -> str:
    """A digest of every dataset's revision (and the database's address): it changes with
    every write that any public table can show, the audit history included."""
    rows = session.execute(select(DataRevision.dataset, DataRevision.revision,
                                  DataRevision.changed_at).order_by(DataRevision.dataset)).all()
    key = repr((DOWNLOAD_FORMAT, database, [tuple(map(str, r)) for r in rows]))
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def cached_download(session: Session, table: Any, fmt: str, folder: Path,
                    database: str) -> Path:
    """The file of a public table's download at the current data revision, built and kept in
    ``folder`` the first time it is asked for (older revisions of it are removed).

    The name is ``<table>.<revision digest>.<fmt>``: the query string plays no part, so no
    argument can make the server build it again. Written to a temporary file and renamed,
    so a reader never sees half a file (two workers building it at once both write whole
    files, the last rename wins).
    """
    revision = data_revision(session, database)
    header = ",".join(c.name for c in table.columns)
    digest = hashlib.blake2b(f"{revision}|{header}".encode(), digest_size=12).hexdigest()
    path = folder / f"{table.name}.{digest}.{fmt}"
    if path.is_file():
        return path
    body = table_bytes(session, table, fmt)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{table.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for old in folder.glob(f"{table.name}.*.{fmt}"):
        if old != path and old.name.count(".") == 2:
            old.unlink(missing_ok=True)
    return path
