"""The audit trail in words: what the history, the feeds and the revert page show of a change.

An ``AuditEvent`` stores column names, codes and JSON values; a reader sees the field's label,
the value formatted by its schema (dates in their language, percent, status labels, "—" for
empty), the time in Mexico City and the agency. Bookkeeping columns (keys, ids, timestamps)
are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import AuditEvent
from common.codes import AUDIT_ACTIONS

from .fields import EMPTY, Field
from .records import BY_MODEL, SCHEMAS, RecordSchema

# What each table is called, for the tables that have no editing schema of their own.
OTHER_ENTITIES: dict[str, Any] = {
    "state": _l("Estado"),
    "programme_count": _l("Cifra del programa"),
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
    what = f"{action} · {entity}" + (f": {event.summary}" if event.summary else "")
    return Change(event, local_time(event), action, entity, what, event.actor, event.source,
                  tuple(fields))


def describe_all(events: Iterable[AuditEvent]) -> list[Change]:
    return [describe(e) for e in events]


@dataclass(frozen=True)
class Group:
    """Consecutive events of one import or upload, shown as one line ("908 instituciones")."""

    first: Change
    count: int
    entities: dict[str, int]

    @property
    def single(self) -> bool:
        return self.count == 1


def grouped(events: Sequence[AuditEvent]) -> list[Group]:
    """Group events written together (same time, actor and source) into one line each."""
    groups: list[tuple[AuditEvent, list[AuditEvent]]] = []
    for event in events:
        if groups and _together(groups[-1][0], event):
            groups[-1][1].append(event)
        else:
            groups.append((event, [event]))
    out = []
    for head, members in groups:
        counts: dict[str, int] = {}
        for member in members:
            counts[member.entity] = counts.get(member.entity, 0) + 1
        out.append(Group(describe(head), len(members), counts))
    return out


def _together(a: AuditEvent, b: AuditEvent) -> bool:
    return (a.at == b.at and a.actor == b.actor and a.source == b.source
            and a.action == b.action)
