"""Views of the states: the list and each state's page (tracker and metric together)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.metric import figures
from app.models import State
from app.params import get_or_404

from . import bp
from .page import state_page


@bp.get("/states/")
def index() -> str:
    states = db.session.scalars(select(State).order_by(State.cve_ent)).all()
    return render_template("states/index.html", states=states)


@bp.get("/states/<cve:cve_ent>")
def detail(cve_ent: str) -> str:
    page = state_page(db.session, get_or_404(db.session, State, cve_ent))
    metric = page.metric
    return render_template(
        "states/detail.html",
        state=page.state,
        tracker=page.tracker,
        metric_results=metric.results,
        state_published=metric.published,
        state_institutions=metric.institutions,
        best_institutions=metric.best_institutions,
        state_charts=figures.state_charts(metric, state=page.state.short_name),
    )
