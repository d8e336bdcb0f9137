"""The states: names as pages and maps show them. Functions take a session, never commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import State


def state_names(session: Session) -> dict[str, str]:
    """Return cve_ent -> common name (short_name) of the seeded states."""
    return dict(session.execute(select(State.cve_ent, State.short_name)).all())


def known_states(session: Session) -> dict[str, str]:
    """Return cve_ent -> official name, the codes an imported layer may use."""
    return dict(session.execute(select(State.cve_ent, State.name)).all())
