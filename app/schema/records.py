"""One declared schema per kind of record an agency edits: the only place its rules live.

The web forms (app/edit/forms.py builds them from here), the spreadsheet upload and download
(app/edit/sheets.py), the seed loaders, the history and feeds (app/schema/history.py) and the
API read these declarations: a field's type and unit, its label and help, whether it is
required, its bounds, the rules that tie fields together, how a new record is numbered and
keyed, who added an evidence item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import records
from app.models import (
    ActionPlan,
    Assessment,
    Base,
    Commitment,
    Evidence,
    FieldworkObservation,
    FieldworkReconciliation,
    LocalExercise,
    Milestone,
    ProgrammeCount,
    ProgressReport,
    Source,
    StlMember,
    User,
)
from common.codes import (
    BASES,
    COMMITMENT_STATUSES,
    FILE_TYPES,
    MILESTONE_STATUSES,
    PROGRAMMES,
    SECTORS,
    SOURCE_KINDS,
    STAGES,
    TITLE_BASES,
)

from .fields import Field, FieldError

# A rule reads a record's parsed values and names each field it refuses, with why.
Problem = tuple[str, Any]
Rule = Callable[[Mapping[str, Any]], Iterable[Problem]]

PARTIAL_HELP = _l("AAAA, AAAA-MM o AAAA-MM-DD: la precisión que da la fuente.")


@dataclass(frozen=True)
class Parsed:
    """A record's values as parsed, and the problems found (field name, message)."""

    values: dict[str, Any]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class RecordSchema:
    """What one kind of record is: its fields in order, its rules, how it is numbered."""

    name: str
    model: type[Base]
    label: Any
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = ()
    # The column whose rows share one sequence of numbers (a commitment's milestones).
    numbered_within: str | None = None
    # A rule over all the records under one parent (every milestone of a commitment).
    group_rule: Callable[[list[Mapping[str, Any]]], Iterable[Problem]] | None = None
    # What stands as the source of a change when none is typed, in order: a field of the
    # record (an evidence's URL) or "file", the file uploaded with it.
    sourced_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field:
        return self._by_name[name]  # type: ignore[attr-defined]  # set in __post_init__

    def has(self, name: str) -> bool:
        return name in self._by_name  # type: ignore[attr-defined]  # set in __post_init__

    @property
    def files(self) -> bool:
        """Whether a record of this kind may hold a file (``file_fields``)."""
        return self.has("file_sha256")

    @property
    def editable(self) -> tuple[Field, ...]:
        """The fields a person changes (forms, spreadsheets), in order."""
        return tuple(f for f in self.fields if not (f.readonly or f.new_only))

    @property
    def creatable(self) -> tuple[Field, ...]:
        """The fields a person types when adding a record, in order."""
        return tuple(f for f in self.fields if not f.readonly)

    def parse(self, raw: Mapping[str, Any], names: Iterable[str] | None = None,
              context: Mapping[str, Any] | None = None, rules: bool = True) -> Parsed:
        """Parse ``raw`` (field name -> typed text or cell) and check the rules.

        Every field of ``names`` (default: every editable field) is read from ``raw`` (a
        missing one is empty); the rules run (unless ``rules`` is False: something else was
        refused already) on the values when every field parsed, with ``context`` (the stored
        record's values) for the fields not read.
        """
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for name in names if names is not None else (f.name for f in self.editable):
            try:
                values[name] = self.field(name).parse(raw.get(name))
            except FieldError as error:
                problems.append((name, error))
        if rules and not problems:
            problems.extend(self.check({**(context or {}), **values}))
        return Parsed(values, problems)

    def check(self, values: Mapping[str, Any]) -> list[Problem]:
        """The problems the rules find in ``values`` (fields a rule needs but are absent
        from ``values`` are taken as empty)."""
        full = {f.name: values.get(f.name) for f in self.fields} | dict(values)
        return [problem for rule in self.rules for problem in rule(full)]

    def changes(self, obj: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``values`` that differ from the record's as a person would read them."""
        return {k: v for k, v in values.items()
                if not (self.has(k) and self.field(k).same(getattr(obj, k), v))
                and getattr(obj, k) != v}

    def label_of(self, name: str) -> str:
        return str(self.field(name).label) if self.has(name) else name

    def show(self, name: str, value: Any) -> str:
        return self.field(name).show(value) if self.has(name) else _fallback(value)


def _fallback(value: Any) -> str:
    from .fields import EMPTY

    return EMPTY if value is None or value == "" else str(value)


# --- Rules ------------------------------------------------------------------------------


def in_order(first: str, then: str, message: Any) -> Rule:
    """Refuse ``then`` when both are given and it comes before ``first``."""

    def rule(values: Mapping[str, Any]) -> Iterator[Problem]:
        if values.get(first) is not None and values.get(then) is not None \
                and values[first] > values[then]:
            yield then, message
    return rule


def only_when(name: str, status: str, statuses: tuple[str, ...], message: Any) -> Rule:
    """Refuse ``name`` unless the record's ``status`` is one of ``statuses``."""

    def rule(values: Mapping[str, Any]) -> Iterator[Problem]:
        if values.get(name) is not None and values.get(status) not in statuses:
            yield name, message
    return rule


def url_or_file(message: Any) -> Rule:
    """Refuse a record with neither an address nor a file (reported on the address)."""

    def rule(values: Mapping[str, Any]) -> Iterator[Problem]:
        if values.get("url") is None and values.get("file_sha256") is None:
            yield "url", message
    return rule


def weights_all_or_none(weights: Iterable[float | None]) -> bool:
    """A commitment's milestones are all weighted or none is (else progress is ambiguous)."""
    given = [w is not None for w in weights]
    return all(given) or not any(given)


def _weights(rows: list[Mapping[str, Any]]) -> Iterator[Problem]:
    if not weights_all_or_none(row.get("weight") for row in rows):
        yield "weight", _l("Dé un peso a todos los hitos del compromiso, o a ninguno: con "
                           "pesos a medias el avance sería ambiguo.")


# --- The kinds --------------------------------------------------------------------------


def file_fields() -> tuple[Field, ...]:
    """The file a record may hold: set from an upload (app/files.py), never typed."""
    return (
        Field("file_name", "text", _l("Archivo"), readonly=True, max_length=255),
        Field("file_size", "size", _l("Tamaño del archivo"), readonly=True, minimum=1),
        Field("file_type", "code", _l("Tipo de archivo"), readonly=True, codes=FILE_TYPES),
        Field("file_sha256", "text", _l("Huella SHA-256 del archivo"), readonly=True),
    )


EXERCISE = RecordSchema("exercise", LocalExercise, _l("Ejercicio local"), (
    Field("declaration_date", "partial_date", _l("Declaratoria conjunta (fecha)"),
          help=PARTIAL_HELP),
    Field("stl_installed_date", "partial_date",
          _l("Instalación del Secretariado Técnico Local (fecha)"), help=PARTIAL_HELP),
    Field("facilitator", "text", _l("Facilitador(a)"), max_length=300),
    Field("status_text", "long_text", _l("Último estatus conocido"), max_length=2000),
    Field("status_as_of", "partial_date", _l("Fecha del estatus"), help=PARTIAL_HELP),
    Field("stage", "code", _l("Etapa"), codes=STAGES),
))

MEMBER = RecordSchema("member", StlMember, _l("Integrante del Secretariado"), (
    Field("sector", "code", _l("Sector"), required=True, codes=SECTORS),
    Field("name", "text", _l("Integrante"), required=True, max_length=300),
))

PLAN = RecordSchema("plan", ActionPlan, _l("Plan de acción"), (
    Field("programme", "code", _l("Programa"), required=True, codes=PROGRAMMES, new_only=True,
          extra={"choices": ("inai_cocreacion", "ogp_local")}),
    Field("title", "text", _l("Título del plan"), required=True, max_length=300),
    Field("period_start", "integer", _l("Periodo: año de inicio"), minimum=1990, maximum=2100),
    Field("period_end", "integer", _l("Periodo: año de término"), minimum=1990, maximum=2100),
    Field("published_date", "partial_date", _l("Publicado el"), help=PARTIAL_HELP),
    Field("commitments_published", "integer", _l("Compromisos publicados (según la fuente)"),
          minimum=0, maximum=10000),
    Field("proactive_published", "integer", _l("Compromisos proactivos publicados"),
          minimum=0, maximum=10000),
    Field("notes", "long_text", _l("Notas"), max_length=4000),
), rules=(in_order("period_start", "period_end", _l("El periodo termina antes de empezar.")),))

COMMITMENT = RecordSchema("commitment", Commitment, _l("Compromiso"), (
    Field("number", "integer", _l("Número"), readonly=True, minimum=1),
    Field("title", "long_text", _l("Compromiso (título)"), required=True, max_length=2000),
    Field("title_es", "long_text", _l("Título en español"), max_length=2000),
    Field("title_en", "long_text", _l("Título en inglés"), max_length=2000),
    Field("problem", "long_text", _l("Problema"), max_length=8000),
    Field("objective", "long_text", _l("Objetivo"), max_length=8000),
    Field("responsible", "long_text", _l("Institución(es) responsable(s)"), max_length=2000),
    Field("counterpart", "long_text", _l("Contraparte de la sociedad civil"), max_length=2000),
    Field("status", "code", _l("Estado declarado"), codes=COMMITMENT_STATUSES),
), numbered_within="plan_id")

MILESTONE = RecordSchema("milestone", Milestone, _l("Hito"), (
    Field("number", "integer", _l("Número"), readonly=True, minimum=1),
    Field("title", "long_text", _l("Hito"), required=True, max_length=2000),
    Field("weight", "number", _l("Peso"), above=0, maximum=1000,
          help=_l("Opcional; sin pesos, todos los hitos cuentan igual.")),
    Field("start_date", "date", _l("Fecha de inicio")),
    Field("due_date", "date", _l("Fecha de vencimiento")),
    Field("status", "code", _l("Estado de avance"), required=True, codes=MILESTONE_STATUSES),
    Field("progress", "percent", _l("Avance declarado (%)"),
          help=_l("Porcentaje de 0 a 100, solo si está en proceso y la fuente lo dice; si no, "
                  "un hito en proceso cuenta como 50 %.")),
    Field("completed_on", "date", _l("Terminado el")),
), rules=(
    in_order("start_date", "due_date", _l("La fecha de vencimiento es anterior a la de inicio.")),
    only_when("completed_on", "status", ("complete", "verified"),
              _l("Solo un hito completo o verificado tiene fecha de término.")),
    only_when("progress", "status", ("in_progress",),
              _l("Solo un hito en proceso tiene avance declarado; uno completo cuenta 100 % y "
                 "uno no iniciado 0 %.")),
), numbered_within="commitment_id", group_rule=_weights)

EVIDENCE = RecordSchema("evidence", Evidence, _l("Evidencia"), (
    Field("url", "url", _l("Dirección (URL)"), max_length=2000,
          help=_l("La dirección pública del documento, o suba el archivo (o ambos).")),
    Field("title", "text", _l("Título"), required=True, max_length=300),
    Field("dated", "date", _l("Fecha del documento")),
    Field("proves", "long_text", _l("Qué demuestra"), max_length=2000),
    Field("milestone_id", "reference", _l("Hito al que corresponde")),
    *file_fields(),
), rules=(url_or_file(_l("Dé la dirección (URL) de la evidencia o suba su archivo.")),),
    sourced_by=("url", "file"))

PROGRESS = RecordSchema("progress", ProgressReport, _l("Informe de avance"), (
    Field("reported_on", "date", _l("Fecha del informe"), required=True,
          help=_l("El día en que se informó el avance (el de la sesión, si fue en una).")),
    Field("text", "long_text", _l("Avance informado"), required=True, max_length=8000,
          help=_l("Qué se hizo y qué falta, como lo informa la fuente.")),
    *file_fields(),
), sourced_by=("file",))

# Read-only here (seeded from the sources), declared so their history reads in words.
ASSESSMENT = RecordSchema("assessment", Assessment, _l("Valoración"), (
    Field("framework", "text", _l("Quién valora"), readonly=True),
    Field("aspect", "text", _l("Aspecto"), readonly=True),
    Field("value", "text", _l("Valor"), readonly=True),
    Field("basis", "code", _l("Base"), codes=BASES, readonly=True),
    Field("reasoning", "long_text", _l("Razonamiento"), readonly=True),
))

def _needs(name: str, when: Callable[[Mapping[str, Any]], bool], message: Any) -> Rule:
    """Refuse an empty ``name`` when ``when`` holds for the record."""

    def rule(values: Mapping[str, Any]) -> Iterator[Problem]:
        if when(values) and not values.get(name):
            yield name, message
    return rule


def _other_address(values: Mapping[str, Any]) -> Iterator[Problem]:
    if values.get("original_url") and values.get("original_url") == values.get("url"):
        yield "original_url", _l("La dirección del original es la misma que la de la copia.")


# The source registry (seeded from seeds/data/sources.csv; read-only on the site).
SOURCE = RecordSchema("source", Source, _l("Fuente"), (
    Field("key", "text", _l("Clave"), required=True, max_length=80, readonly=True),
    Field("publisher", "text", _l("Quién lo publica"), required=True, readonly=True),
    Field("title", "long_text", _l("Título"), required=True, readonly=True),
    Field("date", "partial_date", _l("Fecha"), help=PARTIAL_HELP, readonly=True),
    Field("url", "url", _l("Dirección"), readonly=True),
    Field("kind", "code", _l("Tipo de fuente"), required=True, codes=SOURCE_KINDS,
          readonly=True),
    Field("note", "long_text", _l("Nota"), readonly=True),
    Field("title_basis", "code", _l("Cómo se escribió el título"), required=True,
          codes=TITLE_BASES, readonly=True),
    Field("title_note", "long_text", _l("Por qué no se usa el título propio"), readonly=True),
    Field("copy_host", "text", _l("Sitio de la copia"), readonly=True),
    Field("original_url", "url", _l("Dirección del original"), readonly=True),
), rules=(
    _needs("title_note", lambda v: v.get("title_basis") not in (None, "printed"),
           _l("Un título que no es el que imprime la fuente necesita la razón.")),
    _needs("original_url", lambda v: bool(v.get("copy_host")) and not v.get("note"),
           _l("Una copia necesita la dirección de su original, o una nota que diga que no se "
              "conoce.")),
    _other_address,
))

# A dated headline count of the local programme as published (seeded; read-only here).
PROGRAMME_COUNT = RecordSchema("programme_count", ProgrammeCount, _l("Cifra del programa"), (
    Field("as_of", "partial_date", _l("Fecha"), help=PARTIAL_HELP, readonly=True),
    Field("states_joined", "integer", _l("Estados sumados"), minimum=0, readonly=True),
    Field("stl_installed", "integer", _l("Secretariados instalados"), minimum=0,
          readonly=True),
    Field("plans_published", "integer", _l("Planes publicados"), minimum=0, readonly=True),
    Field("commitments", "integer", _l("Compromisos publicados"), minimum=0, readonly=True),
    Field("note", "long_text", _l("Nota"), readonly=True),
))

# Fieldwork (app/metric/fieldwork): what a coder records for one item of one institution, and
# what a reviewer settles. The answer is a text here; what it may be is the item's scale in the
# round's instruments (metrics.fieldwork.instruments: codes, bounds, the order of the dates),
# which the capture and reconciliation forms and the services check with the instruments.
_ANSWER = Field("answer", "text", _l("Respuesta"), max_length=40)
_DATES = (
    Field("sent_on", "date", _l("Enviada el"),
          help=_l("Fecha de envío de la solicitud o propuesta.")),
    Field("acknowledged_on", "date", _l("Acuse de recibo el")),
    Field("answered_on", "date", _l("Respondida el")),
)
OBSERVATION = RecordSchema("fieldwork_observation", FieldworkObservation,
                           _l("Observación de campo"), (
    _ANSWER, *_DATES,
    Field("folio", "text", _l("Folio en la Plataforma Nacional de Transparencia"),
          max_length=40),
    Field("evidence_url", "url", _l("Evidencia: dirección (URL)"), max_length=500),
    Field("evidence_file", "text", _l("Evidencia: archivo"), max_length=300,
          help=_l("Nombre o ubicación del archivo que guarda la ronda (una captura, un PDF).")),
    Field("note", "long_text", _l("Nota"), max_length=4000),
))
RECONCILIATION = RecordSchema("fieldwork_reconciliation", FieldworkReconciliation,
                              _l("Conciliación"), (
    _ANSWER, *_DATES,
    Field("reason", "long_text", _l("Motivo"), required=True, max_length=4000,
          help=_l("Por qué esta es la respuesta correcta (qué evidencia se revisó).")),
))

SCHEMAS: dict[str, RecordSchema] = {s.name: s for s in (
    EXERCISE, MEMBER, PLAN, COMMITMENT, MILESTONE, EVIDENCE, PROGRESS, ASSESSMENT, SOURCE,
    PROGRAMME_COUNT, OBSERVATION, RECONCILIATION)}
BY_MODEL: dict[type[Base], RecordSchema] = {s.model: s for s in SCHEMAS.values()}


def schema_of(model: type[Base]) -> RecordSchema | None:
    return BY_MODEL.get(model)


# --- Numbers, keys and authorship: one home each -----------------------------------------


def next_number(session: Session, schema: RecordSchema, parent_id: int) -> int:
    """The next free number under ``parent_id`` (numbers of deleted rows stay taken)."""
    assert schema.numbered_within is not None
    model: Any = schema.model
    highest = session.scalar(
        select(func.max(model.number))
        .where(getattr(model, schema.numbered_within) == parent_id)
        .execution_options(**records.WITH_DELETED))
    return int(highest or 0) + 1


def number_taken(session: Session, schema: RecordSchema, parent_id: int, number: int) -> bool:
    """Whether ``number`` is used under ``parent_id`` (by a live or a deleted row)."""
    assert schema.numbered_within is not None
    model: Any = schema.model
    return session.scalar(
        select(model.id).where(getattr(model, schema.numbered_within) == parent_id,
                               model.number == number)
        .execution_options(**records.WITH_DELETED)) is not None


def plan_period(period_start: int | None, period_end: int | None,
                published_date: str | None) -> str:
    """How a local plan's period is named: "2016-2018", else the year published, else ""."""
    if period_start and period_end:
        return f"{period_start}-{period_end}"
    return (published_date or "")[:4]


def plan_key(cve: str, period: str) -> str:
    """The stable key of a state's local plan, e.g. "local-04-2017"."""
    return f"local-{cve}-{period}" if period else f"local-{cve}"


def free_plan_key(session: Session, cve: str, values: Mapping[str, Any]) -> str:
    """A new local plan's key: ``plan_key``, with "-2", "-3"... when it is taken."""
    base = plan_key(cve, plan_period(values.get("period_start"), values.get("period_end"),
                                     values.get("published_date")))
    taken = set(session.scalars(select(ActionPlan.key).where(ActionPlan.key.like(f"{base}%"))
                                .execution_options(**records.WITH_DELETED)))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def authorship(user: User) -> dict[str, Any]:
    """Who added an evidence item or a progress report: the account (kept private) and its
    public agency."""
    from app.accounts.service import actor_of

    return {"added_by_id": user.id, "added_by_label": actor_of(user).name}
