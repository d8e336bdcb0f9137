"""Fieldwork rounds of the metric: a round run here, from its sample to its observations.

A round holds its instruments and weight scheme as data, its legal deadline, its sample of
institutions, the coders assigned to them (some institutions twice, for double coding), every
coder's observation per item, and the reviewers' reconciliations. Once frozen it is read-only;
publishing writes its computed scores as an ordinary MetricRound. Every table is editable
(version, soft delete) and written only through ``app.records``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.codes import FIELDWORK_ROLES, SAMPLE_METHODS

from .accounts import User
from .base import OWNER, Base, Versioned, utcnow
from .metric import Institution, MetricRound


class FieldworkRound(Versioned, Base):
    """One round of fieldwork: settings, instruments and scheme (data), and its state."""

    __tablename__ = "fieldwork_round"
    __dataset__ = "metric"
    __table_args__ = (
        CheckConstraint("deadline_days >= 1", name="deadline_positive"),
        CheckConstraint("extension_days >= 0", name="extension_not_negative"),
        CheckConstraint("requests >= 1 AND proposals >= 1", name="occasions_positive"),
        CheckConstraint("double_share >= 0 AND double_share <= 1", name="double_share_in_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The year its results are published under (a MetricRound of that year).
    year: Mapped[int] = mapped_column(unique=True)
    label: Mapped[str] = mapped_column(String(200))
    # Who runs the round and on what it rests (shown with its results).
    source: Mapped[str] = mapped_column(Text)
    instruments: Mapped[dict[str, Any]] = mapped_column(JSON)
    weight_scheme: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Business days to answer a request, and the extension (the law in force for the round).
    deadline_days: Mapped[int]
    extension_days: Mapped[int]
    # Requests and proposals sent to each institution.
    requests: Mapped[int] = mapped_column(default=1, server_default="1")
    proposals: Mapped[int] = mapped_column(default=1, server_default="1")
    # Extra non-working days beside weekends and official holidays: ISO date -> why.
    closed_days: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Share of the sample coded by two coders independently, and the seed of the draws.
    double_share: Mapped[float] = mapped_column(default=0.0, server_default="0")
    seed: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None]
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    published_round_id: Mapped[int | None] = mapped_column(ForeignKey("metric_round.id"))

    frozen_by: Mapped[User | None] = relationship()
    published_round: Mapped[MetricRound | None] = relationship()


class FieldworkMember(Versioned, Base):
    """An account's role in one round: coordinator, coder or reviewer."""

    __tablename__ = "fieldwork_member"
    __dataset__ = OWNER
    __owners__ = (("round_id", "FieldworkRound"),)
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "role"),
        CheckConstraint(FIELDWORK_ROLES.sql_in("role"), name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("fieldwork_round.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))

    user: Mapped[User] = relationship()


class FieldworkSample(Versioned, Base):
    """An institution of the registry in a round's sample, and how it was chosen."""

    __tablename__ = "fieldwork_sample"
    __dataset__ = OWNER
    __owners__ = (("round_id", "FieldworkRound"),)
    __table_args__ = (
        UniqueConstraint("round_id", "institution_id"),
        CheckConstraint(SAMPLE_METHODS.sql_in("chosen_by"), name="chosen_by_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("fieldwork_round.id", ondelete="CASCADE"),
                                          index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    chosen_by: Mapped[str] = mapped_column(String(8))
    # The quota cell it was drawn in, e.g. "09|municipal|municipality".
    stratum: Mapped[str | None] = mapped_column(String(120))

    institution: Mapped[Institution] = relationship()


class FieldworkAssignment(Versioned, Base):
    """A coder assigned to code one institution of the round."""

    __tablename__ = "fieldwork_assignment"
    __dataset__ = OWNER
    __owners__ = (("round_id", "FieldworkRound"),)
    __table_args__ = (UniqueConstraint("round_id", "institution_id", "coder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("fieldwork_round.id", ondelete="CASCADE"),
                                          index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    coder_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)

    coder: Mapped[User] = relationship()
    institution: Mapped[Institution] = relationship()


class FieldworkObservation(Versioned, Base):
    """One coder's answer to one item for one institution (occasion: which request/proposal)."""

    __tablename__ = "fieldwork_observation"
    __dataset__ = OWNER
    __owners__ = (("round_id", "FieldworkRound"),)
    __table_args__ = (
        UniqueConstraint("round_id", "institution_id", "item", "occasion", "coder_id"),
        CheckConstraint("occasion >= 1", name="occasion_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("fieldwork_round.id", ondelete="CASCADE"),
                                          index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    item: Mapped[str] = mapped_column(String(120))
    occasion: Mapped[int] = mapped_column(default=1, server_default="1")
    coder_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    answer: Mapped[str | None] = mapped_column(String(40))
    sent_on: Mapped[date | None] = mapped_column(Date)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    # The request's folio on the national transparency platform.
    folio: Mapped[str | None] = mapped_column(String(40))
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    evidence_file: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)

    coder: Mapped[User] = relationship()
    institution: Mapped[Institution] = relationship()


class FieldworkReconciliation(Versioned, Base):
    """A reviewer's answer for an item two coders disagree on, with the reason."""

    __tablename__ = "fieldwork_reconciliation"
    __dataset__ = OWNER
    __owners__ = (("round_id", "FieldworkRound"),)
    __table_args__ = (
        UniqueConstraint("round_id", "institution_id", "item", "occasion"),
        CheckConstraint("occasion >= 1", name="occasion_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("fieldwork_round.id", ondelete="CASCADE"),
                                          index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    item: Mapped[str] = mapped_column(String(120))
    occasion: Mapped[int] = mapped_column(default=1, server_default="1")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    answer: Mapped[str] = mapped_column(String(40))
    sent_on: Mapped[date | None] = mapped_column(Date)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)

    reviewer: Mapped[User] = relationship()
    institution: Mapped[Institution] = relationship()
