"""The state page: exercise, secretariat members by sector, plans, commitments with progress,
the metric results when the metric area provides them, and the change feed."""

from __future__ import annotations

import importlib.util

from sqlalchemy import select

from app.extensions import db
from app.models import Commitment, LocalExercise


def test_state_page_shows_the_exercise_members_plans_and_commitments(seeded_app):
    html = seeded_app.test_client().get("/states/10").get_data(as_text=True)
    assert "Durango" in html
    assert "Plan publicado" in html
    assert "2015-03-09" in html and "2015-04-10" in html  # declaration, STL
    assert "Arq. Lorena Cázarez" in html
    # Members grouped by sector.
    assert "Sociedad civil" in html and "Consejo Coordinador Empresarial de Durango" in html
    assert "Organismo garante" in html
    assert "Instituto Duranguense de Acceso a la Información Pública" in html
    # The plan and its commitments with (unknown) progress.
    assert "Compromisos publicados según la fuente: 6" in html
    assert "registrados aquí con título: 6" in html
    with seeded_app.app_context():
        ids = db.session.scalars(
            select(Commitment.id).join(Commitment.plan).where(Commitment.plan.has(state_cve="10"))
        ).all()
    # The first plan's six, the second plan's eight, the third's seven known titles.
    assert len(ids) == 6 + 8 + 7
    assert "Compromisos publicados según la fuente: 9" in html  # the third plan
    for cid in ids:
        assert f'href="/commitments/{cid}"' in html
    assert "sin datos de hitos" in html
    assert 'href="/states/10/feed.atom"' in html
    assert "Cambios recientes" in html and "Creación · Compromiso" in html


def test_unknown_stays_unknown(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/states/14").get_data(as_text=True)  # Jalisco: no declaration date
    assert "desconocido" in html
    with seeded_app.app_context():
        assert db.session.scalars(
            select(LocalExercise.declaration_date).where(LocalExercise.state_cve == "14")
        ).one() is None
    html = client.get("/states/21").get_data(as_text=True)  # Puebla: no members, no plan
    assert "no nombran a los integrantes" in html
    assert "No hay planes de acción local registrados" in html


def test_state_page_without_any_tracker_data(app):
    from app.cli import run_loaders

    with app.app_context():
        run_loaders(["states"])
    html = app.test_client().get("/states/19").get_data(as_text=True)
    assert "No hay datos registrados del ejercicio local de este estado" in html


def test_metric_results_are_included_when_the_metric_area_exists(seeded_app):
    html = seeded_app.test_client().get("/states/19").get_data(as_text=True)
    has_metric = importlib.util.find_spec("app.metric.states") is not None
    assert ('id="metric-results-title"' in html) == has_metric
