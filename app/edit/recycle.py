"""The recycle bin: every soft-deleted record, with who deleted it, when and why.

The kinds of record are the models with a soft delete (``app.records.EDITABLE``, from the
models' own declarations); each row is read from its table (``deleted_at`` set) and joined to
its newest "delete" event in the audit trail, which gives the state it was filed under, the
agency that deleted it, the time and the source given as the reason. An admin sees every
state's (and the records of no state: national plans, metric data); an editor only their
state's. Restoring goes through the one audited restore (``service.restore``), which refuses a
record whose owner is still deleted and names the owner.

The list is one of the list abstraction (``BIN``: filters kind and state, sorts, pages), built
in SQL (a UNION ALL over the tables), so it pages without loading every deleted row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, Text, and_, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from app import params, records
from app.accounts.service import is_admin, require_state
from app.listing import (
    ListSpec,
    ListView,
    Page,
    Sort,
    columns,
    order_select,
    paginate,
    wants_download,
)
from app.models import AuditEvent, State, User
from app.schema.history import entity_label
from common.codes import STATE_CODES
from common.text import folded

# The tables whose rows can be soft-deleted, and so restored (the models declare it).
TABLES: tuple[str, ...] = tuple(sorted(m.__tablename__ for m in records.EDITABLE))
# The column that names a row, when its table has one (as ``records.summary_of`` reads it).
_NAME_COLUMNS = ("title", "name", "status_text")


def _deleted_rows() -> Any:
    """Every soft-deleted row of every editable table: (entity, entity_id, deleted_at, name).

    Built from the tables (Core), not the mapped classes, so the session's filter that hides
    deleted rows from ORM queries does not apply."""
    parts = []
    for model in records.EDITABLE:
        table = model.__table__
        name = next((table.c[n] for n in _NAME_COLUMNS if n in table.c), None)
        parts.append(select(
            literal(table.name, String(40)).label("entity"),
            cast(table.c.id, String(40)).label("entity_id"),
            table.c.deleted_at.label("deleted_at"),
            (cast(name, Text) if name is not None else cast(null(), Text)).label("name"),
        ).where(table.c.deleted_at.is_not(None)))
    return union_all(*parts).subquery("deleted")


DELETED = _deleted_rows()
# The newest delete event of each row (a row deleted, restored and deleted again: the last).
_LATEST = (
    select(AuditEvent.entity, AuditEvent.entity_id, func.max(AuditEvent.id).label("event_id"))
    .where(AuditEvent.action == "delete", AuditEvent.entity.in_(TABLES))
    .group_by(AuditEvent.entity, AuditEvent.entity_id)
    .subquery("latest_delete")
)
_TITLE = func.coalesce(DELETED.c.name, AuditEvent.summary, DELETED.c.entity)

BIN = ListSpec(
    name="papelera",
    filters={
        "kind": params.choice(TABLES, metadata={
            "description": "The kind of record (its table)."}),
        "state": params.choice(STATE_CODES, metadata={
            "description": "INEGI state code the record was filed under."}),
    },
    sorts={
        "deleted": Sort((DELETED.c.deleted_at,), descending=True),
        "kind": Sort((DELETED.c.entity,)),
        "title": Sort((folded(_TITLE),)),
        "state": Sort((folded(State.name),)),
        "by": Sort((folded(AuditEvent.actor),)),
    },
    default_sort="-deleted",
    # The download's columns (English, as every download): what the page shows of each row.
    columns=columns(
        "table", "id", "kind", "title", "cve_ent", "state", "deleted_at", "deleted_by",
        "source",
        table="entity", id="entity_id", kind="kind", title="title", cve_ent="state_cve",
        state="state_name", deleted_at=lambda r: r.at or r.deleted_at, deleted_by="by",
        source="why",
    ),
)


def _filed_under_state(model: Any) -> bool:
    """Whether ``model`` rows belong to a state (a state column up their chain of owners)."""
    return bool(model.__state_column__) or any(
        _filed_under_state(records.BY_NAME[name]) for _column, name in model.__owners__)


# What an editor can find in their state's bin: the kinds filed under a state.
STATE_TABLES: tuple[str, ...] = tuple(
    sorted(m.__tablename__ for m in records.EDITABLE if _filed_under_state(m)))


@dataclass
class BinRow:
    """One deleted record."""

    entity: str
    entity_id: str
    kind: str  # what the table's rows are called
    title: str
    state_cve: str | None
    state_name: str | None
    deleted_at: datetime
    by: str | None  # the agency (public actor) that deleted it
    at: datetime | None  # the time of its delete event
    why: str | None  # the source given with the delete
    owner: str | None = None  # the record it belongs to (a commitment's plan...)
    owner_deleted: bool = False  # then restoring it alone is refused: restore the owner

    @property
    def key(self) -> str:
        return f"{self.entity}-{self.entity_id}"


@dataclass
class RecycleBin:
    """A page of the bin, and what its filters offer."""

    page: Page
    downloaded: list[BinRow]  # every row the filters select, when a download is asked for
    state: State | None  # the state an editor's bin is limited to (None: every state)
    kinds: list[tuple[str, str]]  # (table, label), for the kind filter
    states: list[tuple[str, str]]  # (cve, name), for the state filter (admins)


def bin_select(view: ListView, only_state: str | None) -> Select:
    """The deleted rows the view asks for (of ``only_state`` when given), in its order."""
    d = DELETED
    stmt = (
        select(d.c.entity, d.c.entity_id, d.c.deleted_at, _TITLE.label("title"),
               AuditEvent.state_cve, State.name.label("state_name"), AuditEvent.actor,
               AuditEvent.at, AuditEvent.source)
        .select_from(d)
        .outerjoin(_LATEST, and_(_LATEST.c.entity == d.c.entity,
                                 _LATEST.c.entity_id == d.c.entity_id))
        .outerjoin(AuditEvent, AuditEvent.id == _LATEST.c.event_id)
        .outerjoin(State, State.cve_ent == AuditEvent.state_cve)
    )
    if only_state is not None:
        stmt = stmt.where(AuditEvent.state_cve == only_state)
    if view.filters.get("state"):
        stmt = stmt.where(AuditEvent.state_cve == view.filters["state"])
    if view.filters.get("kind"):
        stmt = stmt.where(d.c.entity == view.filters["kind"])
    return order_select(stmt, view, d.c.entity, d.c.entity_id)


def _owner(session: Session, entity: str, entity_id: str) -> tuple[str | None, bool]:
    """The record a deleted row belongs to, by its one-line name, and whether it is deleted."""
    model = records.BY_TABLE[entity]
    obj = session.get(model, int(entity_id), execution_options=records.WITH_DELETED)
    owner = records.owner_of(session, obj) if obj is not None else None
    if owner is None:
        return None, False
    return records.summary_of(owner), getattr(owner, "deleted_at", None) is not None


def _row(r: Any, owner: str | None = None, owner_deleted: bool = False) -> BinRow:
    return BinRow(
        entity=r.entity, entity_id=r.entity_id, kind=entity_label(r.entity), title=r.title,
        state_cve=r.state_cve, state_name=r.state_name, deleted_at=r.deleted_at, by=r.actor,
        at=r.at, why=r.source, owner=owner, owner_deleted=owner_deleted,
    )


def recycle_bin(session: Session, user: User, view: ListView) -> RecycleBin:
    """The bin as ``user`` may see it: an admin every record, an editor their state's (a
    ``state`` filter naming another state is refused, 403)."""
    only_state = None if is_admin(user) else user.state_cve
    if only_state is None and not is_admin(user):
        require_state(user, None)  # an editor without a state sees nothing: 403
    if only_state is not None and view.filters.get("state") not in (None, only_state):
        require_state(user, view.filters["state"])
    stmt = bin_select(view, only_state)
    downloaded = [_row(r) for r in session.execute(stmt)] if wants_download(view) else []
    page = paginate(stmt, view, session)
    page.items = [_row(r, *_owner(session, r.entity, r.entity_id)) for r in page.items]
    states = [] if only_state is not None else [
        (cve, name) for cve, name in session.execute(
            select(State.cve_ent, State.name).order_by(State.name))]
    return RecycleBin(
        page=page,
        downloaded=downloaded,
        state=session.get(State, only_state) if only_state is not None else None,
        kinds=sorted(((t, entity_label(t)) for t in (TABLES if only_state is None
                                                      else STATE_TABLES)),
                     key=lambda kv: kv[1]),
        states=states,
    )


def deleted_record(session: Session, table: str, obj_id: int) -> Any:
    """A row of an editable table by its id, deleted or not (None when there is none)."""
    model = records.BY_TABLE.get(table)
    if model is None or model not in records.EDITABLE:
        return None
    return session.get(model, obj_id, execution_options=records.WITH_DELETED)
