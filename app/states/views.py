"""Views of the states."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.models import State

from . import bp


@bp.get("/states/")
def index() -> str:
    states = db.session.scalars(select(State).order_by(State.cve_ent)).all()
    return render_template("states/index.html", states=states)


@bp.get("/states/<cve_ent>")
def detail(cve_ent: str) -> str:
    state = db.get_or_abort(State, cve_ent)
    return render_template("states/detail.html", state=state)
