"""Users and the public audit trail of every change."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.codes import SIGN_IN_OUTCOMES

from .base import Base, utcnow


def new_session_token() -> str:
    """A fresh random session token (128 bits, hex)."""
    return secrets.token_hex(16)


class User(UserMixin, Base):
    """An account: an admin, or an editor scoped to one state."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'editor')", name="role_known"),
        CheckConstraint("role = 'admin' OR state_cve IS NOT NULL", name="editor_has_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    state_cve: Mapped[str | None] = mapped_column(ForeignKey("state.cve_ent"))
    # The agency the account acts for (an editor's guarantor agency): the public name of
    # its changes, never the email.
    agency: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session's signed cookie (``get_id``); a new one ends every session of
    # the account (sign-out, password change, disable, "sign out everywhere").
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the current session token
        (Flask-Login's "alternative token"), so changing the token ends every session."""
        return f"{self.id}:{self.session_token}"


class SignInAttempt(Base):
    """One sign-in attempt, successful or not: when, from which address, what came of it.

    Shown to the account's owner (/account) and to admins (/admin/users). An attempt for an
    address that has no account keeps no trace of the address typed (it might be a password
    typed in the wrong field), only the time and the client's address.
    """

    __tablename__ = "sign_in_attempt"
    __table_args__ = (CheckConstraint(SIGN_IN_OUTCOMES.sql_in("outcome"), name="outcome_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(45))  # IPv4 or IPv6 of the client
    outcome: Mapped[str] = mapped_column(String(16))


class AuditEvent(Base):
    """Who changed what and when, with the values before and after; shown publicly."""

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(
            "action IN ('create', 'update', 'delete', 'restore')", name="action_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(120))  # "seed", "import" or a user's agency
    action: Mapped[str] = mapped_column(String(8))
    entity: Mapped[str] = mapped_column(String(40))  # table name
    entity_id: Mapped[str] = mapped_column(String(40))
    # Denormalised so per-state and per-commitment feeds are one indexed query.
    state_cve: Mapped[str | None] = mapped_column(ForeignKey("state.cve_ent"), index=True)
    commitment_id: Mapped[int | None] = mapped_column(index=True)
    summary: Mapped[str | None] = mapped_column(String(300))
    # What the change rests on: a URL or a citation (the seed row's source, the imported file).
    source: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
