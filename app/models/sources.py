"""The source registry: every document a seeded fact rests on, and what cites it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.codes import SOURCE_KINDS, TITLE_BASES

from .base import PARTIAL_DATE_CHECK, Base, Versioned


class Source(Versioned, Base):
    """A cited document: publisher, title, date (partial), public address where one exists."""

    __tablename__ = "source"
    __dataset__ = "sources"
    __table_args__ = (
        CheckConstraint(SOURCE_KINDS.sql_in("kind"), name="kind_known"),
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="date"), name="date_partial"),
        CheckConstraint(TITLE_BASES.sql_in("title_basis"), name="title_basis_known"),
        CheckConstraint(
            "title_basis = 'printed' OR title_note IS NOT NULL", name="title_note_given"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable short name the seed files cite, e.g. "ogp-mexico-member-page".
    key: Mapped[str] = mapped_column(String(80), unique=True)
    publisher: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    # How the title was written: as the source prints it, described here, or made from the
    # address (then title_note says why the source's own title could not be read).
    title_basis: Mapped[str] = mapped_column(
        String(12), default="printed", server_default="printed"
    )
    title_note: Mapped[str | None] = mapped_column(Text)
    # When ``url`` is a copy on a third-party host (fdocuments, scribd, a mirror...): that host.
    # publisher, title and date are then the original's; original_url is its own address
    # where one is known (``note`` says so when it is not).
    copy_host: Mapped[str | None] = mapped_column(String(120))
    original_url: Mapped[str | None] = mapped_column(Text)

    links: Mapped[list[SourceLink]] = relationship(
        back_populates="source", cascade="all, delete-orphan"
    )


class SourceLink(Base):
    """One record citing one source (``entity`` is the record's table, as in AuditEvent)."""

    __tablename__ = "source_link"
    __dataset__ = "sources"
    __owners__ = (("source_id", "Source"),)
    __table_args__ = (
        UniqueConstraint("source_id", "entity", "entity_id"),
        Index("ix_source_link_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))  # the primary key, as text
    # Where in the source, or what it supports ("tabla 2", "institución responsable").
    detail: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source] = relationship(back_populates="links")
