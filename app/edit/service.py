"""Editing services: each takes a session and the signed-in user, checks the user may edit the
record's state, and writes through ``app.records`` (actor = the user's agency, the source the
form named, the version the form was read at). They never commit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound
from werkzeug.utils import secure_filename

from app import files, records
from app.accounts.service import actor_of, require_admin, require_state
from app.models import AuditEvent, Commitment, Evidence, Milestone, User
from app.models.base import Base, Versioned
from app.schema import RecordSchema
from app.schema.records import authorship

if TYPE_CHECKING:
    from app.metric.importer import ImportReport

M = TypeVar("M", bound=Base)


class MissingSource(ValueError):
    """A factual change that names no source URL and no evidence."""


class Refused(ValueError):
    """Values the schema's rules refuse in the record's context (field name, message)."""

    def __init__(self, problems: list[tuple[str, Any]]):
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))


def state_of(session: Session, obj: Any) -> str | None:
    """The state whose editors may touch ``obj``, read from the record in the database
    (None for a national plan and what hangs from it: admins only)."""
    return records.derive_context(session, obj)[0]


def check(session: Session, user: User, obj: Any) -> None:
    """403 unless ``user`` may edit ``obj``."""
    require_state(user, state_of(session, obj))


def _siblings_check(session: Session, schema: RecordSchema, parent_id: int | None,
                    obj: Any, values: dict[str, Any]) -> None:
    """Run the schema's rule over every record under the same parent, this one as it would be
    saved (a commitment's milestones are all weighted or none is)."""
    if schema.group_rule is None or schema.numbered_within is None or parent_id is None:
        return
    model: Any = schema.model
    others = session.scalars(select(model).where(
        getattr(model, schema.numbered_within) == parent_id,
        *([model.id != obj.id] if obj is not None and obj.id is not None else []))).all()
    rows = [{f.name: getattr(o, f.name) for f in schema.fields} for o in others]
    current = {f.name: getattr(obj, f.name) for f in schema.fields} if obj is not None else {}
    problems = list(schema.group_rule([*rows, {**current, **values}]))
    if problems:
        raise Refused(problems)


def _evidence_of(user: User, obj: Any, evidence: dict[str, Any]) -> dict[str, Any]:
    """An evidence item added as the source of a change to a milestone (or a commitment)."""
    commitment = obj if isinstance(obj, Commitment) else obj.commitment
    milestone = obj if isinstance(obj, Milestone) else None
    return {**evidence, "commitment": commitment, "milestone": milestone, **authorship(user)}


def _keep(upload: files.Upload | None) -> None:
    """Keep the file uploaded with a change (by its hash; the values name it)."""
    if upload is not None:
        files.store(upload.data)


def create_record(
    session: Session, user: User, schema: RecordSchema, values: dict[str, Any], *,
    state_cve: str | None, source: str | None, evidence: dict[str, Any] | None = None,
    upload: files.Upload | None = None,
) -> Any:
    """Create a record under a parent of ``state_cve`` (checked); the source is stored on the
    row (when it has a source column) and on its history event; an evidence item given as
    the source is added with it, and the file uploaded with it (``upload``) is kept."""
    require_state(user, state_cve)
    if not source:
        raise MissingSource()
    _keep(upload)
    model = schema.model
    if schema.numbered_within:
        parent = values.get(schema.numbered_within.removesuffix("_id"))
        _siblings_check(session, schema, getattr(parent, "id", None), None, values)
    if "source" in model.__table__.c:
        values = {**values, "source": source}
    with records.bulk(session, actor=actor_of(user).name, source=source, user=user) as batch:
        obj = batch.create(model, values)
        if evidence:
            batch.create(Evidence, _evidence_of(user, obj, evidence))
    return obj


def update_record(
    session: Session, user: User, schema: RecordSchema, obj: Any, values: dict[str, Any], *,
    source: str | None, expected_version: int | None, evidence: dict[str, Any] | None = None,
    upload: files.Upload | None = None,
) -> bool:
    """Change ``obj``; return whether anything changed (equal values: nothing recorded).

    Only the values that differ as a person reads them are written (a re-saved spreadsheet's
    15 significant digits are no change). Raises VersionConflict when the record changed since
    the form was read, MissingSource when something changes without a source, Refused when
    the record's siblings would break a rule.
    """
    check(session, user, obj)
    changes = schema.changes(obj, values)
    if not (changes or evidence):
        records.check_version(obj, expected_version)
        return False
    if not source:
        raise MissingSource()
    if schema.numbered_within:
        _siblings_check(session, schema, getattr(obj, schema.numbered_within), obj, changes)
    if changes.get("file_sha256"):
        _keep(upload)
    if changes and "source" in type(obj).__table__.c and type(obj) is not Evidence:
        changes = {**changes, "source": source}
    with records.bulk(session, actor=actor_of(user).name, source=source, user=user) as batch:
        if changes:
            batch.update(obj, changes, expected_version=expected_version)
        else:
            records.check_version(obj, expected_version)
        if evidence:
            batch.create(Evidence, _evidence_of(user, obj, evidence))
    return True


def delete_record(
    session: Session, user: User, obj: Any, *, source: str | None, expected_version: int | None,
) -> bool:
    """Soft-delete ``obj``: it leaves pages and lists, and stays in the history."""
    check(session, user, obj)
    if not source:
        raise MissingSource()
    return records.soft_delete(session, obj, actor=actor_of(user).name, source=source,
                               user=user, expected_version=expected_version)


# --- Conflicts: merged field by field ------------------------------------------------------


@dataclass(frozen=True)
class FieldConflict:
    """One field of a refused save: the value read, the user's and the one saved meanwhile."""

    name: str
    label: str
    base: Any
    mine: Any
    current: Any
    mine_changed: bool
    theirs_changed: bool
    # Who saved the current value meanwhile, and when (from the history).
    by: str | None = None
    at: Any = None

    @property
    def both(self) -> bool:
        """Both changed it, to different values: the only case the user must choose."""
        return self.mine_changed and self.theirs_changed and self.mine != self.current


@dataclass(frozen=True)
class Conflict:
    """What the conflict page shows and what saving again applies."""

    fields: tuple[FieldConflict, ...]
    version: int
    merged: dict[str, Any]  # the current values with only the user's own changes on top
    known_base: bool  # False: the form came without its base (only "differs" can be told)

    @property
    def to_choose(self) -> list[FieldConflict]:
        return [f for f in self.fields if f.both]


def record_conflict(session: Session, schema: RecordSchema, model: type, obj_id: int,
                    names: tuple[str, ...], mine: dict[str, Any],
                    base: tuple[dict[str, Any], int | None] | None) -> Conflict:
    """Re-read a record after a refused save and merge: the user's changes (against the
    values the form was read with) on top of the current values; a field both changed is
    left for the user to choose, with who changed it and when."""
    current_obj = session.get(model, obj_id, populate_existing=True)
    if current_obj is None:
        raise NotFound()
    base_values, base_event = base if base is not None else ({}, None)
    known = base is not None
    later = session.scalars(select(AuditEvent).where(
        AuditEvent.entity == model.__tablename__, AuditEvent.entity_id == str(obj_id),
        AuditEvent.action == "update",
        *([AuditEvent.id > base_event] if base_event is not None else []),
    ).order_by(AuditEvent.id)).all()
    fields = []
    merged: dict[str, Any] = {}
    for name in names:
        field = schema.field(name)
        current = getattr(current_obj, name)
        mine_value = mine.get(name)
        if known:
            mine_changed = not field.same(base_values.get(name), mine_value)
            theirs_changed = not field.same(base_values.get(name), current)
        else:  # without the base every difference counts as both
            mine_changed = theirs_changed = not field.same(current, mine_value)
        who = next((e for e in reversed(later) if name in (e.after or {})), None)
        fields.append(FieldConflict(name, str(field.label), base_values.get(name), mine_value,
                                    current, mine_changed, theirs_changed,
                                    who.actor if who else None, who.at if who else None))
        merged[name] = mine_value if mine_changed else current
    return Conflict(tuple(fields), current_obj.version, merged, known)


# --- Admin: restore a deleted record, revert a single change ---------------------------------

BY_TABLE = {table: m for table, m in records.BY_TABLE.items() if m in records.EDITABLE}
# What undoes each kind of event.
_UNDO = {"create": "soft_delete", "delete": "restore", "restore": "soft_delete",
         "update": "update"}


class RevertError(ValueError):
    """A change that cannot be reverted as asked; the message says why."""


def _from_json(model: type[Base], name: str, value: Any) -> Any:
    """A value as an event stored it (JSON), back in the column's Python type."""
    if value is None:
        return None
    python_type = model.__table__.c[name].type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return value


def event_target(session: Session, event: AuditEvent) -> Versioned | None:
    """The row an event is about (deleted or not), or None when it cannot be reverted here."""
    model = BY_TABLE.get(event.entity)
    if model is None or not event.entity_id.isdigit():
        return None
    return session.get(model, int(event.entity_id), execution_options=records.WITH_DELETED)


def revert(session: Session, user: User, event: AuditEvent, *, source: str | None) -> None:
    """Undo one change through the audited path: an update's ``before`` values are applied
    again, a create or a restore becomes a soft delete, a delete a restore. The new event's
    summary cites the reverted one. Admins only; a field changed again since is refused."""
    require_admin(user)
    if not source:
        raise MissingSource()
    obj = event_target(session, event)
    if obj is None:
        raise RevertError(_l("Este cambio no se puede revertir desde aquí."))
    model = type(obj)
    options = {"actor": actor_of(user).name, "source": source, "user": user,
               "summary": f"Revierte el cambio #{event.id}"}
    if event.action == "update":
        after = {k: _from_json(model, k, v) for k, v in (event.after or {}).items()}
        changed_since = sorted(k for k, v in after.items() if getattr(obj, k) != v)
        if changed_since:
            raise RevertError(_l("Estos campos cambiaron después: %(fields)s. Edite el registro.",
                                 fields=", ".join(changed_since)))
        before = {k: _from_json(model, k, v) for k, v in (event.before or {}).items()}
        records.update(session, obj, before, **options)
    else:
        with _owner_first():
            if not getattr(records, _UNDO[event.action])(session, obj, **options):
                raise RevertError(_l("El registro ya está en ese estado."))


@contextmanager
def _owner_first() -> Iterator[None]:
    """A restore refused because the record's plan (or commitment...) is deleted, as a
    RevertError that names it."""
    try:
        yield
    except records.OwnerDeleted as exc:
        raise RevertError(_l("Este registro pertenece a «%(owner)s», que está eliminado: "
                             "restáurelo primero.", owner=records.summary_of(exc.owner))) from None


def restore(session: Session, user: User, obj: Versioned, *, source: str | None) -> bool:
    """Bring back a soft-deleted record: an admin any, an editor one of their state's (the
    recycle bin); refused, naming the owner, while the record it belongs to is deleted."""
    check(session, user, obj)
    if not source:
        raise MissingSource()
    with _owner_first():
        return records.restore(session, obj, actor=actor_of(user).name, source=source,
                               user=user)


# --- Admin: import a metric round from the browser ------------------------------------------


def import_metric_round(
    session: Session, user: User, upload: FileStorage, *, year: int, fmt: str | None,
    label: str | None, source: str | None, strict: bool, max_bytes: int | None,
) -> ImportReport:
    """Import an uploaded round file with the importer of ``flask metric import``: the upload
    is written to a temporary file (its name kept, for the format and the report), checked
    against ``max_bytes``, and read. Returns the ImportReport; raises ReadError,
    RoundImportError or SchemeError (the caller rolls back: nothing is stored)."""
    from app.metric.importer import import_round
    from metrics.readers import check_input

    require_admin(user)
    name = secure_filename(upload.filename or "") or "round.csv"
    with tempfile.TemporaryDirectory(prefix="estado-import-") as folder:
        path = Path(folder) / name
        upload.save(path)
        check_input(path, max_bytes)
        return import_round(session, path, year, fmt, None, label, source, strict,
                            actor=actor_of(user).name, user=user)
