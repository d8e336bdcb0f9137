"""The declarative base shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import JSON, MetaData, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Named constraints so migrations can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of all models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}

    if TYPE_CHECKING:
        # Every model here is declared on a Table (SQLAlchemy types it as any FromClause).
        __table__: ClassVar[Table]
        __tablename__: str


# For the type checker the mixin is a Base (it is only ever mixed into models, and reads
# their ``__table__``); at run time it stays a plain mixin.
if TYPE_CHECKING:
    _Model = Base
else:
    _Model = object


class Versioned(_Model):
    """Mixin of the editable tables: a version for optimistic locking and a soft delete.

    ``app.records`` checks and increments ``version`` on every change; the mapper also puts
    the version it read into the WHERE clause of each UPDATE and DELETE, so a row changed by
    another transaction in the meantime raises StaleDataError instead of being overwritten.
    Rows with ``deleted_at`` set are deleted for every list and page (``records.live``).
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # The application sets the value (records.py); the mapper only checks it.
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}


def utcnow() -> datetime:
    """Return the current time in UTC, as stored in every timestamp column."""
    return datetime.now(UTC).replace(tzinfo=None)


def unit_interval(column: str) -> str:
    """SQL check that a nullable score lies in [0, 1]."""
    return f"{column} IS NULL OR ({column} >= 0 AND {column} <= 1)"


# Partial dates as sources give them: "2016", "2016-08" or "2016-08-31".
PARTIAL_DATE_CHECK = "{col} IS NULL OR length({col}) IN (4, 7, 10)"
