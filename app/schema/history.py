"""The audit trail in words: what the history, the feeds and the revert page show of a change.

An ``AuditEvent`` stores column names, codes and JSON values; a reader sees the field's label,
the value formatted by its schema (dates in their language, percent, status labels, "—" for
empty), the time in Mexico City and the agency. Bookkeeping columns (keys, ids, timestamps)
are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from app.models import AuditEvent, MetricRound
from common.codes import AUDIT_ACTIONS

from .fields import EMPTY, Field
from .records import BY_MODEL, SCHEMAS, RecordSchema

# What each table is called, for the tables that have no editing schema of their own.
OTHER_ENTITIES: dict[str, Any] = {
    "state": _l("Estado"),
    "programme_count": _l("Cifra del programa"),
    "programme_count_plan": _l("Plan ante una cifra del programa"),
    "programme_fact": _l("Hecho fechado del programa"),
    "source": _l("Fuente"),
    "source_link": _l("Cita de una fuente"),
    "institution": _l("Institución"),
    "institution_alias": _l("Variante del nombre de una institución"),
    "metric_round": _l("Ronda de la Métrica"),
    "metric_score": _l("Resultado de la Métrica"),
    "published_figure": _l("Cifra publicada"),
    "boundary_layer": _l("Capa de límites"),
    "commitment_theme": _l("Tema de un compromiso"),
    "commitment_sdg": _l("ODS de un compromiso"),
    "fieldwork_round": _l("Ronda de trabajo de campo de la Métrica"),
    "fieldwork_member": _l("Integrante de una ronda de trabajo de campo"),
    "fieldwork_sample": _l("Muestra de una ronda de trabajo de campo"),
    "fieldwork_assignment": _l("Asignación de una ronda de trabajo de campo"),
    "fieldwork_observation": _l("Observación de una ronda de trabajo de campo"),
    "fieldwork_reconciliation": _l("Conciliación de una ronda de trabajo de campo"),
}

# Columns every record may have beside its schema's fields, as a reader names them.
COMMON = (
    Field("source", "long_text", _l("Fuente")),
    Field("label", "text", _l("Número como lo imprime la fuente")),
    Field("ogp_id", "text", _l("Clave OGP")),
    Field("themes", "text", _l("Temas")),
    Field("sdg_goals", "text", _l("Objetivos de Desarrollo Sostenible")),
    Field("title_language", "text", _l("Idioma del título")),
)
_COMMON = {f.name: f for f in COMMON}
# Bookkeeping: keys, parents and timestamps a reader does not need in a change.
HIDDEN = frozenset({
    "id", "version", "deleted_at", "plan_id", "commitment_id", "milestone_id", "exercise_id",
    "state_cve", "key", "scope", "updated_at", "added_at", "added_by_id", "added_by_label",
    "number", "programme",
})


# The actors that are not an agency, as a reader names them (seeds.base.SEED_ACTOR and
# app.metric.importer.IMPORT_ACTOR; a test keeps them in step).
SYSTEM_ACTORS: dict[str, Any] = {
    "seed": _l("datos de referencia del proyecto"),
    "import": _l("importación de un archivo"),
}


def actor_label(actor: str | None) -> str:
    """Who made a change, as a reader names it: the agency, or what a system actor is."""
    if not actor:
        return _("desconocido")
    label = SYSTEM_ACTORS.get(actor)
    return str(label) if label is not None else actor


def entity_label(entity: str) -> str:
    """What a table's rows are called ("Hito", "Plan de acción")."""
    for schema in SCHEMAS.values():
        if schema.model.__tablename__ == entity:
            return str(schema.label)
    return str(OTHER_ENTITIES.get(entity, entity.replace("_", " ")))


def _schema(entity: str) -> RecordSchema | None:
    for model, schema in BY_MODEL.items():
        if model.__tablename__ == entity:
            return schema
    return None


def _field(schema: RecordSchema | None, name: str) -> Field | None:
    if schema is not None and schema.has(name):
        return schema.field(name)
    return _COMMON.get(name)


def show_value(field: Field | None, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show_value(field, v) for v in value) or EMPTY
    if field is None:
        return EMPTY if value is None or value == "" else str(value)
    try:
        return field.show(value)
    except (TypeError, ValueError):  # a value stored before its field's rules: as it is
        return str(value)


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Change:
    """One audit event as a person reads it."""

    event: AuditEvent
    when: str  # local time, in the reader's language
    action: str
    entity: str
    what: str  # "Modificación · Hito: <summary>"
    actor: str
    source: str | None
    fields: tuple[FieldChange, ...]

    @property
    def text(self) -> str:
        """Plain text: one line per field, then the author (the feeds' content)."""
        lines = [f"{f.label}: {f.after}" if self.event.action == "create"
                 else f"{f.label}: {f.before} → {f.after}" for f in self.fields]
        lines.append(_("Autor: %(actor)s", actor=self.actor))
        if self.source:
            lines.append(_("Fuente: %(source)s", source=self.source))
        return "\n".join(lines)


def local_time(event: AuditEvent) -> str:
    """When the change happened, in the site's time zone (Mexico City) and language."""
    from app.i18n import format_moment

    return format_moment(event.at)


def summary_in_words(event: AuditEvent) -> str | None:
    """The event's one-line summary as a reader names it: a row known only by its table and
    id ("published_figure 338") by what the table holds ("Cifra publicada 338"); a source
    link by the record that cites (its source is the event's source)."""
    summary = event.summary
    if event.entity == "source_link":
        values = event.after or event.before or {}
        if values.get("entity"):
            return f"{entity_label(values['entity'])} {values.get('entity_id') or ''}".strip()
    if summary and summary.startswith(event.entity + " "):
        return entity_label(event.entity) + summary[len(event.entity):]
    return summary


def describe(event: AuditEvent) -> Change:
    """The event in words: labels, formatted values, local time; bookkeeping left out."""
    schema = _schema(event.entity)
    before, after = event.before or {}, event.after or {}
    order = [f.name for f in (schema.fields if schema else ())] + [f.name for f in COMMON]
    names = sorted(set(before) | set(after),
                   key=lambda n: (order.index(n) if n in order else len(order), n))
    fields = []
    for name in names:
        if name in HIDDEN:
            continue
        field = _field(schema, name)
        if field is None and current_app.debug:  # pragma: no cover - a column without a label
            current_app.logger.warning("no label for %s.%s", event.entity, name)
        label = str(field.label) if field is not None else name.replace("_", " ")
        old, new = show_value(field, before.get(name)), show_value(field, after.get(name))
        if event.action == "create" and new == EMPTY:
            continue
        fields.append(FieldChange(name, label, old, new))
    action = AUDIT_ACTIONS.label(event.action)
    entity = entity_label(event.entity)
    summary = summary_in_words(event)
    what = f"{action} · {entity}" + (f": {summary}" if summary else "")
    return Change(event, local_time(event), action, entity, what, actor_label(event.actor),
                  event.source, tuple(fields))


def describe_all(events: Iterable[AuditEvent]) -> list[Change]:
    return [describe(e) for e in events]


# --- Changes written together, as one line -------------------------------------------------
#
# One import, one spreadsheet upload, one save of a form (a record and its evidence), one seed
# source: the consecutive events of one actor (and account) on one source, each within
# GROUP_SPAN of the newest. Recent changes show each group as one line.

GROUP_SPAN = timedelta(hours=1)
METRIC_ENTITIES = frozenset({"metric_round", "metric_score", "institution", "institution_alias"})
SHEET_ENTITIES = frozenset({"action_plan", "commitment", "milestone"})  # app.edit.sheets


@dataclass(frozen=True)
class Group:
    """Events written together, as one line ("Métrica 2017 importada: 908 instituciones")."""

    first: Change  # the newest event, in words
    main: Change  # the newest event of a record (not of its evidence), in words
    count: int
    entities: dict[str, int]  # table -> events
    actions: dict[str, int] = field(default_factory=dict)  # action code -> events
    writes: int = 1  # separate writes (distinct times): an upload or an import is one
    states: tuple[str, ...] = ()  # the states the events are filed under
    years: tuple[int, ...] = ()  # metric rounds imported

    @property
    def single(self) -> bool:
        """One record changed (with, perhaps, the evidence given as its source)."""
        return self.count - self.entities.get("evidence", 0) <= 1

    @property
    def kind(self) -> str:
        """``metric_import``, ``upload`` (a spreadsheet: one write of several plans,
        commitments or milestones by an account, which no form does), ``single`` or ``many``."""
        if "metric_score" in self.entities and METRIC_ENTITIES.issuperset(self.entities):
            return "metric_import"
        if (self.count > 1 and self.writes == 1 and self.first.event.user_id is not None
                and SHEET_ENTITIES.issuperset(self.entities)
                and {"create", "update"}.issuperset(self.actions)):
            return "upload"
        return "single" if self.single else "many"

    @property
    def state(self) -> str | None:
        """The one state all the events are filed under (None: none, or several)."""
        return self.states[0] if len(self.states) == 1 else None

    @property
    def text(self) -> str:
        """The group in words, in the reader's language."""
        actor = self.first.actor
        if self.kind == "metric_import":
            institutions = self.entities["metric_score"]
            if not self.years:
                return ngettext("Métrica importada: %(num)d institución",
                                "Métrica importada: %(num)d instituciones", institutions)
            return ngettext("Métrica %(year)s importada: %(num)d institución",
                            "Métrica %(year)s importada: %(num)d instituciones", institutions,
                            year=", ".join(str(y) for y in self.years))
        if self.kind == "upload":
            return ngettext("%(actor)s subió una hoja de cálculo: %(num)d cambio",
                            "%(actor)s subió una hoja de cálculo: %(num)d cambios",
                            self.count, actor=actor)
        if self.single:
            evidence = self.entities.get("evidence", 0) if self.count > 1 else 0
            if evidence:
                return ngettext("%(what)s (con %(num)d evidencia)",
                                "%(what)s (con %(num)d evidencias)", evidence,
                                what=self.main.what)
            return self.main.what
        parts = "; ".join(f"{entity_label(e)}: {n}" for e, n in sorted(
            self.entities.items(), key=lambda item: (-item[1], item[0])))
        return ngettext("%(actor)s: %(num)d cambio (%(parts)s)",
                        "%(actor)s: %(num)d cambios (%(parts)s)", self.count, actor=actor,
                        parts=parts)


def _key(event: AuditEvent) -> tuple[str, int | None, str | None]:
    return event.actor, event.user_id, event.source


def _is_upload(write: Sequence[AuditEvent]) -> bool:
    """Whether one write (the events of one key at one time) is a spreadsheet upload: several
    plans, commitments or milestones created or changed at once by an account."""
    return (len(write) > 1 and write[0].user_id is not None
            and all(e.entity in SHEET_ENTITIES and e.action in ("create", "update")
                    for e in write))


def grouped(events: Sequence[AuditEvent], session: Session | None = None) -> list[Group]:
    """Group events (newest first) written together into one line each: consecutive, of the
    same actor, account and source, within ``GROUP_SPAN`` of the group's newest event; a
    spreadsheet upload is a line of its own (``session``: to name the rounds of a metric
    import)."""
    writes: list[list[AuditEvent]] = []
    for event in events:
        if writes and _key(writes[-1][0]) == _key(event) and writes[-1][0].at == event.at:
            writes[-1].append(event)
        else:
            writes.append([event])
    runs: list[list[AuditEvent]] = []
    closed = True
    for write in writes:
        upload = _is_upload(write)
        if (not closed and not upload and _key(runs[-1][0]) == _key(write[0])
                and runs[-1][0].at - write[0].at <= GROUP_SPAN):
            runs[-1].extend(write)
        else:
            runs.append(list(write))
        closed = upload
    return [_group(describe(run[0]), describe(_main(run)), Counter(e.entity for e in run),
                   Counter(e.action for e in run), len({e.at for e in run}),
                   {e.state_cve for e in run if e.state_cve},
                   _years(session, _round_ids(run)) if session is not None else set())
            for run in runs]


def _main(run: Sequence[AuditEvent]) -> AuditEvent:
    return next((e for e in run if e.entity != "evidence"), run[0])


def _group(first: Change, main: Change, entities: Counter[str], actions: Counter[str],
           writes: int, states: set[str], years: set[int]) -> Group:
    return Group(first, main, sum(entities.values()), dict(entities), dict(actions), writes,
                 tuple(sorted(states)), tuple(sorted(years)))


def _round_ids(events: Iterable[AuditEvent]) -> set[int]:
    """The rounds a metric import's events name: the round rows written, and the scores'."""
    ids = set()
    for e in events:
        if e.entity == "metric_round":
            ids.add(int(e.entity_id))
        elif e.entity == "metric_score":
            for values in (e.after, e.before):
                if values and values.get("round_id") is not None:
                    ids.add(int(values["round_id"]))
    return ids


def _years(session: Session, round_ids: set[int]) -> set[int]:
    if not round_ids:
        return set()
    return set(session.scalars(select(MetricRound.year).where(MetricRound.id.in_(round_ids))))


def recent_groups(session: Session, condition: ColumnElement[bool] | None = None,
                  limit: int = 8) -> list[Group]:
    """The newest ``limit`` groups of events matching ``condition``, as ``grouped`` forms
    them, counted in the database: an import of 300,000 rows costs a few indexed queries,
    never loading its events."""
    where = condition if condition is not None else true()
    e = AuditEvent
    groups: list[Group] = []
    before: tuple[datetime, int] | None = None
    while len(groups) < limit:
        older = where if before is None else and_(where, _older_than(*before))
        head = session.scalars(select(e).where(older).order_by(e.at.desc(), e.id.desc())
                               .limit(1)).first()
        if head is None:
            break
        same = and_(e.actor == head.actor, e.user_id.is_not_distinct_from(head.user_id),
                    e.source.is_not_distinct_from(head.source))
        if head.user_id is not None and _upload_at(session, and_(older, same, e.at == head.at)):
            run = and_(older, same, e.at == head.at)  # an upload: a line of its own
        else:
            # Where the run ends: the newest older event of another key, an older upload of
            # this key, or the span's start.
            span = head.at - GROUP_SPAN
            end = session.execute(
                select(e.at, e.id).where(older, ~same, e.at >= span,
                                         _older_than(head.at, head.id))
                .order_by(e.at.desc(), e.id.desc()).limit(1)).first()
            upload = None
            if head.user_id is not None:
                upload = _upload_at(session, and_(older, same, e.at >= span, e.at < head.at))
            run = and_(older, e.at >= span,
                       *([] if end is None else [_newer_than(end.at, end.id)]),
                       *([] if upload is None else [e.at > upload]))
        counts = session.execute(
            select(e.entity, e.action, func.count()).where(run).group_by(e.entity, e.action)
        ).all()
        entities: Counter[str] = Counter()
        actions: Counter[str] = Counter()
        for entity, action, n in counts:
            entities[entity] += n
            actions[action] += n
        writes = session.scalar(select(func.count(distinct(e.at))).where(run)) or 1
        states = {cve for cve in session.scalars(select(e.state_cve).distinct().where(
            run, e.state_cve.is_not(None))) if cve}
        years: set[int] = set()
        if "metric_score" in entities:
            years = _round_years(session, run)
        main = head
        if head.entity == "evidence" and len(entities) > 1:
            main = session.scalars(select(e).where(run, e.entity != "evidence")
                                   .order_by(e.at.desc(), e.id.desc()).limit(1)).first() or head
        groups.append(_group(describe(head), describe(main), entities, actions, writes,
                             states, years))
        last = session.execute(select(e.at, e.id).where(run).order_by(e.at, e.id)
                               .limit(1)).one()
        before = (last.at, last.id)
    return groups


def _upload_at(session: Session, condition: ColumnElement[bool]) -> datetime | None:
    """The time of the newest write among the events of one key matching ``condition`` that
    is a spreadsheet upload (``_is_upload``), if any."""
    e = AuditEvent
    other = case((or_(e.entity.not_in(SHEET_ENTITIES), e.action.not_in(("create", "update"))),
                  1), else_=0)
    return session.scalar(
        select(e.at).where(condition).group_by(e.at)
        .having(func.count() > 1, func.sum(other) == 0)
        .order_by(e.at.desc()).limit(1))


def _older_than(at: datetime, ident: int) -> ColumnElement[bool]:
    return or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < ident))


def _newer_than(at: datetime, ident: int) -> ColumnElement[bool]:
    return or_(AuditEvent.at > at, and_(AuditEvent.at == at, AuditEvent.id > ident))


def _round_years(session: Session, run: ColumnElement[bool]) -> set[int]:
    """The rounds of a metric import's events: the round rows it wrote and the round of one
    of its scores (an import writes the scores of one round)."""
    e = AuditEvent
    events = [*session.scalars(select(e).where(run, e.entity == "metric_round")),
              *session.scalars(select(e).where(run, e.entity == "metric_score").limit(1))]
    return _years(session, _round_ids(events))
