"""The data package: every table as a Frictionless tabular resource, documented once here.

``descriptor`` builds ``datapackage.json`` from the models (field names, types, required,
primary and foreign keys) and the descriptions below (what each table and column means, its
licence and sources). The /data page shows the same descriptions; a test fails when a column
has none. ``flask export`` writes the package with every table; /data serves the public ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, Table

from app.models import Base

PACKAGE_NAME = "estado-abierto"
PROFILE = "tabular-data-package"

LICENCES = {
    "inegi": {"name": "other-at", "title": "INEGI free-use terms (Términos de libre uso de la "
              "información del INEGI): reuse with attribution"},
    "compiled": {"name": "other-at", "title": "Facts compiled from public pages, each row "
                 "citing its source; the sources' own terms apply"},
    "inai": {"name": "other-at", "title": "Public reports of INAI, CIDE and El Colegio de "
             "México; figures quoted as published, with their source"},
    "project": {"name": "other-at", "title": "Records kept by Estado Abierto (no licence of "
                "their own is stated); cite the project and the sources named in each row"},
}

SOURCES = {
    "inegi": [{"title": "INEGI, Catálogo Único de Claves Geoestadísticas"},
              {"title": "ISO 3166-2:MX"}],
    "local": [{"title": "UNDP/INAI 'Agentes Locales de Cambio' site (GobiernoFacil/agentes-v2), "
               "press reports and INAI documents; the address is on every row"}],
    "national": [{"title": "Open Government Partnership: Mexico member page, commitment pages, "
                  "IRM reports; civil-society self-assessment (2012)"}],
    "metric": [{"title": "INAI and CIDE, Métrica de Gobierno Abierto reports (2017, 2019, "
                "2021) and INAI–El Colegio de México (2023); the source is on every row"}],
    "round_files": [{"title": "The metric rounds' institution files as imported (file name "
                     "and SHA-256 in metric_round)"}],
    "geo": [{"title": "INEGI, Marco Geoestadístico (layers imported by the user)"}],
    "project": [{"title": "Estado Abierto: recorded by the application"}],
}


@dataclass(frozen=True)
class TableDoc:
    """What a table holds, under which licence, from which sources, and what each column is."""

    title: str
    description: str
    licence: str
    sources: str
    columns: dict[str, str] = field(default_factory=dict)
    public: bool = True  # listed on /data (accounts are not)


# Columns shared by many tables, described once.
COMMON = {
    "id": "Row id, stable: other tables refer to it",
    "version": "Edit counter of the row (optimistic locking); 1 when created",
    "deleted_at": "When the row was withdrawn (soft delete, UTC); empty while it is live",
    "source": "Where the row's facts come from: an address or a citation",
    "state_cve": "INEGI code of the state (01..32); see state.cve_ent",
    "note": "A remark on the row",
    "notes": "Remarks on the row",
    "basis": "What the figure rests on: published, computed, self_reported, inferred or press",
    "reasoning": "Why an inferred figure was inferred",
    "commitment_id": "The commitment (commitment.id)",
}

TABLES: dict[str, TableDoc] = {
    "state": TableDoc(
        "States", "Mexico's 32 federal entities with their INEGI codes.", "inegi", "inegi",
        {"cve_ent": "INEGI state code, two digits (01..32)",
         "name": "Official INEGI name", "short_name": "Name as commonly written",
         "iso_3166_2": "ISO 3166-2 code (MX-AGU...)"}),
    "local_exercise": TableDoc(
        "Local co-creation exercises",
        "Each state's 'Gobierno Abierto: Cocreación desde lo Local' exercise; dates keep the "
        "source's precision (YYYY, YYYY-MM or YYYY-MM-DD).", "compiled", "local",
        {"declaration_date": "Date the joint declaration was signed",
         "stl_installed_date": "Date the Local Technical Secretariat was installed",
         "facilitator": "Who facilitated the exercise",
         "status_text": "Last known status, as the source words it",
         "status_as_of": "Date of that status",
         "stage": "Furthest stage the sources show: none, declaration, secretariat, plan; empty "
                  "when unknown"}),
    "stl_member": TableDoc(
        "Local Technical Secretariat members", "Members of each state's STL by sector.",
        "compiled", "local",
        {"exercise_id": "The exercise (local_exercise.id)",
         "sector": "gobierno, sociedad_civil, organismo_garante or otro",
         "name": "Member's name as published"}),
    "programme_count": TableDoc(
        "Programme headline counts", "Dated headline counts of the local programme as "
        "published.", "compiled", "local",
        {"as_of": "Date of the count", "states_joined": "States that joined",
         "stl_installed": "Secretariats installed", "plans_published": "Local plans published",
         "commitments": "Commitments published"}),
    "action_plan": TableDoc(
        "Action plans", "National OGP action plans and states' local action plans.",
        "compiled", "national",
        {"key": "Stable key (mx-4, local-04-2017...)", "scope": "national or local",
         "programme": "Programme the plan belongs to",
         "number": "Number of a national plan", "title": "Title",
         "period_start": "First year of the plan's period",
         "period_end": "Last year of the plan's period",
         "published_date": "Publication date (source's precision)",
         "commitments_published": "Commitments the source says the plan has",
         "proactive_published": "Proactive commitments the source says the plan has"}),
    "commitment": TableDoc(
        "Commitments", "Commitments of the action plans. Progress is derived from milestones, "
        "never stored.", "compiled", "national",
        {"plan_id": "The plan (action_plan.id)", "number": "Sequence number in the plan",
         "label": "Number as the source prints it when not a plain number (P1, 43 y 44)",
         "ogp_id": "OGP identifier (MX0075...)", "title": "Title as the source gives it",
         "title_es": "Title in Spanish, where the source gives one",
         "title_en": "Title in English, where the source gives one",
         "problem": "Problem addressed", "objective": "Objective",
         "responsible": "Responsible institution(s)",
         "counterpart": "Civil-society counterpart", "status": "Status as the source states it",
         "updated_at": "Last change of the row (UTC)"}),
    "commitment_theme": TableDoc(
        "Commitment themes", "Theme tags of commitments.", "compiled", "national",
        {"theme": "Theme code"}),
    "commitment_sdg": TableDoc(
        "Commitment SDG goals", "Sustainable Development Goals a commitment contributes to.",
        "compiled", "national", {"goal": "Goal number, 1..17"}),
    "assessment": TableDoc(
        "Commitment assessments", "Grades given to commitments by evaluations (IRM reports, "
        "civil-society reviews).", "compiled", "national",
        {"framework": "Who assessed (irm-results-2019, osc-2012...)",
         "aspect": "What was assessed (early_results, overall...)",
         "value": "The grade as given"}),
    "milestone": TableDoc(
        "Milestones", "Milestones of commitments; a commitment's progress derives from their "
        "weights and statuses.", "compiled", "national",
        {"number": "Sequence number in the commitment", "title": "Title",
         "weight": "Relative weight (equal weights when any is missing)",
         "start_date": "Start date", "due_date": "Due date",
         "status": "not_started, in_progress, complete or verified",
         "progress": "Share done while in progress (0..1), when the source states it",
         "completed_on": "Completion date"}),
    "evidence": TableDoc(
        "Evidence", "Links or file references proving a milestone's or commitment's status.",
        "compiled", "national",
        {"milestone_id": "The milestone (milestone.id), if any", "title": "Title",
         "url": "Public address", "file_ref": "File reference",
         "dated": "The evidence's own date", "proves": "What it shows",
         "added_by_id": "Account that added it (app_user.id)",
         "added_by_label": "Who added it, as shown publicly (seed, an agency)",
         "added_at": "When it was added (UTC)"}),
    "institution": TableDoc(
        "Institutions", "Public bodies measured by the Open Government Metric, matched across "
        "rounds by a stable key.", "inai", "round_files",
        {"key": "Stable key level:state:folded name", "name": "Name",
         "level": "federal, state or municipal", "kind": "Institution type code",
         "state_cve": "INEGI state code; empty for federal institutions",
         "municipality_code": "INEGI 3-digit municipality code (municipal only)"}),
    "institution_alias": TableDoc(
        "Institution name variants", "Every spelling a round's file used for an institution.",
        "inai", "round_files",
        {"institution_id": "The institution (institution.id)", "name": "The spelling",
         "alias_key": "Normalised form (scope + folded name) that identifies the variant"}),
    "metric_round": TableDoc(
        "Metric rounds", "Editions of the Open Government Metric with their weight schemes.",
        "inai", "metric",
        {"year": "Year of the round", "label": "Name of the round",
         "weight_scheme": "Weights of each sub-index's components (JSON object)",
         "imported_file": "Name of the institution file imported",
         "imported_sha256": "SHA-256 of that file", "imported_at": "When it was imported (UTC)"}),
    "metric_score": TableDoc(
        "Metric scores", "Each institution's scores in each round as its file gave them "
        "(T, P and GA derived where the file lacks them).", "inai", "round_files",
        {"round_id": "The round (metric_round.id)",
         "institution_id": "The institution (institution.id)",
         "tg": "Government transparency, 0..1", "tc": "Citizen transparency, 0..1",
         "pg": "Government participation, 0..1", "pc": "Citizen participation, 0..1",
         "t": "Transparency (TG+TC)/2 as given, 0..1", "p": "Participation (PG+PC)/2, 0..1",
         "ga": "Open government index (T+P)/2, 0..1",
         "components": "Component values when the file has them (JSON object)",
         "source_row": "Row of the file", "source_name": "Name as the file wrote it"}),
    "published_figure": TableDoc(
        "Published figures", "Figures exactly as official reports printed them, to check "
        "computed results against.", "inai", "metric",
        {"round_id": "The round (metric_round.id)",
         "scope": "national, state, level or type",
         "scope_key": "Empty for national; the state code (or federal), level or type",
         "index_name": "GA, T, P, TG, TC, PG, PC, GAg, GAc, or N for a count",
         "value": "The value as printed", "decimals": "Decimals as printed",
         "publication": "Empty for the round's report; another key for a second publication"}),
    "boundary_layer": TableDoc(
        "Boundary layers", "Imported INEGI boundary layers (GeoJSON in EPSG:4326), drawn "
        "instead of the bundled layer when active.", "inegi", "geo",
        {"level": "state or municipal", "name": "Layer name",
         "original_crs": "CRS of the imported file", "feature_count": "Number of features",
         "geojson": "The layer as GeoJSON text", "active": "Whether the maps draw it",
         "imported_at": "When it was imported (UTC)"}),
    "source": TableDoc(
        "Sources", "The documents the data rests on.", "project", "project",
        {"key": "Stable short name the seed files cite", "publisher": "Publisher",
         "title": "Title", "date": "Date (source's precision)", "url": "Public address",
         "kind": "Kind of source"}),
    "source_link": TableDoc(
        "Source citations", "Which record cites which source.", "project", "project",
        {"source_id": "The source (source.id)", "entity": "Table of the citing record",
         "entity_id": "Id of the citing record", "detail": "Where in the source, or what it "
         "supports"}),
    "audit_event": TableDoc(
        "Change history", "Every recorded change: who, when, on what source, before and after.",
        "project", "project",
        {"at": "When (UTC)", "user_id": "Account that made it (app_user.id), if any",
         "actor": "Who, as shown publicly (seed, import, an agency)",
         "action": "create, update, delete or restore", "entity": "Table changed",
         "entity_id": "Id of the row changed", "summary": "What changed, in words",
         "before": "Values before (JSON object)", "after": "Values after (JSON object)",
         "source": "What the change rests on"}),
    "data_revision": TableDoc(
        "Data revisions", "A counter per dataset, raised by every change (caches and ETags).",
        "project", "project",
        {"dataset": "Dataset name", "revision": "Counter",
         "changed_at": "Last change (UTC)"}),
    "app_user": TableDoc(
        "Accounts", "Editors' and administrators' accounts (exported for backups only; "
        "password hashes only with --with-accounts).", "project", "project",
        {"email": "Sign-in address", "name": "Name", "password_hash": "Argon2 hash",
         "role": "admin or editor", "agency": "Agency the account acts for (shown publicly)",
         "active": "Whether it may sign in", "created_at": "When it was created (UTC)"},
        public=False),
}


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


def field_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Float | Numeric):
        return "number"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return "object"
    return "string"


def tables(with_accounts: bool = True, public_only: bool = False) -> list[Table]:
    """The tables of the package, parents before children."""
    return [t for t in Base.metadata.sorted_tables
            if not (public_only and not TABLES[t.name].public)]


def exported_columns(table: Table, with_accounts: bool) -> list[Any]:
    """A table's columns as exported: password hashes only with accounts."""
    return [c for c in table.columns
            if with_accounts or (table.name, c.name) != ("app_user", "password_hash")]


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
