"""Views of the states: the list and each state's page (tracker and metric together)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.metric import figures
from app.metric.service import (
    best_institutions,
    published_rows,
    state_institutions,
    state_results,
    state_trend,
)
from app.models import State
from app.params import get_or_404
from app.plans.service import state_tracker

from . import bp


@bp.get("/states/")
def index() -> str:
    states = db.session.scalars(select(State).order_by(State.cve_ent)).all()
    return render_template("states/index.html", states=states)


@bp.get("/states/<cve:cve_ent>")
def detail(cve_ent: str) -> str:
    state = get_or_404(db.session, State, cve_ent)
    trend = state_trend(db.session, state.cve_ent)
    institutions = state_institutions(db.session, state.cve_ent)
    return render_template(
        "states/detail.html",
        state=state,
        tracker=state_tracker(db.session, state.cve_ent),
        metric_results=state_results(db.session, state.cve_ent),
        state_published=published_rows(db.session, "state", scope_key=state.cve_ent),
        state_institutions=institutions,
        best_institutions=best_institutions(db.session, cve_ent=state.cve_ent),
        state_charts={
            "rank": figures.rank_chart(trend, state=state.short_name),
            "published": figures.trend_chart(trend, ("GA", "T", "P"), scope=state.short_name),
            "types": institutions.year and figures.type_bars(
                institutions.by_type, state=state.short_name, year=institutions.year),
        },
    )
