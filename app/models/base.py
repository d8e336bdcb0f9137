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


# A model's dataset is its owner's (a milestone's is its commitment's, and so up the chain).
OWNER = "owner"


class ByValue:
    """A dataset chosen by the value of one of the row's columns (a plan's scope)."""

    def __init__(self, column: str, datasets: dict[str, str], default: str):
        self.column, self.datasets, self.default = column, datasets, default

    def __call__(self, obj: Any) -> str:
        return self.datasets.get(getattr(obj, self.column), self.default)

    @property
    def names(self) -> tuple[str, ...]:
        return (*dict.fromkeys((*self.datasets.values(), self.default)),)


class Base(DeclarativeBase):
    """Base of all models.

    Each model declares here what the rest of the application derives from it (app.records:
    the audited write path, soft delete, scoping; app.httpcache: what a page depends on):

    - ``__dataset__``: the DataRevision a change to a row bumps ("local", "metric"...), OWNER
      for its owner's, a ``ByValue`` for one chosen by a column, None for rows that are not
      public data (accounts, the audit trail itself);
    - ``__owners__``: (foreign key column, owner model's name) of the rows it belongs to, the
      first one set wins: soft-deleting an owner soft-deletes what belongs to it, an event is
      filed under its owner's state and commitment, and an editor of the owner's state may
      edit it;
    - ``__state_column__``: the column naming the row's state, for a row that is the top of
      such a chain (a state's exercise, a local plan); metric rows declare none, so an import
      does not flood the states' feeds;
    - ``__not_in_history__``: columns whose values events do not copy (a layer's geometry:
      the row keeps it, its history says only that it changed).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}

    __dataset__: ClassVar[str | ByValue | None] = None
    __owners__: ClassVar[tuple[tuple[str, str], ...]] = ()
    __state_column__: ClassVar[str | None] = None
    __not_in_history__: ClassVar[frozenset[str]] = frozenset()

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
