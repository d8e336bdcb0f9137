"""A state's page: its tracker (exercise, plans, changes) and the metric, as one result.

``state_page`` takes a session and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.metric.states import StateMetric, state_metric
from app.models import State
from app.plans.service import StateTracker, state_tracker


@dataclass
class StatePage:
    """/states/<cve>: the state, its local exercise and plans, and its metric results."""

    state: State
    tracker: StateTracker
    metric: StateMetric


def state_page(session: Session, state: State) -> StatePage:
    """Everything the state's page shows. The metric part reads only the state's own
    institutions' scores (``app.metric.states``)."""
    return StatePage(state, state_tracker(session, state.cve_ent),
                     state_metric(session, state.cve_ent))
