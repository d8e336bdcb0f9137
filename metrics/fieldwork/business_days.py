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
def _holidays(closed: frozenset[date]) -> holidays.HolidayBase:
    """Mexico's official holidays (the library keeps the Monday-moved ones and the change of
    federal government every six years) plus the ``closed`` days, in Spanish."""
    days = holidays.country_holidays("MX", language="es")
    days.update(dict.fromkeys(closed, "Día inhábil declarado por la ronda"))
    return days


@dataclass(frozen=True)
class Calendar:
    """The days that count: Monday to Friday, except Mexico's official holidays and ``closed``.

    ``closed`` holds extra non-working days a round declares (a guarantor's calendar, a
    strike); they are data of the round, never constants here. The counting is the
    ``holidays`` library's (working days of its Mexico calendar).
    """

    closed: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, closed: Iterable[date] = ()) -> Calendar:
        return cls(frozenset(closed))

    def _days(self) -> holidays.HolidayBase:
        return _holidays(self.closed)

    def is_business_day(self, day: date) -> bool:
        return bool(self._days().is_working_day(day))

    def holiday_name(self, day: date) -> str | None:
        """The holiday (or declared closed day) on ``day``, in Spanish, or None."""
        return self._days().get(day)

    def elapsed(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (0 when end <= start)."""
        if end <= start:
            return 0
        return int(self._days().get_working_days_count(start + timedelta(days=1), end))

    def add(self, start: date, days: int) -> date:
        """The date on which ``days`` business days after ``start`` have run (the deadline)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        if days == 0:
            return start
        return self._days().get_nth_working_day(start, days)


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
