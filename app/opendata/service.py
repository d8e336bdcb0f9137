"""What the /data page lists: the public tables with their size, and their downloads.

Functions take a session and never commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.downloads import csv_text, xlsx_bytes
from app.models import DataRevision

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
