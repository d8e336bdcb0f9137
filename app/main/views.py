"""Views of the home page."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.metric.service import round_years
from app.models import ActionPlan, Commitment, LocalExercise, MetricRound, State

from . import bp


def database_summary() -> dict[str, int]:
    """Count what the database holds, for the home page."""
    session = db.session

    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return {
        "states": count(State),
        "exercises": count(LocalExercise),
        "plans": count(ActionPlan),
        "commitments": count(Commitment),
        "rounds": count(MetricRound),
    }


@bp.get("/")
def home() -> str:
    rounds = db.session.scalars(select(MetricRound).order_by(MetricRound.year)).all()
    with_scores = set(round_years(db.session))
    return render_template(
        "main/home.html", summary=database_summary(), rounds=rounds, with_scores=with_scores
    )


# (endpoint, label) of the site's navigation.
NAV = (
    ("main.home", _l("Inicio")),
    ("maps.state_map", _l("Mapa")),
    ("metric.index", _l("Métrica")),
    ("plans.exercises", _l("Ejercicios locales")),
    ("plans.plans", _l("Planes de acción")),
    ("states.index", _l("Estados")),
)


@bp.app_context_processor
def navigation() -> dict[str, object]:
    return {"nav_items": NAV}
