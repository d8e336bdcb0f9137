"""Every list of codes the project stores, declared once, with its Spanish labels.

The labels are the Spanish source text of the interface, marked with ``N_`` for the message
catalogue (``make extract-messages``) and translated when shown: ``CODES["GA"]`` is the label
in the request's language (or the Spanish text outside a request, e.g. on the command line).
Models, check constraints, importers, the engine, forms and templates import from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for "mark only")
    """Mark ``message`` for the catalogue without translating it now."""
    return message


def translate(message: str) -> str:
    """Translate ``message`` in a request (Flask-Babel), or return it unchanged."""
    try:
        from flask import has_request_context
        from flask_babel import gettext
    except ImportError:  # the engine runs without Flask
        return message
    return gettext(message) if has_request_context() else message


class CodeList(Mapping[str, str]):
    """An ordered list of codes with their labels; reads as a mapping code -> label."""

    def __init__(self, name: str, labels: Mapping[str, str]) -> None:
        self.name = name
        self._labels = dict(labels)
        self.codes: tuple[str, ...] = tuple(self._labels)

    def __getitem__(self, code: str) -> str:
        return translate(self._labels[code])

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return f"CodeList({self.name!r}, {self.codes!r})"

    def label(self, code: object, default: str | None = None) -> str:
        """The label of ``code``; the code itself (or ``default``) when it is not listed."""
        if isinstance(code, str) and code in self._labels:
            return self[code]
        return default if default is not None else ("" if code is None else str(code))

    def sql_in(self, column: str) -> str:
        """SQL check that ``column`` holds one of the codes."""
        return f"{column} IN ({', '.join(repr(c) for c in self.codes)})"


# --- States -----------------------------------------------------------------------------

# INEGI's codes of Mexico's 32 federal entities (cve_ent), "01" (Aguascalientes) to "32"
# (Zacatecas); the names are in the state table (seeds/data, from INEGI's catalogue).
STATE_CODES: tuple[str, ...] = tuple(f"{n:02d}" for n in range(1, 33))

# --- The Open Government Metric -------------------------------------------------------

INDICES = CodeList("index", {
    "GA": N_("Índice de Gobierno Abierto"),
    "T": N_("Transparencia"),
    "P": N_("Participación"),
    "TG": N_("Transparencia, perspectiva gubernamental"),
    "TC": N_("Transparencia, perspectiva ciudadana"),
    "PG": N_("Participación, perspectiva gubernamental"),
    "PC": N_("Participación, perspectiva ciudadana"),
})
SUBINDICES = ("TG", "TC", "PG", "PC")
MAIN_INDICES = ("GA", "T", "P")
# Extra 2017 indices: the government's and the citizen's perspective.
PERSPECTIVES = CodeList("perspective", {
    "GAg": N_("Gobierno abierto, perspectiva gubernamental"),
    "GAc": N_("Gobierno abierto, perspectiva ciudadana"),
})
ALL_INDICES = CodeList("any index", {**INDICES._labels, **PERSPECTIVES._labels})

LEVELS = CodeList("level", {
    "federal": N_("Federal"),
    "state": N_("Estatal"),
    "municipal": N_("Municipal"),
})
INSTITUTION_TYPES = CodeList("institution type", {
    "autonomous": N_("Autónomo"),
    "decentralized": N_("Descentralizado"),
    "state_executive": N_("Ejecutivo estatal"),
    "federal_executive": N_("Ejecutivo federal"),
    "trust": N_("Fideicomiso"),
    "judicial": N_("Judicial"),
    "legislative": N_("Legislativo"),
    "municipality": N_("Municipio"),
    "party": N_("Partido político"),
    "union": N_("Sindicato"),
    "university": N_("Universidad"),
    "electoral": N_("Órgano electoral"),
    "guarantor": N_("Órgano garante"),
    "other": N_("Otro"),
})
# How a round's results are grouped (the engine's ``aggregate(frame, by)``).
GROUPINGS = CodeList("grouping", {
    "national": N_("Nacional"),
    "state": N_("Por estado"),
    "level": N_("Por nivel de gobierno"),
    "type": N_("Por tipo de institución"),
})
# Scopes of a published figure (PublishedFigure.scope): the groupings, and one institution
# (scope_key "<cve_ent or federal>:<type>:<name as printed>", e.g. the best of each state).
FIGURE_SCOPES = (*GROUPINGS.codes, "institution")
FEDERATION = N_("Federación")
NATIONAL = N_("Nacional")
# Map classes: fixed intervals (comparable across rounds) or the round's quantiles.
CLASS_SCHEMES = CodeList("classification", {
    "fixed": N_("Intervalos fijos de 0.05 (comparables entre rondas)"),
    "quantile": N_("Cuantiles de la ronda"),
})

# --- Local co-creation exercises and action plans --------------------------------------

STAGES = CodeList("stage", {
    "none": N_("Sin firmar"),
    "declaration": N_("Declaratoria firmada"),
    "secretariat": N_("Secretariado instalado"),
    "plan": N_("Plan publicado"),
})
# The order a list sorted by stage shows, furthest first.
STAGE_ORDER = ("plan", "secretariat", "declaration", "none")
# Whether a plan is national or local.
SCOPES = CodeList("scope", {"national": N_("Nacional"), "local": N_("Local")})
SECTORS = CodeList("sector", {
    "gobierno": N_("Gobierno"),
    "sociedad_civil": N_("Sociedad civil"),
    "organismo_garante": N_("Organismo garante"),
    "otro": N_("Otros integrantes"),
})
MILESTONE_STATUSES = CodeList("milestone status", {
    "not_started": N_("No iniciado"),
    "in_progress": N_("En proceso"),
    "complete": N_("Completo"),
    "verified": N_("Verificado"),
})
# A commitment's status as its plan's follow-up declares it (Commitment.status; NULL: unknown).
# Its progress is still derived from its milestones; this is what the source says.
COMMITMENT_STATUSES = CodeList("commitment status", {
    **MILESTONE_STATUSES._labels,
    "withdrawn": N_("Retirado"),
})
# A commitment's progress state, derived from its milestones (and "off_track" as a filter).
PROGRESS_STATES = CodeList("progress state", {
    "unknown": N_("Sin datos de hitos"),
    **MILESTONE_STATUSES._labels,
    "off_track": N_("Retrasado"),
})
# What the editing desk lists by due date (app/edit/desk.py): commitments with a milestone past
# due, with one due within DESK_SOON_DAYS, or with no recorded change in DESK_STALE_DAYS.
DESK_DUE = CodeList("desk due", {
    "overdue": N_("Con hitos vencidos"),
    "soon": N_("Con hitos que vencen pronto"),
    "stale": N_("Necesita actualización"),
})
DESK_SOON_DAYS = 30
DESK_STALE_DAYS = 90
AUDIT_ACTIONS = CodeList("action", {
    "create": N_("Creación"),
    "update": N_("Modificación"),
    "delete": N_("Eliminación"),
    "restore": N_("Restauración"),
})
# Account roles: an admin does everything; an editor edits one state's tracker records.
ROLES = CodeList("role", {"admin": N_("Administración"), "editor": N_("Edición de un estado")})
# Roles in one fieldwork round of the metric, given to existing accounts per round.
FIELDWORK_ROLES = CodeList("fieldwork role", {
    "coordinator": N_("Coordinación de la ronda"),
    "coder": N_("Codificación"),
    "reviewer": N_("Revisión y conciliación"),
})
# How a round's sample was chosen (FieldworkSample.chosen_by).
SAMPLE_METHODS = CodeList("sample method", {
    "quota": N_("Por cuotas (sorteo con semilla)"),
    "listed": N_("Listada"),
})
# What came of a sign-in attempt (SignInAttempt.outcome); every one is recorded.
SIGN_IN_OUTCOMES = CodeList("sign-in outcome", {
    "success": N_("Sesión iniciada"),
    "wrong_password": N_("Contraseña incorrecta"),
    "disabled": N_("Cuenta desactivada"),
    "unknown_account": N_("Cuenta inexistente"),
    "password_reset": N_("Contraseña nueva con un enlace de restablecimiento"),
})

# --- Sources and the basis of a value ----------------------------------------------------

# What kind of document a registered source is (Source.kind).
SOURCE_KINDS = CodeList("source kind", {
    "official_report": N_("Informe oficial"),
    "press": N_("Nota de prensa"),
    "government_self_report": N_("Autoinforme del gobierno"),
    "dataset": N_("Conjunto de datos"),
    "web_page": N_("Página web"),
})
# How a value came to be (Assessment.basis, PublishedFigure.basis).
BASES = CodeList("basis", {
    "published": N_("Según la publicación"),
    "computed": N_("Calculado aquí"),
    "self_reported": N_("Autoinformado por el gobierno"),
    "inferred": N_("Inferido"),
    "press": N_("Según la prensa"),
})
# How a registered source's title was written (Source.title_basis). A title made from the
# page's address is kept only with the reason the page's own title could not be read.
TITLE_BASES = CodeList("title basis", {
    "printed": N_("Título tal como lo imprime la fuente"),
    "described": N_("Descripción hecha aquí (la fuente no tiene título propio)"),
    "address": N_("Título hecho con la dirección de la página"),
})
# How a recorded plan stands to a published headline count (ProgrammeCountPlan.role).
COUNT_ROLES = CodeList("count role", {
    "counted": N_("Dentro de la cifra"),
    "outside": N_("Fuera de la cifra"),
    "undetermined": N_("No se sabe si está dentro"),
})
# The programme an action plan belongs to (ActionPlan.programme).
PROGRAMMES = CodeList("programme", {
    "inai_cocreacion": N_("Cocreación desde lo Local (INAI)"),
    "ogp_local": N_("OGP Local"),
    "ogp_national": N_("Alianza para el Gobierno Abierto, plan nacional"),
})

# --- Files ------------------------------------------------------------------------------

# The kinds of file an evidence item or a progress report may hold, by the media type read
# from the file's content (never from its name): documents and pictures an agency keeps. No
# HTML, SVG, script or archive: nothing a browser could run. Each is served as a download.
FILE_TYPES = CodeList("file type", {
    "application/pdf": N_("PDF"),
    "image/png": N_("Imagen PNG"),
    "image/jpeg": N_("Imagen JPEG"),
    "image/gif": N_("Imagen GIF"),
    "image/webp": N_("Imagen WebP"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        N_("Documento de Word (DOCX)"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        N_("Hoja de cálculo de Excel (XLSX)"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        N_("Presentación de PowerPoint (PPTX)"),
    "application/vnd.oasis.opendocument.text": N_("Documento de texto ODF (ODT)"),
    "application/vnd.oasis.opendocument.spreadsheet": N_("Hoja de cálculo ODF (ODS)"),
    "application/vnd.oasis.opendocument.presentation": N_("Presentación ODF (ODP)"),
})
