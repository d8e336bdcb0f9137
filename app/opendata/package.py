"""The data package: every table as a Frictionless tabular resource, documented once.

``descriptor`` builds ``datapackage.json`` from the models (field names, types, required,
primary and foreign keys) and the descriptions in ``package.toml`` beside this file (what each
table and column means, its licence and sources). The /data page shows the same descriptions;
a test fails when a column has none. ``flask export`` writes the package with every table;
/data serves the public ones.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, Table

from app.models import Base
from app.models.accounts import new_session_token

PACKAGE_NAME = "estado-abierto"
PROFILE = "tabular-data-package"

DOCS = tomllib.loads(Path(__file__).with_name("package.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TableDoc:
    """What a table holds, under which licence, from which sources, and what each column is."""

    title: str
    description: str
    licence: str  # a key of LICENCES
    sources: str  # a key of SOURCES
    columns: dict[str, str] = field(default_factory=dict)
    public: bool = True  # listed on /data (accounts are not)


LICENCES: dict[str, dict[str, str]] = DOCS["licences"]
SOURCES: dict[str, list[dict[str, str]]] = {
    key: [{"title": title} for title in titles] for key, titles in DOCS["sources"].items()
}
COMMON: dict[str, str] = DOCS["common"]  # columns shared by many tables, described once
TABLES: dict[str, TableDoc] = {name: TableDoc(**doc) for name, doc in DOCS["tables"].items()}


def column_description(table: str, column: str) -> str | None:
    doc = TABLES.get(table)
    if doc is None:
        return None
    return doc.columns.get(column) or COMMON.get(column)


def undocumented() -> list[str]:
    """Every table.column of the models without a description (a test keeps this empty)."""
    missing = []
    for table in Base.metadata.sorted_tables:
        if table.name not in TABLES:
            missing.append(table.name)
            continue
        missing += [f"{table.name}.{c.name}" for c in table.columns
                    if not column_description(table.name, c.name)]
    return missing


# The Frictionless type of a column, by its SQLAlchemy type (the first that matches).
FIELD_TYPES = ((Boolean, "boolean"), (Integer, "integer"), (Float | Numeric, "number"),
               (DateTime, "datetime"), (Date, "date"), (JSON, "object"))


def field_type(column: Any) -> str:
    return next((name for kind, name in FIELD_TYPES if isinstance(column.type, kind)), "string")


def tables(with_accounts: bool = True, public_only: bool = False) -> list[Table]:
    """The tables of the package, parents before children."""
    return [t for t in Base.metadata.sorted_tables
            if not (public_only and not TABLES[t.name].public)]


# Columns exported only with --with-accounts, and the value an import gives them when the
# package was written without: no password (no one can sign in until given one), a fresh
# session token, no client address of a sign-in attempt.
ACCOUNT_ONLY: dict[tuple[str, str], Callable[[], Any]] = {
    ("app_user", "password_hash"): lambda: "",
    ("app_user", "session_token"): new_session_token,
    ("sign_in_attempt", "address"): lambda: None,
}


def exported_columns(table: Table, with_accounts: bool) -> list[Any]:
    """A table's columns as exported: password hashes, session tokens and the addresses of
    sign-in attempts only with accounts."""
    return [c for c in table.columns
            if with_accounts or (table.name, c.name) not in ACCOUNT_ONLY]


def resource(table: Table, with_accounts: bool, path: str,
             included: set[str] | None = None) -> dict[str, Any]:
    doc = TABLES[table.name]
    names = {c.name for c in exported_columns(table, with_accounts)}
    fields = []
    for column in exported_columns(table, with_accounts):
        spec: dict[str, Any] = {"name": column.name, "type": field_type(column),
                                "description": column_description(table.name, column.name)}
        if not column.nullable:
            spec["constraints"] = {"required": True}
        fields.append(spec)
    schema: dict[str, Any] = {
        "fields": fields,
        "primaryKey": [c.name for c in table.primary_key.columns],
        # JSON keeps null apart from "": nothing is read as missing but null.
        "missingValues": [],
    }
    foreign = []
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        target = fk.column.table.name
        if fk.parent.name in names and (included is None or target in included):
            foreign.append({"fields": [fk.parent.name], "reference": {
                "resource": target, "fields": [fk.column.name]}})
    if foreign:
        schema["foreignKeys"] = foreign
    return {
        "name": table.name,
        "title": doc.title,
        "description": doc.description,
        "path": path,
        "format": "json",
        "mediatype": "application/json",
        "encoding": "utf-8",
        "profile": "tabular-data-resource",
        "licenses": [LICENCES[doc.licence]],
        "sources": SOURCES[doc.sources],
        "schema": schema,
    }


def descriptor(with_accounts: bool = False, public_only: bool = False,
               schema_revision: str | None = None) -> dict[str, Any]:
    """The package descriptor (no date of its own, so equal data gives equal bytes)."""
    chosen = tables(with_accounts, public_only)
    included = {t.name for t in chosen}
    package: dict[str, Any] = {
        "profile": PROFILE,
        "name": PACKAGE_NAME,
        "title": "Estado Abierto: open government in Mexico's states",
        "description": "Local co-creation exercises, national and local action plans, the Open "
                       "Government Metric, boundary layers and the history of every change. "
                       "Each table is a JSON array of rows; null means unknown.",
        "licenses": [LICENCES["project"]],
        "resources": [resource(t, with_accounts, f"{t.name}.json", included) for t in chosen],
    }
    if schema_revision is not None:
        package["estado_abierto_schema"] = schema_revision
    return package
