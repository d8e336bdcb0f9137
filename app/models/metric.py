"""The Open Government Metric: institutions, rounds, scores and published figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.codes import BASES, INDICES, LEVELS

from .base import Base, Versioned, unit_interval
from .geo import State


class Institution(Versioned, Base):
    """A public body measured by the metric, matched across rounds by its stable key."""

    __tablename__ = "institution"
    __dataset__ = "metric"
    __table_args__ = (
        CheckConstraint(LEVELS.sql_in("level"), name="level_known"),
        CheckConstraint(
            "(level = 'federal' AND state_cve IS NULL) OR "
            "(level <> 'federal' AND state_cve IS NOT NULL)",
            name="state_matches_level",
        ),
        CheckConstraint(
            "municipality_code IS NULL OR level = 'municipal'", name="municipality_only_municipal"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    state_cve: Mapped[str | None] = mapped_column(ForeignKey("state.cve_ent"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(3))

    state: Mapped[State | None] = relationship()
    aliases: Mapped[list[InstitutionAlias]] = relationship(
        back_populates="institution", cascade="all, delete-orphan"
    )


class InstitutionAlias(Base):
    """A name variant (as written in some round's file) of one institution."""

    __tablename__ = "institution_alias"
    __dataset__ = "metric"
    __owners__ = (("institution_id", "Institution"),)
    __table_args__ = (UniqueConstraint("alias_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    # Normalised form (scope + folded name) that identifies the variant.
    alias_key: Mapped[str] = mapped_column(String(300))

    institution: Mapped[Institution] = relationship(back_populates="aliases")


class MetricRound(Base):
    """One edition of the metric, with its own weight scheme as data."""

    __tablename__ = "metric_round"
    __dataset__ = "metric"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    # {"TG": {"AI": 0.5, ...}, ...}; empty when the round gives sub-indices directly.
    weight_scheme: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    imported_file: Mapped[str | None] = mapped_column(String(300))
    imported_sha256: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime | None]

    scores: Mapped[list[MetricScore]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )


class MetricScore(Versioned, Base):
    """One institution's scores in one round, as the round's file gave them."""

    __tablename__ = "metric_score"
    __dataset__ = "metric"
    __table_args__ = (
        UniqueConstraint("round_id", "institution_id"),
        *(CheckConstraint(unit_interval(c.lower()), name=f"{c.lower()}_in_unit") for c in INDICES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("metric_round.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    tg: Mapped[float | None]
    tc: Mapped[float | None]
    pg: Mapped[float | None]
    pc: Mapped[float | None]
    t: Mapped[float | None]
    p: Mapped[float | None]
    ga: Mapped[float | None]
    # Component values (AI, TR, TP, DA, ...) when the round's file has them.
    components: Mapped[dict[str, Any] | None]
    source_row: Mapped[int | None]
    source_name: Mapped[str | None] = mapped_column(String(300))

    round: Mapped[MetricRound] = relationship(back_populates="scores")
    institution: Mapped[Institution] = relationship()


class PublishedFigure(Versioned, Base):
    """A figure exactly as an official report printed it, to check computed results against.

    scope is national / state / level / type; scope_key is "" for national, the INEGI cve_ent
    (or "federal" for the Federation) for state, the level or the type name for those, and
    "<cve_ent or federal>:<type>:<name as printed>" for one institution (scope institution).
    index is one of GA, T, P, TG, TC, PG, PC, GAg, GAc, N for a count of institutions, or CMP
    for a figure the publication does not name as one of them (``measure`` gives its words).
    A publication may print a place without a value (``rank_printed``; value NULL).
    """

    __tablename__ = "published_figure"
    __dataset__ = "metric"
    __table_args__ = (
        UniqueConstraint("round_id", "scope", "scope_key", "index_name", "publication"),
        CheckConstraint(BASES.sql_in("basis"), name="basis_known"),
        CheckConstraint(
            "scope IN ('national', 'state', 'level', 'type', 'institution')", name="scope_known"
        ),
        CheckConstraint(
            "index_name = 'N' OR (value >= 0 AND value <= 1)", name="value_in_unit"
        ),
        CheckConstraint("value IS NOT NULL OR rank_printed IS NOT NULL", name="value_or_rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("metric_round.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(String(200), default="")
    index_name: Mapped[str] = mapped_column(String(4))
    value: Mapped[float | None]
    decimals: Mapped[int | None]  # precision as printed, e.g. 2 for "0.39"
    note: Mapped[str | None] = mapped_column(Text)
    # "" for the round's official report; another key when a second publication (the press)
    # prints the same figure, so disagreeing figures are both kept.
    publication: Mapped[str] = mapped_column(String(40), default="", server_default="")
    basis: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    reasoning: Mapped[str | None] = mapped_column(Text)
    # The place as the publication prints it ("15", "último sitio", "1 of 33"), if it does.
    rank_printed: Mapped[str | None] = mapped_column(String(120))
    # What the publication calls a figure of index CMP, as printed.
    measure: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    round: Mapped[MetricRound] = relationship()
