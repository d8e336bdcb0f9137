"""Progress rules, as pure functions (no Flask, no database).

As the national OGP dashboard did, progress derives from milestones, never typed in:

- a milestone's value is its weight times 0 (not started), its stated ``progress`` or
  ``IN_PROGRESS_DEFAULT`` (in progress), or 1 (complete or verified);
- a commitment's progress is the weighted mean of its milestones' values; when any milestone
  lacks a weight, all its milestones count equally; with no milestones it is unknown (None),
  never 0;
- a plan's progress is the mean of its commitments' known progress; unknown when none is known;
- a commitment is off track when a milestone is past due and neither complete nor verified.

``app.plans.queries`` computes the same rules in SQL for filtering and sorting; a test keeps
both in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

# Share of a milestone counted while in progress when the source gives no figure.
IN_PROGRESS_DEFAULT = 0.5
DONE_STATUSES = frozenset({"complete", "verified"})
PROGRESS_STATES = ("unknown", "not_started", "in_progress", "complete", "verified")


class MilestoneLike(Protocol):
    status: str
    weight: float | None
    progress: float | None
    due_date: date | None


def milestone_value(status: str, progress: float | None = None) -> float:
    """Return the unweighted value of a milestone in [0, 1] from its status."""
    if status == "not_started":
        return 0.0
    if status == "in_progress":
        return IN_PROGRESS_DEFAULT if progress is None else float(progress)
    if status in DONE_STATUSES:
        return 1.0
    raise ValueError(f"unknown milestone status {status!r}")


def is_late(milestone: MilestoneLike, today: date) -> bool:
    """Return whether the milestone is past due and not complete."""
    return (
        milestone.due_date is not None
        and milestone.due_date < today
        and milestone.status not in DONE_STATUSES
    )


@dataclass(frozen=True)
class Progress:
    """A commitment's derived progress."""

    value: float | None  # in [0, 1]; None when unknown (no milestones)
    state: str  # one of PROGRESS_STATES
    milestones: int = 0
    done: int = 0
    verified: int = 0
    late: int = 0

    @property
    def off_track(self) -> bool:
        return self.late > 0

    @property
    def percent(self) -> int | None:
        return None if self.value is None else round(self.value * 100)


def commitment_progress(milestones: Iterable[MilestoneLike], today: date) -> Progress:
    """Derive a commitment's progress from its milestones."""
    items = list(milestones)
    if not items:
        return Progress(None, "unknown")
    values = [milestone_value(m.status, m.progress) for m in items]
    weights = [float(m.weight) for m in items if m.weight is not None]
    if len(weights) == len(items):
        total = sum(weights)
        value = sum(w * v for w, v in zip(weights, values, strict=True)) / total
    else:
        value = sum(values) / len(values)
    done = sum(m.status in DONE_STATUSES for m in items)
    verified = sum(m.status == "verified" for m in items)
    if verified == len(items):
        state = "verified"
    elif done == len(items):
        state = "complete"
    elif all(m.status == "not_started" for m in items):
        state = "not_started"
    else:
        state = "in_progress"
    late = sum(is_late(m, today) for m in items)
    return Progress(value, state, len(items), done, verified, late)


@dataclass(frozen=True)
class PlanProgress:
    """A plan's progress from its commitments."""

    value: float | None
    known: int  # commitments with milestone data
    total: int
    off_track: int

    @property
    def percent(self) -> int | None:
        return None if self.value is None else round(self.value * 100)


def plan_progress(commitments: Iterable[Progress]) -> PlanProgress:
    """Average the known progress of a plan's commitments (unknown ones are left out)."""
    items = list(commitments)
    known = [p.value for p in items if p.value is not None]
    value = sum(known) / len(known) if known else None
    return PlanProgress(value, len(known), len(items), sum(p.off_track for p in items))
