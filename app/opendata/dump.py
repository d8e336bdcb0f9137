"""Lossless export and import of the whole database as the data package.

``export_package`` writes ``datapackage.json`` and one ``<table>.json`` per table: a JSON array
of rows, one row a line, rows ordered by primary key, columns in the models' order, numbers as
Python prints them, dates and times in ISO 8601, JSON values with sorted keys; nothing about
the export itself (no date), so the same data always gives the same bytes, on SQLite as on
PostgreSQL. ``import_package`` loads such a folder into an empty database in one transaction:
every row is checked against its table before anything is written, and any problem (named by
file, row and field) leaves the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.orm import Session

from .package import ACCOUNT_ONLY, descriptor, exported_columns, field_type, tables

DESCRIPTOR = "datapackage.json"


class PackageError(Exception):
    """A package that cannot be imported, or a database that cannot take it."""


# --- Values -------------------------------------------------------------------------------


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def to_json(value: Any, kind: str) -> Any:
    """A stored value as the package writes it."""
    if value is None:
        return None
    if kind == "object":
        return _sorted_json(json.loads(value) if isinstance(value, str) else value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if kind == "number":
        return float(value)
    return value


def from_json(value: Any, kind: str, where: str) -> Any:
    """A package value as the database takes it; PackageError naming ``where`` if it is not."""
    if value is None:
        return None
    try:
        if kind == "datetime":
            return datetime.fromisoformat(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "string" and isinstance(value, str):
            return value
        if kind == "object" and isinstance(value, dict | list):
            return value
    except (TypeError, ValueError):
        pass
    raise PackageError(f"{where}: {value!r} is not a valid {kind}")


# --- Export -------------------------------------------------------------------------------


def table_rows(session: Session, table: Table, with_accounts: bool = False,
               live_only: bool = False) -> list[dict[str, Any]]:
    """Every row of ``table`` as the package writes it, ordered by primary key.

    Ordered in Python (code points), not by the database's collation, so SQLite and
    PostgreSQL give the same order.
    """
    columns = exported_columns(table, with_accounts)
    kinds = [field_type(c) for c in columns]
    stmt = select(*columns)
    if live_only and "deleted_at" in table.c:
        stmt = stmt.where(table.c.deleted_at.is_(None))
    rows = [
        {c.name: to_json(v, k) for c, v, k in zip(columns, row, kinds, strict=True)}
        for row in session.connection().execute(stmt)
    ]
    keys = [c.name for c in table.primary_key.columns]
    rows.sort(key=lambda r: tuple(r[k] for k in keys))
    return rows


def dumps_rows(header: list[str], rows: Iterable[dict[str, Any]]) -> str:
    """A table's file: a JSON array whose first item is the header, then one row a line."""
    lines = [json.dumps(header, ensure_ascii=False)]
    lines += [json.dumps([r[k] for k in header], ensure_ascii=False) for r in rows]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def dumps_descriptor(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False, indent=2) + "\n"


def schema_revision(session: Session) -> str | None:
    """The database's Alembic revision (the package records it)."""
    try:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table (a database made by create_all)
        session.rollback()
        return None


def export_package(session: Session, folder: Path, with_accounts: bool = False) -> list[str]:
    """Write the whole database into ``folder`` as the data package; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(with_accounts):
        name = f"{table.name}.json"
        header = [c.name for c in exported_columns(table, with_accounts)]
        rows = table_rows(session, table, with_accounts)
        (folder / name).write_text(dumps_rows(header, rows), encoding="utf-8")
        written.append(name)
    package = descriptor(with_accounts=with_accounts)
    (folder / DESCRIPTOR).write_text(dumps_descriptor(package), encoding="utf-8")
    return [DESCRIPTOR, *written]


# --- Import -------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PackageError(f"{path.name}: file missing") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{path.name}: not valid UTF-8 JSON ({exc})") from exc


def _check_empty(session: Session) -> None:
    existing = set(inspect(session.connection()).get_table_names())
    missing = [t.name for t in tables() if t.name not in existing]
    if missing:
        raise PackageError(
            "the database has no tables " + ", ".join(missing)
            + "; run `flask db upgrade` on it first"
        )
    full = [t.name for t in tables()
            if session.connection().execute(select(func.count()).select_from(t)).scalar()]
    if full:
        raise PackageError(
            "the database is not empty (rows in " + ", ".join(full) + "); import only into "
            "an empty database"
        )


def read_package(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Read and check every resource of the package in ``folder``: table -> rows."""
    package = _read_json(folder / DESCRIPTOR)
    resources = {r.get("name"): r for r in package.get("resources", [])
                 if isinstance(r, dict)}
    known = {t.name: t for t in tables()}
    unknown = sorted(set(resources) - set(known), key=str)
    if unknown:
        raise PackageError(f"{DESCRIPTOR}: unknown tables {', '.join(map(str, unknown))}")
    absent = [name for name in known if name not in resources]
    if absent:
        raise PackageError(f"{DESCRIPTOR}: tables missing: {', '.join(absent)}")
    data = {}
    for name, table in known.items():
        path = resources[name].get("path")
        if not isinstance(path, str) or "/" in path or path.startswith("."):
            raise PackageError(f"{DESCRIPTOR}: resource {name} has no plain file path")
        data[name] = _check_rows(table, path, _read_json(folder / path))
    return data


def _check_rows(table: Table, path: str, content: Any) -> list[dict[str, Any]]:
    if not (isinstance(content, list) and content and isinstance(content[0], list)
            and all(isinstance(h, str) for h in content[0])):
        raise PackageError(f"{path}: not a JSON array starting with the header (field names)")
    header, *rows = content
    if len(set(header)) != len(header):
        raise PackageError(f"{path}: a field is named twice in the header")
    columns = {c.name: c for c in table.columns}
    out = []
    for number, items in enumerate(rows, start=1):
        where = f"{path}, row {number}"
        if not isinstance(items, list) or len(items) != len(header):
            raise PackageError(f"{where}: not an array of {len(header)} values")
        row = dict(zip(header, items, strict=True))
        extra = sorted(set(row) - set(columns))
        if extra:
            raise PackageError(f"{where}: unknown fields {', '.join(extra)}")
        values = {}
        for name, column in columns.items():
            if name not in row:
                if (table.name, name) in ACCOUNT_ONLY:  # exported without accounts
                    values[name] = ACCOUNT_ONLY[table.name, name]()
                    continue
                raise PackageError(f"{where}: field {name} missing")
            values[name] = from_json(row[name], field_type(column), f"{where}, field {name}")
            if values[name] is None and not column.nullable:
                raise PackageError(f"{where}, field {name}: required, but null")
        out.append(values)
    return out


def import_package(session: Session, folder: Path) -> dict[str, int]:
    """Load the package in ``folder`` into the (empty) database; return rows per table.

    Nothing is committed here: the caller commits, or rolls back on any error.
    """
    data = read_package(folder)
    _check_empty(session)
    connection = session.connection()
    counts = {}
    for table in tables():
        rows = data[table.name]
        if rows:
            connection.execute(table.insert(), rows)
        counts[table.name] = len(rows)
    if connection.dialect.name == "postgresql":
        _advance_sequences(session)
    return counts


def _advance_sequences(session: Session) -> None:
    """Move PostgreSQL's id sequences past the imported ids (new rows get new ids)."""
    for table in tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and field_type(column) == "integer"
                and len(table.primary_key.columns) == 1
            ):
                session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                ))
