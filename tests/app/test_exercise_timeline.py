"""/exercises: the timeline (declaration → secretariat → plan per state) above its table."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import LocalExercise, State


def _dated_states(app) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.execute(
            select(State.cve_ent, State.short_name).join(
                LocalExercise, LocalExercise.state_cve == State.cve_ent
            ).where((LocalExercise.declaration_date.is_not(None))
                    | (LocalExercise.stl_installed_date.is_not(None)))
        ).all()
    return dict(rows)


def test_timeline_above_the_table_names_and_links_the_dated_states(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/exercises").get_data(as_text=True)
    svg = re.search(r'<svg[^>]*chart-timeline.*?</svg>', html, re.S)
    assert svg, "no timeline on /exercises"
    assert html.index("chart-timeline") < html.index("Etapa y fechas de cada estado")
    chart = svg.group(0)
    assert 'role="group"' in chart and "<title" in chart and "<desc" in chart
    for label in ("Declaratoria", "Secretariado instalado", "Plan publicado"):
        assert label in chart  # the legend names every step
    dated = _dated_states(seeded_app)
    assert len(dated) > 5
    for cve, name in dated.items():
        assert f'href="/states/{cve}"' in chart and f">{name}<" in chart
    english = client.get("/exercises?lang=en").get_data(as_text=True)
    assert "Declaration, secretariat and plan of each state" in english


def test_timeline_follows_the_filters(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/exercises?stage=none").get_data(as_text=True)
    assert "chart-timeline" not in html  # no unsigned state has a date
    html = client.get("/exercises?q=durango").get_data(as_text=True)
    chart = re.search(r'<svg[^>]*chart-timeline.*?</svg>', html, re.S).group(0)
    assert chart.count('href="/states/') == 1 and 'href="/states/10"' in chart
