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
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from app import records
from app.accounts.service import actor_of, require_admin, require_state
from app.models import AuditEvent, Commitment, Evidence, Milestone, User
from app.models.base import Base, Versioned

if TYPE_CHECKING:
    from app.metric.importer import ImportReport

M = TypeVar("M", bound=Base)


def state_of_commitment(commitment: Commitment) -> str | None:
    """The state whose editors may touch ``commitment`` (None for a national plan)."""
    return commitment.plan.state_cve


def check_commitment(user: User, commitment: Commitment) -> None:
    """403 unless ``user`` may edit ``commitment`` and what hangs from it."""
    require_state(user, state_of_commitment(commitment))


def _evidence_values(
    user: User, commitment: Commitment, milestone: Milestone, evidence: dict[str, Any]
) -> dict[str, Any]:
    return {
        **evidence, "commitment": commitment, "milestone": milestone,
        "added_by_id": user.id, "added_by_label": actor_of(user).name,
    }


def _next_number(session: Session, commitment: Commitment) -> int:
    highest = session.scalar(
        select(func.max(Milestone.number))
        .where(Milestone.commitment_id == commitment.id)
        .execution_options(**records.WITH_DELETED)
    )
    return (highest or 0) + 1


def add_milestone(
    session: Session, user: User, commitment: Commitment, values: dict[str, Any], *,
    source: str | None, evidence: dict[str, Any] | None = None,
) -> Milestone:
    """Add a milestone (and its evidence) to ``commitment``; MissingSource without a source."""
    check_commitment(user, commitment)
    if not source:
        raise MissingSource()
    actor = actor_of(user)
    with records.bulk(session, actor=actor.name, source=source, user=user) as batch:
        milestone = batch.create(Milestone, {
            **values, "commitment": commitment,
            "number": _next_number(session, commitment), "source": source,
        }, summary=values["title"][:200])
        if evidence:
            batch.create(Evidence, _evidence_values(user, commitment, milestone, evidence),
                         summary=evidence["title"])
    return milestone


def update_milestone(
    session: Session, user: User, milestone: Milestone, values: dict[str, Any], *,
    source: str | None, evidence: dict[str, Any] | None = None,
    expected_version: int | None,
) -> bool:
    """Change a milestone; return whether anything changed.

    Raises records.VersionConflict when it changed since the form was read, and
    MissingSource when something changes without a source.
    """
    commitment = milestone.commitment
    check_commitment(user, commitment)
    changed = any(getattr(milestone, k) != v for k, v in values.items())
    if not (changed or evidence):
        records.check_version(milestone, expected_version)
        return False
    if not source:
        raise MissingSource()
    actor = actor_of(user)
    with records.bulk(session, actor=actor.name, source=source, user=user) as batch:
        if changed:
            batch.update(milestone, {**values, "source": source},
                         expected_version=expected_version, summary=milestone.title[:200])
        else:
            records.check_version(milestone, expected_version)
        if evidence:
            batch.create(Evidence, _evidence_values(user, commitment, milestone, evidence),
                         summary=evidence["title"])
    return True


def delete_milestone(
    session: Session, user: User, milestone: Milestone, *, source: str | None,
    expected_version: int | None,
) -> bool:
    """Soft-delete a milestone: it leaves the page and the progress, and stays in history.

    Raises MissingSource without a source."""
    check_commitment(user, milestone.commitment)
    if not source:
        raise MissingSource()
    return records.soft_delete(
        session, milestone, actor=actor_of(user).name, source=source, user=user,
        expected_version=expected_version, summary=milestone.title[:200],
    )


class MissingSource(ValueError):
    """A factual change that names no source URL and no evidence."""


@dataclass
class Conflict:
    """What the conflict page shows: the values someone saved meanwhile and the user's."""

    current: dict[str, Any]
    mine: dict[str, Any]
    version: int
    fields: tuple[str, ...]

    @property
    def differing(self) -> list[str]:
        return [f for f in self.fields if self.current.get(f) != self.mine.get(f)]


# --- Any editable record: plans, commitments, exercise facts, members, evidence -----------


def state_of(session: Session, obj: Base) -> str | None:
    """The state whose editors may touch ``obj``, read from the record in the database
    (None for a national plan and what hangs from it: admins only)."""
    return records.derive_context(session, obj)[0]


def check(session: Session, user: User, obj: Base) -> None:
    """403 unless ``user`` may edit ``obj``."""
    require_state(user, state_of(session, obj))


def _summary(obj: Base) -> str:
    for name in ("title", "name", "status_text"):
        value = getattr(obj, name, None)
        if value:
            return str(value)[:200]
    return f"{obj.__tablename__} {getattr(obj, 'id', '')}".strip()


def create_record(
    session: Session, user: User, model: type[M], values: dict[str, Any], *, state_cve: str | None,
    source: str | None,
) -> M:
    """Create a ``model`` row under a parent of ``state_cve`` (checked); the source is stored
    on the row (when it has a source column) and on its history event."""
    require_state(user, state_cve)
    if not source:
        raise MissingSource()
    if "source" in model.__table__.c:
        values = {**values, "source": source}
    summary = str(values.get("title") or values.get("name") or model.__tablename__)[:200]
    return records.create(session, model, values, actor=actor_of(user).name, source=source,
                          user=user, summary=summary)


def update_record(
    session: Session, user: User, obj: Base, values: dict[str, Any], *, source: str | None,
    expected_version: int | None,
) -> bool:
    """Change ``obj``; return whether anything changed (equal values: nothing recorded).

    Raises VersionConflict when it changed since the form was read, MissingSource when
    something changes without a source.
    """
    check(session, user, obj)
    if not any(getattr(obj, k) != v for k, v in values.items()):
        records.check_version(obj, expected_version)
        return False
    if not source:
        raise MissingSource()
    if "source" in type(obj).__table__.c and type(obj) is not Evidence:
        values = {**values, "source": source}
    return records.update(session, obj, values, actor=actor_of(user).name, source=source,
                          user=user, expected_version=expected_version, summary=_summary(obj))


def delete_record(
    session: Session, user: User, obj: Base, *, source: str | None, expected_version: int | None,
) -> bool:
    """Soft-delete ``obj``: it leaves pages and lists, and stays in the history."""
    check(session, user, obj)
    if not source:
        raise MissingSource()
    return records.soft_delete(session, obj, actor=actor_of(user).name, source=source,
                               user=user, expected_version=expected_version,
                               summary=_summary(obj))


def record_conflict(session: Session, model: type[Versioned], obj_id: int, fields: tuple[str, ...],
                    mine: dict[str, Any]) -> Conflict:
    """Re-read a record after a refused save and compare it with the user's values."""
    current = session.get(model, obj_id, populate_existing=True)
    assert current is not None
    return Conflict(current={f: getattr(current, f) for f in fields}, mine=mine,
                    version=current.version, fields=fields)


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
                             "restáurelo primero.", owner=_summary(exc.owner))) from None


def restore(session: Session, user: User, obj: Versioned, *, source: str | None) -> bool:
    """Bring back a soft-deleted record (admins only)."""
    require_admin(user)
    if not source:
        raise MissingSource()
    with _owner_first():
        return records.restore(session, obj, actor=actor_of(user).name, source=source,
                               user=user, summary=_summary(obj))


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
