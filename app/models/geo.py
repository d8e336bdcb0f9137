"""States and boundary layers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, utcnow


class State(Base):
    """One of Mexico's 32 federal entities, keyed by its INEGI code."""

    __tablename__ = "state"
    __dataset__ = "states"
    __state_column__ = "cve_ent"
    __table_args__ = (
        CheckConstraint("length(cve_ent) = 2", name="cve_ent_two_digits"),
    )

    cve_ent: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)  # official INEGI name
    short_name: Mapped[str] = mapped_column(String(40), unique=True)  # as commonly written
    iso_3166_2: Mapped[str] = mapped_column(String(6), unique=True)
    source: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<State {self.cve_ent} {self.name}>"


class BoundaryLayer(Base):
    """An imported boundary layer (GeoJSON in EPSG:4326) that maps draw instead of the bundle."""

    __tablename__ = "boundary_layer"
    __dataset__ = "geodata"
    __not_in_history__ = frozenset({"geojson"})
    __table_args__ = (
        CheckConstraint("level IN ('state', 'municipal')", name="level_known"),
        CheckConstraint("feature_count >= 0", name="feature_count_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    original_crs: Mapped[str] = mapped_column(String(200))
    feature_count: Mapped[int]
    geojson: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRevision(Base):
    """A counter per dataset, bumped on every change so caches know when to rebuild."""

    __tablename__ = "data_revision"

    dataset: Mapped[str] = mapped_column(String(40), primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def bump(cls, session: Session, dataset: str) -> None:
        """Record that ``dataset`` changed; the caller's transaction commits it."""
        row = session.get(cls, dataset)
        if row is None:
            session.add(cls(dataset=dataset, revision=1, changed_at=utcnow()))
        else:
            row.revision += 1
            row.changed_at = utcnow()

    @classmethod
    def current(cls, session: Session, *datasets: str) -> tuple[int, ...]:
        """Return the revisions of ``datasets`` (0 when never changed), for cache keys."""
        rows = dict(
            session.execute(
                select(cls.dataset, cls.revision).where(cls.dataset.in_(datasets))
            ).all()
        )
        return tuple(rows.get(name, 0) for name in datasets)
