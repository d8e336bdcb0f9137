"""Users and the public audit trail of every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


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

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active


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
