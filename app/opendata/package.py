"""The data package: every table as a Frictionless resource, documented once, in two languages.

``descriptor`` builds ``datapackage.json`` from the models (field names, types, required,
primary and foreign keys) and the texts in ``package.toml`` beside this file (what each table
and column is, in Spanish and English, its licence and sources). Column names are English;
each table and column has a Spanish ``title``, an English ``description`` and a Spanish
``description_es``. The /data page shows the same texts in the reader's language; a test
fails when a column has none.

Account data (the tables marked ``public = false`` and every column that refers to them,
such as ``audit_event.user_id``) is in a package only with ``with_accounts`` (``flask export
--with-accounts``, a private backup): never on /data, and not in a plain export.

Each table is a JSON array of objects, one per row. frictionless-py (5.x) cannot read an
empty JSON array as a table, so a table without rows is listed as a plain data resource
(its schema kept) and the package's profile is ``data-package``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, Numeric, Table

from app.models import Base

PACKAGE_NAME = "estado-abierto"
PROFILE = "data-package"
TABLE_PROFILE = "tabular-data-resource"
EMPTY_PROFILE = "data-resource"

DOCS = tomllib.loads(Path(__file__).with_name("package.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ColumnDoc:
    """A column's Spanish title and its description in English and in Spanish."""

    title: str
    en: str
    es: str


@dataclass(frozen=True)
class TableDoc:
    """What a table holds (in both languages), its licence and sources, and its columns."""

    title_es: str
    title_en: str
    description_en: str
    description_es: str
    licence: str  # a key of LICENCES
    sources: str  # a key of SOURCES
    columns: dict[str, ColumnDoc] = field(default_factory=dict)
    public: bool = True  # False: account data (only with --with-accounts, never on /data)

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_es

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_es


def _column_docs(raw: dict[str, list[str]]) -> dict[str, ColumnDoc]:
    return {name: ColumnDoc(*texts) for name, texts in raw.items()}


LICENCES: dict[str, dict[str, str]] = DOCS["licences"]
# Each source: its English and Spanish titles.
SOURCES: dict[str, list[tuple[str, str]]] = {
    key: [(en, es) for en, es in titles] for key, titles in DOCS["sources"].items()
}
COMMON: dict[str, ColumnDoc] = _column_docs(DOCS["common"])  # shared columns, described once
TABLES: dict[str, TableDoc] = {
    name: TableDoc(**{**doc, "columns": _column_docs(doc.get("columns", {}))})
    for name, doc in DOCS["tables"].items()
}


def column_doc(table: str, column: str) -> ColumnDoc | None:
    doc = TABLES.get(table)
    if doc is None:
        return None
    return doc.columns.get(column) or COMMON.get(column)


def undocumented() -> list[str]:
    """Every table.column of the models without its three texts (a test keeps this empty)."""
    missing = []
    for table in Base.metadata.sorted_tables:
        if table.name not in TABLES:
            missing.append(table.name)
            continue
        for column in table.columns:
            doc = column_doc(table.name, column.name)
            if doc is None or not (doc.title and doc.en and doc.es):
                missing.append(f"{table.name}.{column.name}")
    return missing


# The Frictionless type of a column, by its SQLAlchemy type (the first that matches).
FIELD_TYPES = ((Boolean, "boolean"), (Integer, "integer"), (Float | Numeric, "number"),
               (DateTime, "datetime"), (Date, "date"), (JSON, "object"))


def field_type(column: Any) -> str:
    return next((name for kind, name in FIELD_TYPES if isinstance(column.type, kind)), "string")


def is_account_table(table: Table) -> bool:
    return not TABLES[table.name].public


def is_account_column(column: Column) -> bool:
    """A column that names an account: a foreign key to an account table, or a password."""
    if (column.table.name, column.name) == ("app_user", "password_hash"):
        return True
    return any(not TABLES[fk.column.table.name].public for fk in column.foreign_keys)


def tables(with_accounts: bool = False) -> list[Table]:
    """The tables of a package, parents before children; account tables only with accounts."""
    return [t for t in Base.metadata.sorted_tables if with_accounts or not is_account_table(t)]


def exported_columns(table: Table, with_accounts: bool) -> list[Column]:
    """A table's columns in a package: those naming accounts only with accounts."""
    return [c for c in table.columns if with_accounts or not is_account_column(c)]


def resource(table: Table, with_accounts: bool, path: str, included: set[str],
             empty: bool = False, hash_: str | None = None) -> dict[str, Any]:
    doc = TABLES[table.name]
    columns = exported_columns(table, with_accounts)
    fields = []
    for column in columns:
        texts = column_doc(table.name, column.name)
        assert texts is not None, f"{table.name}.{column.name} is not documented"
        spec: dict[str, Any] = {"name": column.name, "type": field_type(column),
                                "title": texts.title, "description": texts.en,
                                "description_es": texts.es}
        if not column.nullable:
            spec["constraints"] = {"required": True}
        fields.append(spec)
    schema: dict[str, Any] = {
        "fields": fields,
        "primaryKey": [c.name for c in table.primary_key.columns],
        # JSON keeps null apart from "": nothing is read as missing but null.
        "missingValues": [],
    }
    names = {c.name for c in columns}
    foreign = []
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        target = fk.column.table.name
        if fk.parent.name in names and target in included:
            foreign.append({"fields": [fk.parent.name], "reference": {
                "resource": target, "fields": [fk.column.name]}})
    if foreign:
        schema["foreignKeys"] = foreign
    out: dict[str, Any] = {
        "name": table.name,
        "title": doc.title_es,
        "description": doc.description_en,
        "description_es": doc.description_es,
        "path": path,
        "format": "json",
        "mediatype": "application/json",
        "encoding": "utf-8",
        "profile": EMPTY_PROFILE if empty else TABLE_PROFILE,
        "licenses": [{"name": LICENCES[doc.licence]["name"],
                      "title": LICENCES[doc.licence]["title"]}],
        "sources": [{"title": en} for en, _es in SOURCES[doc.sources]],
        "schema": schema,
    }
    if hash_ is not None:
        out["hash"] = f"sha256:{hash_}"
    return out


def descriptor(with_accounts: bool = False, empty: set[str] | frozenset[str] = frozenset(),
               hashes: dict[str, str] | None = None,
               schema_revision: str | None = None,
               files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The package descriptor (no date of its own, so equal data gives equal bytes).

    ``empty`` names the tables without rows (listed as plain data resources); ``hashes``
    gives each file's SHA-256 (``flask export`` writes them, ``flask import`` checks them);
    ``files`` lists the uploaded files copied into files/ (path, hash, bytes).
    """
    chosen = tables(with_accounts)
    included = {t.name for t in chosen}
    package: dict[str, Any] = {
        "profile": PROFILE,
        "name": PACKAGE_NAME,
        "title": "Estado Abierto: el gobierno abierto en los estados de México",
        "description": "Local co-creation exercises, national and local action plans, the Open "
                       "Government Metric, boundary layers and the history of every change. "
                       "Each table is a JSON array of objects, one per row; null means unknown.",
        "description_es": "Ejercicios locales de cocreación, planes de acción nacionales y "
                          "locales, la Métrica de Gobierno Abierto, capas de límites y el "
                          "historial de cada cambio. Cada tabla es un arreglo JSON de objetos, "
                          "uno por fila; null significa desconocido.",
        "licenses": [{"name": LICENCES["project"]["name"],
                      "title": LICENCES["project"]["title"]}],
        "resources": [
            resource(t, with_accounts, f"{t.name}.json", included, t.name in empty,
                     (hashes or {}).get(f"{t.name}.json"))
            for t in chosen
        ],
    }
    if schema_revision is not None:
        package["estado_abierto_schema"] = schema_revision
    if files is not None:
        # Not resources (they are not tables): the evidence's and progress reports' files,
        # each named files/<sha256> as their rows' file_sha256 says.
        package["files"] = files
    return package
