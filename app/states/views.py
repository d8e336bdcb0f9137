"""Views of the states."""

from __future__ import annotations

import importlib
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import State
from app.plans.views import state_tracker_context

from . import bp


@bp.get("/states/")
def index() -> str:
    states = db.session.scalars(select(State).order_by(State.cve_ent)).all()
    return render_template("states/index.html", states=states)


def metric_results(session: Session, cve_ent: str) -> list[Any] | None:
    """Return the state's metric results by round, or None when the metric area is absent."""
    try:
        service = importlib.import_module("app.metric.service")
    except ImportError:
        return None
    state_results = getattr(service, "state_results", None)
    return None if state_results is None else state_results(session, cve_ent)


@bp.get("/states/<cve_ent>")
def detail(cve_ent: str) -> str:
    state = db.get_or_abort(State, cve_ent)
    return render_template(
        "states/detail.html",
        state=state,
        metric_results=metric_results(db.session, state.cve_ent),
        metric_static_endpoints=[e for e in current_app.view_functions if e == "metric.static"],
        **state_tracker_context(db.session, state.cve_ent),
    )
