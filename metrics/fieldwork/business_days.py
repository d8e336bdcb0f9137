"""Business days in Mexico: official holidays from the ``holidays`` library, weekends, and the
days a round declares closed (e.g. the guarantor agency's own calendar of non-working days).

Deadlines follow the transparency law's way of counting: a period of N business days runs from
the business day after the request was sent, so an answer on the next business day took 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _official(year: int) -> frozenset[date]:
    """Mexico's official holidays of ``year`` (the library keeps the Monday-moved ones)."""
    return frozenset(holidays.country_holidays("MX", years=year))


@dataclass(frozen=True)
class Calendar:
    """The days that count: Monday to Friday, except Mexico's official holidays and ``closed``.

    ``closed`` holds extra non-working days a round declares (a guarantor's calendar, a
    strike); they are data of the round, never constants here.
    """

    closed: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, closed: Iterable[date] = ()) -> Calendar:
        return cls(frozenset(closed))

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _official(day.year) and day not in self.closed

    def holiday_name(self, day: date) -> str | None:
        """The official holiday on ``day`` (Spanish name), or None."""
        names = holidays.country_holidays("MX", years=day.year, language="es")
        return names.get(day)

    def elapsed(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (0 when end <= start)."""
        if end <= start:
            return 0
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            count += self.is_business_day(day)
            day += timedelta(days=1)
        return count

    def add(self, start: date, days: int) -> date:
        """The date on which ``days`` business days after ``start`` have run (the deadline)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        day = start
        remaining = days
        while remaining:
            day += timedelta(days=1)
            remaining -= self.is_business_day(day)
        return day


@dataclass(frozen=True)
class Deadline:
    """A round's legal deadline: ``days`` business days, plus ``extension`` when extended."""

    days: int
    extension: int

    def __post_init__(self) -> None:
        if self.days < 1 or self.extension < 0:
            raise ValueError("a deadline needs days >= 1 and extension >= 0")

    @property
    def extended(self) -> int:
        return self.days + self.extension

    def due(self, calendar: Calendar, sent: date, extended: bool = False) -> date:
        """The last day an answer to a request sent on ``sent`` is on time."""
        return calendar.add(sent, self.extended if extended else self.days)

    def overdue(self, calendar: Calendar, sent: date, today: date, extended: bool = False) -> bool:
        """Whether a request sent on ``sent`` and still unanswered on ``today`` is late."""
        return today > self.due(calendar, sent, extended)
