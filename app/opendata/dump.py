"""Lossless export and import of the whole database as the data package.

``export_package`` writes ``datapackage.json`` and one ``<table>.json`` per table: a JSON array
of objects (one row per line, the columns in the models' order), rows ordered by primary key,
numbers as Python prints them, dates and times in ISO 8601, JSON values with sorted keys;
nothing about the export itself (no date), so the same data always gives the same bytes, on
SQLite as on PostgreSQL. The descriptor carries each file's SHA-256 (``hash``).

``import_package`` loads such a folder into an empty database in one transaction. Before
anything is written it checks every file against its hash, every row and field against its
table, every primary key for repeats and every reference for a row it names (on both
databases: SQLite does not enforce foreign keys); any problem, named by file, row and field,
leaves the database as it was. The hashes catch a file changed by accident or by hand after
the export; they are no signature (whoever rewrites a file can rewrite its hash).

Uploaded files (evidence, progress reports: every table with a ``file_sha256`` column) go
with the rows: ``export_package`` copies each file a row names, withdrawn rows' included, from
the store (EVIDENCE_FILES_DIR) to ``files/<sha256>`` and lists it in the descriptor's
``files`` (path, hash, bytes); ``import_package`` checks each one's bytes against its hash
(and that every file a row names is there) before anything is written, then puts them back
into the store byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.orm import Session

from .package import descriptor, exported_columns, field_type, is_account_column, tables

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
    """A table's file: a JSON array of objects, one row a line, keys in ``header``'s order."""
    lines = [json.dumps({k: r[k] for k in header}, ensure_ascii=False) for r in rows]
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def dumps_descriptor(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False, indent=2) + "\n"


def schema_revision(session: Session) -> str | None:
    """The database's Alembic revision (the package records it)."""
    try:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table (a database made by create_all)
        session.rollback()
        return None


FILES = "files"
_FILE_PATH = re.compile(r"^files/([0-9a-f]{64})$")


def _file_tables(chosen: Iterable[Table]) -> list[Table]:
    return [t for t in chosen if "file_sha256" in t.c]


def _named_files(session: Session, chosen: Iterable[Table]) -> dict[str, str]:
    """Every file a row names (withdrawn rows too): hash -> the first table naming it."""
    named: dict[str, str] = {}
    for table in _file_tables(chosen):
        for (sha256,) in session.connection().execute(
                select(table.c.file_sha256).where(table.c.file_sha256.is_not(None))):
            named.setdefault(sha256, table.name)
    return named


def export_files(session: Session, folder: Path, store: Path | None,
                 with_accounts: bool = False) -> list[dict[str, Any]]:
    """Copy every file a row names from ``store`` into ``folder``/files; return their entries
    for the descriptor (ordered by hash). PackageError when the store lacks one."""
    from app import files

    entries = []
    for sha256, table in sorted(_named_files(session, tables(with_accounts)).items()):
        try:
            if store is None:
                raise FileNotFoundError(sha256)
            data = files.read(sha256, store)
        except FileNotFoundError:
            raise PackageError(f"{table}: the file {sha256} is missing from the store "
                               f"({store}); restore EVIDENCE_FILES_DIR first") from None
        except ValueError as exc:
            raise PackageError(f"{table}: {exc}") from None
        (folder / FILES).mkdir(exist_ok=True)
        (folder / FILES / sha256).write_bytes(data)
        entries.append({"path": f"{FILES}/{sha256}", "hash": f"sha256:{sha256}",
                        "bytes": len(data)})
    return entries


def export_package(session: Session, folder: Path, with_accounts: bool = False,
                   store: Path | None = None) -> list[str]:
    """Write the whole database into ``folder`` as the data package; return the files.

    Without ``with_accounts``, account data is left out (the accounts table and every column
    naming an account): what remains is the open data, withdrawn rows included. Every
    uploaded file a row names is copied from ``store`` (the folder of EVIDENCE_FILES_DIR)
    into ``files/`` and listed in the descriptor.
    """
    folder.mkdir(parents=True, exist_ok=True)
    file_entries = export_files(session, folder, store, with_accounts)
    written, hashes, empty = [], {}, set()
    for table in tables(with_accounts):
        name = f"{table.name}.json"
        header = [c.name for c in exported_columns(table, with_accounts)]
        rows = table_rows(session, table, with_accounts)
        data = dumps_rows(header, rows).encode("utf-8")
        (folder / name).write_bytes(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
        if not rows:
            empty.add(table.name)
        written.append(name)
    package = descriptor(with_accounts=with_accounts, empty=empty, hashes=hashes,
                         files=file_entries)
    (folder / DESCRIPTOR).write_text(dumps_descriptor(package), encoding="utf-8")
    return [DESCRIPTOR, *written, *(e["path"] for e in file_entries)]


# --- Import -------------------------------------------------------------------------------


def _read_bytes(folder: Path, name: str) -> bytes:
    try:
        return (folder / name).read_bytes()
    except FileNotFoundError as exc:
        raise PackageError(f"{name}: file missing") from exc


def _parse_json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{name}: not valid UTF-8 JSON ({exc})") from exc


def _check_empty(session: Session) -> None:
    existing = set(inspect(session.connection()).get_table_names())
    every = tables(with_accounts=True)
    missing = [t.name for t in every if t.name not in existing]
    if missing:
        raise PackageError(
            "the database has no tables " + ", ".join(missing)
            + "; run `flask db upgrade` on it first"
        )
    full = [t.name for t in every
            if session.connection().execute(select(func.count()).select_from(t)).scalar()]
    if full:
        raise PackageError(
            "the database is not empty (rows in " + ", ".join(full) + "); import only into "
            "an empty database"
        )


def _checked_file(folder: Path, name: str, spec: dict[str, Any]) -> Any:
    """The parsed content of a resource's file, once its bytes match the descriptor's hash."""
    path = spec.get("path")
    if not isinstance(path, str) or "/" in path or "\\" in path or path.startswith("."):
        raise PackageError(f"{DESCRIPTOR}: resource {name} has no plain file path")
    declared = spec.get("hash")
    if not (isinstance(declared, str) and declared.startswith("sha256:")):
        raise PackageError(f"{DESCRIPTOR}: resource {name} has no sha256 hash (every file of "
                           "a package from `flask export` has one)")
    data = _read_bytes(folder, path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != declared.removeprefix("sha256:"):
        raise PackageError(f"{path}: its SHA-256 is {actual}, but {DESCRIPTOR} says "
                           f"{declared.removeprefix('sha256:')}: the file was changed after "
                           "the export")
    return _parse_json(path, data)


def read_files(folder: Path, package: dict[str, Any],
               data: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    """The uploaded files the descriptor lists (hash -> bytes), each checked against its
    hash, and every file a row names among them."""
    listed = package.get(FILES, [])
    if not isinstance(listed, list):
        raise PackageError(f"{DESCRIPTOR}: {FILES} is not a list")
    out: dict[str, bytes] = {}
    for number, entry in enumerate(listed, start=1):
        path = entry.get("path") if isinstance(entry, dict) else None
        match = _FILE_PATH.match(path) if isinstance(path, str) else None
        if match is None or not isinstance(path, str):
            raise PackageError(f"{DESCRIPTOR}: {FILES} entry {number} has no path "
                               "files/<sha256>")
        name = match.group(1)
        if entry.get("hash") != f"sha256:{name}":
            raise PackageError(f"{DESCRIPTOR}: {FILES} entry {number} ({path}): its hash is "
                               f"not sha256:{name}")
        content = _read_bytes(folder, path)
        actual = hashlib.sha256(content).hexdigest()
        if actual != name:
            raise PackageError(f"{path}: its SHA-256 is {actual}, not {name}: the file was "
                               "changed after the export")
        out[name] = content
    for table in _file_tables(tables(with_accounts=True)):
        for number, row in enumerate(data.get(table.name, []), start=1):
            sha256 = row.get("file_sha256")
            if sha256 is not None and sha256 not in out:
                raise PackageError(f"{table.name}.json, row {number}, field file_sha256: the "
                                   f"file {sha256} is not in the package ({FILES}/)")
    return out


def read_package(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Read and check every resource of the package in ``folder``: table -> rows.

    Checks, before anything is written: each file's hash, each row and field against its
    table, repeated primary keys, and that every reference names a row of the package.
    """
    return _read_package(folder)[0]


def _read_package(folder: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, bytes]]:
    """The rows of every table and the uploaded files, all checked."""
    package = _parse_json(DESCRIPTOR, _read_bytes(folder, DESCRIPTOR))
    if not isinstance(package, dict):
        raise PackageError(f"{DESCRIPTOR}: not a JSON object")
    resources: dict[str, dict[str, Any]] = {
        str(r.get("name")): r for r in package.get("resources", []) if isinstance(r, dict)}
    every = {t.name: t for t in tables(with_accounts=True)}
    unknown = sorted(set(resources) - set(every), key=str)
    if unknown:
        raise PackageError(f"{DESCRIPTOR}: unknown tables {', '.join(map(str, unknown))}")
    absent = [t.name for t in tables() if t.name not in resources]
    if absent:
        raise PackageError(f"{DESCRIPTOR}: tables missing: {', '.join(absent)}")
    data = {}
    for name, table in every.items():
        if name in resources:
            content = _checked_file(folder, name, resources[name])
            data[name] = _check_rows(table, resources[name]["path"], content)
        else:  # an account table of a package made without accounts
            data[name] = []
    _check_keys(every, data, {n: r["path"] for n, r in resources.items()})
    return data, read_files(folder, package, data)


def _check_rows(table: Table, path: str, content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        raise PackageError(f"{path}: not a JSON array of rows (objects)")
    columns = {c.name: c for c in table.columns}
    out = []
    for number, row in enumerate(content, start=1):
        where = f"{path}, row {number}"
        if not isinstance(row, dict):
            raise PackageError(f"{where}: not a JSON object (field: value)")
        extra = sorted(set(row) - set(columns))
        if extra:
            raise PackageError(f"{where}: unknown fields {', '.join(extra)}")
        values = {}
        for name, column in columns.items():
            if name not in row:
                if is_account_column(column):
                    # Exported without accounts: no account is named (and, for the password,
                    # no one can sign in until given one).
                    values[name] = "" if not column.nullable else None
                    continue
                raise PackageError(f"{where}: field {name} missing")
            values[name] = from_json(row[name], field_type(column), f"{where}, field {name}")
            if values[name] is None and not column.nullable:
                raise PackageError(f"{where}, field {name}: required, but null")
        out.append(values)
    return out


def _check_keys(every: dict[str, Table], data: dict[str, list[dict[str, Any]]],
                paths: dict[str, str]) -> None:
    """No primary key twice in a table; every foreign key names a row of the package."""
    keys: dict[tuple[str, str], set[Any]] = {}
    for name, table in every.items():
        primary = [c.name for c in table.primary_key.columns]
        seen: set[tuple[Any, ...]] = set()
        for number, row in enumerate(data[name], start=1):
            key = tuple(row[c] for c in primary)
            if key in seen:
                raise PackageError(f"{paths[name]}, row {number}: primary key "
                                   f"{', '.join(primary)} = {', '.join(map(str, key))} "
                                   "is already on an earlier row")
            seen.add(key)
    for name, table in every.items():
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            target, column = fk.column.table.name, fk.column.name
            if (target, column) not in keys:
                keys[(target, column)] = {row[column] for row in data[target]}
            existing = keys[(target, column)]
            for number, row in enumerate(data[name], start=1):
                value = row[fk.parent.name]
                if value is not None and value not in existing:
                    raise PackageError(
                        f"{paths[name]}, row {number}, field {fk.parent.name}: {value!r} names "
                        f"no row of {target} ({target}.{column})"
                        + ("; import a backup made with --with-accounts"
                           if target not in paths else ""))


def import_package(session: Session, folder: Path,
                   store: Path | None = None) -> dict[str, int]:
    """Load the package in ``folder`` into the (empty) database; return rows per table (and,
    under "files", how many uploaded files were put back into ``store``).

    Nothing is committed here: the caller commits, or rolls back on any error. The files are
    written once every row is in (a file already in the store with the same hash is left).
    """
    from app import files

    data, uploaded = _read_package(folder)
    if uploaded and store is None:
        raise PackageError(f"the package holds {len(uploaded)} files but no store was given")
    _check_empty(session)
    connection = session.connection()
    counts = {}
    for table in tables(with_accounts=True):
        rows = data[table.name]
        if rows:
            connection.execute(table.insert(), rows)
        counts[table.name] = len(rows)
    if connection.dialect.name == "postgresql":
        _advance_sequences(session)
    for content in uploaded.values():
        files.store(content, store)
    if uploaded:
        counts[FILES] = len(uploaded)
    return counts


def _advance_sequences(session: Session) -> None:
    """Move PostgreSQL's id sequences past the imported ids (new rows get new ids)."""
    for table in tables(with_accounts=True):
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and field_type(column) == "integer"
                and len(table.primary_key.columns) == 1
            ):
                session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                ))
