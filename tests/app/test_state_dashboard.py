"""/states/<cve>: the metric dashboard (GA against the nation, rank, types, best and worst)."""

from __future__ import annotations

import re

from app.extensions import db
from app.metric.rounds import round_institutions
from app.metric.states import state_institutions
from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_state_institutions_by_type_best_and_worst(metric_app):
    with metric_app.app_context():
        result = state_institutions(db.session, "10", limit=3)
        rows = round_institutions(db.session, 2017)
    durango = [r for r in rows if r.state == "10"]
    assert result.year == 2017 and len(durango) > 6
    assert sum(t.n for t in result.by_type) == len(durango)
    kind = result.by_type[0].kind
    here = [r.GA for r in durango if r.kind == kind and r.GA is not None]
    nation = [r.GA for r in rows if r.kind == kind and r.GA is not None]
    assert abs(result.by_type[0].GA - sum(here) / len(here)) < 1e-9
    assert abs(result.by_type[0].national - sum(nation) / len(nation)) < 1e-9
    known = sorted(r.GA for r in durango if r.GA is not None)
    assert [r.GA for r in result.best] == known[::-1][:3]
    assert [r.GA for r in result.worst] == known[:3]
    assert not {r.id for r in result.best} & {r.id for r in result.worst}
    assert result.best[0].rank < result.worst[0].rank <= result.ranked


def test_state_page_draws_each_chart_with_its_table(metric_app):
    client = metric_app.test_client()
    html = client.get("/states/10").get_data(as_text=True)
    assert "GA de Durango y nacional, calculados" in html  # the rank chart
    assert re.search(r'<svg[^>]*chart-bars', html)  # types against the national mean
    assert "Sus instituciones por tipo, 2017" in html
    assert "GA medio nacional del tipo" in html
    assert "Sus instituciones mejor y peor evaluadas, 2017" in html
    assert html.count('href="/institutions/') >= 10
    english = client.get("/states/10?lang=en").get_data(as_text=True)
    assert "Its institutions by type, 2017" in english
    assert "Its best and worst rated institutions, 2017" in english


def test_state_page_without_institution_data(metric_seeded):
    html = metric_seeded.test_client().get("/states/10").get_data(as_text=True)
    assert "Sus instituciones por tipo" not in html
    assert "chart-bars" not in html
