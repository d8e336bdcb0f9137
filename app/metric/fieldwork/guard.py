"""A frozen round is read-only: any flush that changes it or its rows is refused.

Checked on every flush of every session (the services, the generic editing pages, a revert),
so no path can change a frozen round's fieldwork. Publishing may still link the round to the
metric round it wrote (``published_round_id``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import (
    FieldworkAssignment,
    FieldworkMember,
    FieldworkObservation,
    FieldworkReconciliation,
    FieldworkRound,
    FieldworkSample,
)

CHILDREN = (FieldworkMember, FieldworkSample, FieldworkAssignment, FieldworkObservation,
            FieldworkReconciliation)
# What may still change on a frozen round: its link to the published metric round (and the
# version that change increments).
AFTER_FREEZE = frozenset({"published_round_id", "version"})


class RoundFrozen(Exception):
    """A change to a frozen round or its fieldwork."""

    def __init__(self, what: str, year: int):
        self.year = year
        super().__init__(f"round {year} is frozen: its {what} can no longer change")


def _frozen_before(obj: FieldworkRound) -> bool:
    """Whether the round was frozen before this flush (a freeze in this flush does not count)."""
    history = inspect(obj).attrs.frozen_at.history
    if history.deleted:
        return history.deleted[0] is not None
    if history.added:
        return False
    return obj.frozen_at is not None


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_frozen_rounds(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, FieldworkRound):
            state = inspect(obj)
            if state.transient or state.pending:
                continue
            if not _frozen_before(obj):
                continue
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if obj in session.deleted or changed - AFTER_FREEZE:
                raise RoundFrozen("settings", obj.year)
        elif isinstance(obj, CHILDREN):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            parent = session.get(FieldworkRound, obj.round_id,
                                 execution_options={"include_deleted": True})
            if parent is not None and _frozen_before(parent):
                raise RoundFrozen(obj.__tablename__.removeprefix("fieldwork_"), parent.year)
