"""Upserts that leave an audit trail: every create and update becomes an AuditEvent.

The events carry ``state_cve`` and ``commitment_id`` so that the per-state and per-commitment
Atom feeds are one indexed query. An unchanged row records nothing, so loading twice adds no
events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Commitment

SEED_ACTOR = "seed"


def jsonable(value: Any) -> Any:
    """Return ``value`` in a form the JSON column stores (dates as ISO strings)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def entity_id(obj: Any) -> str:
    """Return the primary key of a mapped object as a string ("3" or "5/gender")."""
    identity = inspect(obj).identity
    if identity is None:
        raise ValueError(f"{obj!r} has no primary key yet; flush first")
    return "/".join(str(part) for part in identity)


def record(
    session: Session,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    state_cve: str | None,
    commitment_id: int | None,
    summary: str | None,
    actor: str = SEED_ACTOR,
) -> AuditEvent:
    """Add one AuditEvent describing a change to ``obj``."""
    event = AuditEvent(
        actor=actor,
        action=action,
        entity=obj.__tablename__,
        entity_id=entity_id(obj),
        state_cve=state_cve,
        commitment_id=commitment_id,
        summary=(summary or "")[:300] or None,
        before={k: jsonable(v) for k, v in before.items()} if before is not None else None,
        after={k: jsonable(v) for k, v in after.items()} if after is not None else None,
    )
    session.add(event)
    return event


def audited_upsert(
    session: Session,
    model: type,
    key: dict[str, Any],
    values: dict[str, Any],
    *,
    state_cve: str | None,
    commitment_id: int | None = None,
    summary: str | None = None,
    actor: str = SEED_ACTOR,
) -> tuple[Any, str]:
    """Create or update the row identified by ``key``, recording what changed.

    Returns the row and "created", "updated" or "unchanged". For a Commitment the event's
    commitment_id is the commitment's own id.
    """
    obj = session.scalars(select(model).filter_by(**key)).one_or_none()
    if obj is None:
        obj = model(**key, **values)
        session.add(obj)
        session.flush()  # the event needs the new primary key
        if model is Commitment:
            commitment_id = obj.id
        record(
            session, "create", obj, before=None, after={**key, **values},
            state_cve=state_cve, commitment_id=commitment_id, summary=summary, actor=actor,
        )
        return obj, "created"
    before = {name: getattr(obj, name) for name, v in values.items() if getattr(obj, name) != v}
    if not before:
        return obj, "unchanged"
    after = {name: values[name] for name in before}
    for name, value in after.items():
        setattr(obj, name, value)
    if model is Commitment:
        commitment_id = obj.id
    record(
        session, "update", obj, before=before, after=after,
        state_cve=state_cve, commitment_id=commitment_id, summary=summary, actor=actor,
    )
    return obj, "updated"
