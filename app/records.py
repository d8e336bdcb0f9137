"""The one audited write path: every change to the data goes through here.

Seed loaders, CLI imports and (later) web forms create, update, soft-delete and restore rows
with these functions. Each change

- adds an AuditEvent: actor, user, action, table, row id, state and commitment (for the
  per-state and per-commitment feeds), summary, source, and the values before and after;
- increments the row's ``version`` (editable tables; ``expected_version`` refuses a change
  to a row that changed since the caller read it);
- marks the row's dataset changed: its DataRevision goes up once per transaction, however
  many rows change.

Nothing changed, nothing recorded: an update to equal values adds no event and bumps nothing,
so loading the same data twice leaves the database as it was. The functions take a session
and never commit; the request or the command owns the transaction.

For many rows (an import) use ``bulk``: the same operations on a ``Batch``, whose events are
written with one multi-row INSERT when the batch is flushed. Rows written with Core bulk
inserts (too many for ORM objects) get the same "create" events from ``Batch.record_created``;
flush such a batch every few thousand rows to keep memory flat.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, event, insert, inspect, null, select
from sqlalchemy.orm import ORMExecuteState, RelationshipProperty, Session, with_loader_criteria
from sqlalchemy.orm.attributes import instance_state

from app.models import AuditEvent, Base, Commitment, DataRevision, User
from app.models.base import OWNER, ByValue, Versioned, utcnow

Outcome = Literal["created", "updated", "unchanged"]
M = TypeVar("M", bound=Base)
SUMMARY_LENGTH = 300
ACTOR_LENGTH = 120


class OwnerDeleted(ValueError):
    """A row cannot be restored while the row it belongs to (``BELONGING``) is deleted."""

    def __init__(self, obj: Any, owner: Any):
        self.obj, self.owner = obj, owner
        super().__init__(
            f"{obj.__tablename__} {_identity(obj)} belongs to {owner.__tablename__} "
            f"{_identity(owner)}, which is deleted: restore that first"
        )


class VersionConflict(Exception):
    """The row changed since the caller read it: its version is not the one expected."""

    def __init__(self, obj: Any, expected: int, current: int | None):
        self.obj, self.expected, self.current = obj, expected, current
        super().__init__(
            f"{obj.__tablename__} {_identity(obj) or '(new)'} is at version {current}, "
            f"not {expected}: someone else changed it meanwhile"
        )


# --- What the models declare: datasets, owners, states ------------------------------------
# Every table is derived from the models' own declarations (``__dataset__``, ``__owners__``,
# ``__state_column__``, see app.models.base.Base): nothing here lists models by hand.


def _models() -> list[type[Base]]:
    return sorted((m.class_ for m in Base.registry.mappers), key=lambda m: m.__name__)


MODELS: tuple[type[Base], ...] = tuple(_models())
BY_NAME: dict[str, type[Base]] = {m.__name__: m for m in MODELS}
# The models with a version and a soft delete (the mixin's subclasses).
EDITABLE: tuple[type[Versioned], ...] = tuple(m for m in MODELS if issubclass(m, Versioned))
BY_TABLE: dict[str, type[Base]] = {m.__tablename__: m for m in MODELS}


def _owners(model: type[Base]) -> tuple[tuple[str, type[Base]], ...]:
    return tuple((column, BY_NAME[name]) for column, name in model.__owners__)



# The rows that belong to a row (model, foreign key): soft-deleting the row soft-deletes them
# too, and restoring it restores those deleted with it (not those deleted before on their own),
# each with its own event, so no page or API shows a commitment of a deleted plan.
BELONGING: dict[type[Base], tuple[tuple[type[Versioned], str], ...]] = {}
for _model in EDITABLE:
    for _column, _owner in _owners(_model):
        if issubclass(_owner, Versioned):
            BELONGING[_owner] = (*BELONGING.get(_owner, ()), (_model, _column))


def datasets_of_model(model: type[Base]) -> tuple[str, ...]:
    """Every dataset a change to a ``model`` row may bump (an owner's, for OWNER)."""
    declared = model.__dataset__
    if isinstance(declared, ByValue):
        return declared.names
    if declared == OWNER:
        return tuple(dict.fromkeys(
            name for _column, owner in _owners(model) for name in datasets_of_model(owner)))
    return (declared,) if isinstance(declared, str) else ()


def public_datasets() -> tuple[str, ...]:
    """Every dataset a model declares, in a stable order: what a public page may depend on."""
    return tuple(sorted({name for model in MODELS for name in datasets_of_model(model)}))


_relationships: dict[type[Base], dict[str, str]] = {}


def _relationship_by_column(model: type[Base]) -> dict[str, str]:
    """Foreign key column -> the relationship that holds the same row (``plan_id``: ``plan``)."""
    if model in _relationships:
        return _relationships[model]
    out = _relationships[model] = {}
    rel: RelationshipProperty[Any]
    for rel in inspect(model).relationships:
        columns = [c.key for c in rel.local_columns if c.key is not None]
        if rel.direction.name == "MANYTOONE" and len(columns) == 1:
            out[columns[0]] = rel.key
    return out


def owner_of(session: Session, obj: Any) -> Any:
    """The row ``obj`` belongs to (the first of its declared owners that is set), or None.

    Read through the relationship when the row is not flushed yet (its key still empty)."""
    relationships = _relationship_by_column(type(obj))
    for column, model in _owners(type(obj)):
        key = getattr(obj, column)
        if key is not None:
            return session.get(model, key, execution_options=WITH_DELETED)
        if column in relationships and (owner := getattr(obj, relationships[column])):
            return owner
    return None


def chain(session: Session, obj: Any) -> Iterator[Any]:
    """``obj``, its owner, its owner's owner... (a milestone, its commitment, its plan)."""
    while obj is not None:
        yield obj
        obj = owner_of(session, obj)


def dataset_of(session: Session, obj: Any) -> str:
    """Return the dataset whose revision a change to ``obj`` bumps."""
    for row in chain(session, obj):
        declared = type(row).__dataset__
        if declared is None:
            break
        if declared != OWNER:
            return declared if isinstance(declared, str) else declared(row)
    raise LookupError(f"{type(obj).__name__} declares no dataset (__dataset__)")


def _static_dataset(model: type) -> str | None:
    declared = model.__dataset__  # type: ignore[attr-defined]
    return declared if isinstance(declared, str) and declared != OWNER else None


_BUMPED = "app.records.bumped"


def touch(session: Session, dataset: str) -> None:
    """Record that ``dataset`` changed: its DataRevision goes up once per transaction.

    Later calls in the same transaction do nothing; a savepoint rolled back forgets its bumps.
    """
    if session.get_transaction() is None:
        session.connection()  # begin now, so the bump belongs to this transaction
    current = session.get_nested_transaction() or session.get_transaction()
    bumped: weakref.WeakKeyDictionary = session.info.setdefault(
        _BUMPED, weakref.WeakKeyDictionary()
    )
    transaction = current
    while transaction is not None:
        if dataset in bumped.get(transaction, ()):
            return
        transaction = transaction.parent
    DataRevision.bump(session, dataset)
    bumped.setdefault(current, set()).add(dataset)


# --- What an event says about a row --------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Return ``value`` in a form the JSON columns store (dates as ISO strings)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


# Columns an event leaves out: the surrogate key is the event's entity_id, and version and
# deleted_at are bookkeeping (a soft delete records deleted_at itself).
_NOT_IN_SNAPSHOTS = frozenset({"id", "version", "deleted_at"})


_snapshot_keys: dict[type[Base], tuple[str, ...]] = {}
_PLAIN = (str, int, float, bool)


def _snapshot_columns(model: type[Base]) -> tuple[str, ...]:
    keys = _snapshot_keys.get(model)
    if keys is None:
        skipped = _NOT_IN_SNAPSHOTS | model.__not_in_history__
        keys = tuple(a.key for a in inspect(model).column_attrs if a.key not in skipped)
        _snapshot_keys[model] = keys
    return keys


def snapshot(obj: Any) -> dict[str, Any]:
    """Return the row's known column values, JSON-safe (what a create or delete records)."""
    values = {}
    for key in _snapshot_columns(type(obj)):
        value = getattr(obj, key)
        if value is not None:
            values[key] = value if isinstance(value, _PLAIN) else jsonable(value)
    return values


def snapshot_values(model: type[Base], values: Mapping[str, Any]) -> dict[str, Any]:
    """Return what ``snapshot`` gives for a ``model`` row holding ``values`` (column -> value)."""
    snap = {}
    for key in _snapshot_columns(model):
        value = values.get(key)
        if value is not None:
            snap[key] = value if isinstance(value, _PLAIN) else jsonable(value)
    return snap


def summary_of(obj: Any) -> str:
    """The one-line name of a row in its events and messages: its title or name."""
    for name in ("title", "name", "status_text", "text"):
        value = getattr(obj, name, None)
        if value:
            return str(value)[:200]
    return f"{obj.__tablename__} {_identity(obj) or ''}".strip()


def _identity(obj: Any) -> str | None:
    identity = instance_state(obj).identity
    if identity is None:
        return None
    return str(identity[0]) if len(identity) == 1 else "/".join(str(p) for p in identity)


def derive_context(session: Session, obj: Any) -> tuple[str | None, int | None]:
    """Return the (state_cve, commitment_id) an event about ``obj`` is filed under.

    Read up the chain of owners: the first commitment in it, and the state of the first row
    that declares one (``__state_column__``: a plan, an exercise, a state). A national plan's
    state is NULL; metric rows declare none, so an import does not flood the states' feeds.
    """
    state_cve: str | None = None
    commitment_id: int | None = None
    for row in chain(session, obj):
        if commitment_id is None and isinstance(row, Commitment):
            commitment_id = row.id
        column = type(row).__state_column__
        if column is not None:
            state_cve = getattr(row, column)
            break
    return state_cve, commitment_id


def live(model: type[Versioned]) -> ColumnElement[bool]:
    """Return the clause that keeps rows not soft-deleted: ``select(M).where(live(M))``."""
    return model.deleted_at.is_(None)


# Reading sees only live rows: every ORM query (pages, lists, relationship collections, the
# CLI) gets ``deleted_at IS NULL`` for every editable table it touches. The write path, the
# importer and the history pages opt out with ``execution_options(**WITH_DELETED)``.
WITH_DELETED = {"include_deleted": True}


@event.listens_for(Session, "do_orm_execute")
def _hide_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get("include_deleted", False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(Versioned, lambda cls: cls.deleted_at.is_(None),
                                 include_aliases=True)
        )


def check_version(obj: Any, expected: int | None) -> None:
    """Raise VersionConflict unless ``obj`` is still at the ``expected`` version (if given)."""
    if expected is None:
        return
    if not isinstance(obj, Versioned):
        raise TypeError(f"{type(obj).__name__} has no version to check")
    if obj.version != expected:
        raise VersionConflict(obj, expected, obj.version)


def _next_version(obj: Any) -> None:
    if isinstance(obj, Versioned):
        obj.version = (obj.version or 1) + 1


def _soft_deletable(obj: Any) -> None:
    if not isinstance(obj, Versioned):
        raise TypeError(f"{type(obj).__name__} has no soft delete (not in records.EDITABLE)")


def _deleted_owner(session: Session, obj: Any) -> Any:
    """The deleted row ``obj`` belongs to (its declared owner, if versioned), or None."""
    owner = owner_of(session, obj)
    return owner if isinstance(owner, Versioned) and owner.deleted_at is not None else None


# --- Batches: changes whose events are written together ------------------------------------


@dataclass
class _Change:
    action: str
    obj: Any
    before: dict[str, Any] | None
    after: dict[str, Any] | None  # None for a create: the row as flushed
    summary: str | None
    state_cve: str | None
    commitment_id: int | None
    dataset: str | None
    entity_id: str | None = None  # known in advance for a hard delete


@dataclass
class _Created:
    """A row the caller inserted itself (``Batch.record_created``): its event, ready made."""

    entity: str
    entity_id: str
    after: dict[str, Any]
    summary: str | None
    state_cve: str | None
    commitment_id: int | None
    dataset: str
    action: str = "create"


def _filed(model: type) -> bool:
    """Whether events about ``model`` rows are filed under a state or a commitment."""
    return bool(model.__state_column__ or model.__owners__ and any(  # type: ignore[attr-defined]
        _filed(owner) for _column, owner in _owners(model)))


class Batch:
    """Changes by one actor on one source; their events are written by ``flush``.

    The operations are those of the module functions (which use a one-change batch). Rows are
    changed in the session at once; events, version checks and revision bumps follow the same
    rules. ``state_cve``, ``commitment_id`` and ``dataset`` are derived from each row unless
    given; ``summary`` is a one-line description shown in the feeds.
    """

    def __init__(
        self, session: Session, *, actor: str, source: str | None, user: User | int | None = None
    ):
        if not actor:
            raise ValueError("every change needs an actor")
        self.session = session
        self.actor = actor[:ACTOR_LENGTH]
        self.source = source
        self.user_id = user.id if isinstance(user, User) else user
        self._pending: list[_Change | _Created] = []

    def _add(
        self, action: str, obj: Any, before: dict | None, after: dict | None, *,
        summary: str | None, state_cve: str | None, commitment_id: int | None,
        dataset: str | None,
    ) -> None:
        self._pending.append(
            _Change(action, obj, before, after, summary, state_cve, commitment_id, dataset)
        )

    def create(
        self, model: type[M], values: Mapping[str, Any], *, summary: str | None = None,
        state_cve: str | None = None, commitment_id: int | None = None,
        dataset: str | None = None,
    ) -> M:
        """Add a new ``model(**values)`` (relationships allowed) to the session; return it."""
        obj = model(**values)
        self.session.add(obj)
        self._add(
            "create", obj, None, None, summary=summary, state_cve=state_cve,
            commitment_id=commitment_id, dataset=dataset,
        )
        return obj

    def record_created(
        self, model: type[Base], rows: Sequence[Mapping[str, Any]], summaries: Sequence[str | None],
        *, state_cve: str | None = None, commitment_id: int | None = None,
        dataset: str | None = None,
    ) -> int:
        """Record the creation of ``model`` rows the caller inserted itself; return how many.

        For many new rows written with SQLAlchemy Core bulk inserts (an import), where building
        an ORM object per row would cost too much memory. Each row maps every column the
        insert wrote to its value, with the primary key ``id`` (e.g. from ``RETURNING``);
        ``summaries`` go with the rows, one each. The events are those ``create`` records:
        same entity, entity id, summary, and the row's values (without id, version and
        deleted_at, nor the columns that are None) as ``after``; written by ``flush`` in
        order with the batch's other changes, with the dataset's one revision bump.
        ``state_cve`` and ``commitment_id`` are not derived (there is no object to derive
        them from): give them for the models filed under a state or a commitment.
        """
        if len(rows) != len(summaries):
            raise ValueError(f"{len(rows)} rows but {len(summaries)} summaries")
        if _filed(model) and state_cve is None and commitment_id is None:
            raise ValueError(
                f"{model.__name__} events are filed under a state or a commitment: give them"
            )
        dataset = dataset or _static_dataset(model)
        if dataset is None:
            raise ValueError(f"{model.__name__} rows need an explicit dataset")
        entity = model.__tablename__
        for row, summary in zip(rows, summaries, strict=True):
            self._pending.append(
                _Created(
                    entity, str(row["id"]), snapshot_values(model, row), summary, state_cve,
                    commitment_id, dataset,
                )
            )
        return len(rows)

    def update(
        self, obj: Any, values: Mapping[str, Any], *, expected_version: int | None = None,
        summary: str | None = None, state_cve: str | None = None,
        commitment_id: int | None = None, dataset: str | None = None,
    ) -> bool:
        """Set the column ``values`` that differ; return whether any did.

        Raises VersionConflict when ``expected_version`` is given and is not the row's.
        """
        check_version(obj, expected_version)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, value in values.items():
            old = getattr(obj, name)
            if old != value:
                before[name], after[name] = old, value
        if not after:
            return False
        for name, value in after.items():
            setattr(obj, name, value)
        _next_version(obj)
        self._add(
            "update", obj, jsonable(before), jsonable(after), summary=summary,
            state_cve=state_cve, commitment_id=commitment_id, dataset=dataset,
        )
        return True

    def soft_delete(self, obj: Any, **options: Any) -> bool:
        """Mark the row deleted (it stays, hidden from lists); False if it already was.

        The options are those of ``update``: expected_version, summary, state_cve,
        commitment_id, dataset.
        """
        return self._set_deleted(obj, True, **options)

    def restore(self, obj: Any, **options: Any) -> bool:
        """Undo a soft delete; False if the row was not deleted (options: as ``soft_delete``)."""
        return self._set_deleted(obj, False, **options)

    def _set_deleted(
        self, obj: Any, deleted: bool, *, expected_version: int | None = None,
        summary: str | None = None, state_cve: str | None = None,
        commitment_id: int | None = None, dataset: str | None = None,
    ) -> bool:
        """Soft-delete (``deleted``) or restore the row: a "delete" or "restore" event whose
        before and after are its ``deleted_at``; False, nothing recorded, if it already was."""
        _soft_deletable(obj)
        check_version(obj, expected_version)
        if not deleted and (owner := _deleted_owner(self.session, obj)) is not None:
            raise OwnerDeleted(obj, owner)
        return self._mark_deleted(obj, utcnow() if deleted else None, summary=summary,
                                  state_cve=state_cve, commitment_id=commitment_id,
                                  dataset=dataset)

    def _mark_deleted(self, obj: Any, at: datetime | None, *, summary: str | None = None,
                      state_cve: str | None = None, commitment_id: int | None = None,
                      dataset: str | None = None) -> bool:
        """Set ``deleted_at`` to ``at`` (None: restore) with its event, then do the same to
        the rows that belong to ``obj`` (``BELONGING``); False if it already was so."""
        if (obj.deleted_at is None) == (at is None):
            return False
        was = obj.deleted_at
        obj.deleted_at = at
        _next_version(obj)
        self._add("delete" if at is not None else "restore", obj,
                  {"deleted_at": jsonable(was)}, {"deleted_at": jsonable(at)}, summary=summary,
                  state_cve=state_cve, commitment_id=commitment_id, dataset=dataset)
        for model, key in BELONGING.get(type(obj), ()):
            rows: Select[Versioned] = select(model).where(getattr(model, key) == obj.id)
            if at is None:  # restore only what was deleted with it
                rows = rows.where(model.deleted_at == was)
            for row in self.session.scalars(rows.execution_options(**WITH_DELETED)):
                self._mark_deleted(row, at)
        return True

    def hard_delete(
        self, obj: Any, *, expected_version: int | None = None, summary: str | None = None,
        state_cve: str | None = None, commitment_id: int | None = None,
        dataset: str | None = None,
    ) -> None:
        """Delete the row for good; the event keeps its values (for data an import replaces)."""
        check_version(obj, expected_version)
        if _identity(obj) is None:
            self.session.flush()
        derived = derive_context(self.session, obj)
        change = _Change(
            "delete", obj, snapshot(obj), None, summary,
            state_cve if state_cve is not None else derived[0],
            commitment_id if commitment_id is not None else derived[1],
            dataset or dataset_of(self.session, obj), entity_id=_identity(obj),
        )
        self._pending.append(change)
        self.session.delete(obj)

    def record(
        self, obj: Any, action: str, *, before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None, summary: str | None = None,
        state_cve: str | None = None, commitment_id: int | None = None,
        dataset: str | None = None,
    ) -> None:
        """Record a change the caller made itself, e.g. to a collection (a commitment's themes).

        An "update" increments the row's version, as ``update`` does.
        """
        if action not in ("create", "update", "delete", "restore"):
            raise ValueError(f"unknown action {action!r}")
        if action == "update":
            _next_version(obj)
        self._add(
            action, obj,
            None if before is None else jsonable(before),
            None if after is None else jsonable(after),
            summary=summary, state_cve=state_cve, commitment_id=commitment_id,
            dataset=dataset,
        )

    def flush(self) -> int:
        """Flush the session, write the pending events in one INSERT, bump; return how many."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        session = self.session
        if any(c.entity_id is None and _identity(c.obj) is None for c in pending):
            session.flush()  # new rows need their primary keys
        at = utcnow()
        rows = []
        datasets: set[str] = set()
        for change in pending:
            if isinstance(change, _Created):
                rows.append({
                    "at": at, "user_id": self.user_id, "actor": self.actor,
                    "action": "create", "entity": change.entity, "entity_id": change.entity_id,
                    "state_cve": change.state_cve, "commitment_id": change.commitment_id,
                    "summary": (change.summary or "")[:SUMMARY_LENGTH] or None,
                    "source": self.source, "before": null(), "after": change.after,
                })
                datasets.add(change.dataset)
                continue
            state_cve, commitment_id = change.state_cve, change.commitment_id
            if change.entity_id is None and (state_cve is None or commitment_id is None):
                derived = derive_context(session, change.obj)
                state_cve = state_cve if state_cve is not None else derived[0]
                commitment_id = commitment_id if commitment_id is not None else derived[1]
            after = change.after
            if after is None and change.action == "create":
                after = snapshot(change.obj)
            row = {
                "at": at,
                "user_id": self.user_id,
                "actor": self.actor,
                "action": change.action,
                "entity": change.obj.__tablename__,
                "entity_id": change.entity_id or _identity(change.obj),
                "state_cve": state_cve,
                "commitment_id": commitment_id,
                "summary": (change.summary or "")[:SUMMARY_LENGTH] or None,
                "source": self.source,
                # null(): SQL NULL; a plain None would be stored as the JSON value null.
                "before": null() if change.before is None else change.before,
                "after": null() if after is None else after,
            }
            if row["summary"] is None:
                row["summary"] = summary_of(change.obj)[:SUMMARY_LENGTH]
            rows.append(row)
            datasets.add(change.dataset or dataset_of(session, change.obj))
        for dataset in sorted(datasets):
            touch(session, dataset)
        # Core executemany: multi-row INSERTs without the ORM's bookkeeping.
        session.execute(insert(AuditEvent.__table__), rows)
        return len(rows)


@contextmanager
def bulk(
    session: Session, *, actor: str, source: str | None, user: User | int | None = None
) -> Iterator[Batch]:
    """Yield a Batch whose events are written when the block ends without an error."""
    batch = Batch(session, actor=actor, source=source, user=user)
    yield batch
    batch.flush()


# --- One change at a time ----------------------------------------------------------------


def _single(session: Session, operation: str, *args: Any, actor: str, source: str | None,
            user: User | int | None = None, **options: Any) -> Any:
    """Run one ``Batch`` operation in its own batch (its event is written at once)."""
    with bulk(session, actor=actor, source=source, user=user) as batch:
        return getattr(batch, operation)(*args, **options)


# One change each; ``options`` are those of the Batch method of the same name:
# expected_version, summary, state_cve, commitment_id, dataset.


def create(session: Session, model: type[M], values: Mapping[str, Any], **options: Any) -> M:
    """Create a ``model`` row from ``values``, record it, and return it (flushed, with its id)."""
    return _single(session, "create", model, values, **options)


def update(session: Session, obj: Any, values: Mapping[str, Any], **options: Any) -> bool:
    """Set the ``values`` that differ and record them; return whether anything changed.

    Raises VersionConflict when ``expected_version`` is given and is not the row's version.
    """
    return _single(session, "update", obj, values, **options)


def soft_delete(session: Session, obj: Any, **options: Any) -> bool:
    """Mark ``obj`` deleted and record it; False (nothing recorded) if it already was."""
    return _single(session, "soft_delete", obj, **options)


def restore(session: Session, obj: Any, **options: Any) -> bool:
    """Undo the soft delete of ``obj`` and record it; False if it was not deleted."""
    return _single(session, "restore", obj, **options)


def record(session: Session, obj: Any, action: str, **options: Any) -> None:
    """Record a change the caller made itself (see ``Batch.record``): before=, after=."""
    _single(session, "record", obj, action, **options)


def upsert(
    session: Session, model: type[M], key: Mapping[str, Any], values: Mapping[str, Any], *,
    actor: str, source: str | None, dataset: str | None = None,
    state_cve: str | None = None, commitment_id: int | None = None,
    summary: str | None = None, user: User | int | None = None,
) -> tuple[M, Outcome]:
    """Create or update the row identified by ``key``; return it and what happened.

    A soft-deleted row found by ``key`` is updated but stays deleted: only ``restore``
    brings a row back.
    """
    obj = session.scalars(
        select(model).filter_by(**key).execution_options(**WITH_DELETED)
    ).one_or_none()
    context = {
        "actor": actor, "source": source, "dataset": dataset, "state_cve": state_cve,
        "commitment_id": commitment_id, "summary": summary, "user": user,
    }
    if obj is None:
        return create(session, model, {**key, **values}, **context), "created"
    return obj, "updated" if update(session, obj, values, **context) else "unchanged"
