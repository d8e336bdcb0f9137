"""/metric/compare: published figures with one institution round; charts with two."""

from __future__ import annotations

import random
from pathlib import Path

from app.extensions import db
from app.metric.rounds import round_institutions
from tests.app import metric_fixtures
from tests.app.downloads import csv_rows
from tests.app.pages import page_text

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def write_synthetic_round(app, path: Path, year: int = 2019) -> Path:
    """A SYNTHETIC round (test data, not real results): 2017's institutions, values moved.

    Every tenth institution is left out and two new ones enter; the rest keep their key
    and get TG/TC/PG/PC of 2017 moved by up to ±0.1 (seeded random numbers).
    """
    rng = random.Random(11)
    with app.app_context():
        rows = round_institutions(db.session, 2017)
    lines = ["institution,level,state,type,key,TG,TC,PG,PC"]
    for i, r in enumerate(rows):
        if i % 10 == 0 or r.TG is None:
            continue
        values = [min(1, max(0, (v or 0) + rng.uniform(-0.1, 0.1)))
                  for v in (r.TG, r.TC, r.PG, r.PC)]
        name = '"' + r.name.replace('"', '""') + '"'
        lines.append(f"{name},{r.level},{r.state},{r.kind},{r.key},"
                     + ",".join(f"{v:.4f}" for v in values))
    lines += ["Instituto sintético uno,state,10,autonomous,,0.5,0.5,0.5,0.5",
              "Instituto sintético dos,state,30,autonomous,,0.2,0.2,0.2,0.2"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_institution_round_compares_published_figures(metric_app):
    client = metric_app.test_client()
    html = page_text(client, "/metric/compare")
    assert "<svg" in html and 'role="img"' in html
    assert "Cifras publicadas, 2017 → 2023" in html
    assert "Sin archivo por institución para 2023" in html
    assert "Necesitan los archivos por institución" in html
    assert "+0.07" in html  # GA 0.39 -> 0.46
    html = page_text(client, "/metric/compare?from=2019&to=2021")
    assert "2019: Press figure only" in html  # the caveat of the 2019 split
    rows = csv_rows(client.get("/metric/compare?from=2017&to=2023&download=published"))
    assert {r["index"]: r["delta"] for r in rows}["GA"] == "0.07"
    english = page_text(client, "/metric/compare?lang=en")
    assert "Published figures, 2017 → 2023" in english
    assert client.get("/metric/compare?from=1999").status_code == 400


def test_two_rounds_give_counts_charts_maps_and_downloads(metric_app, tmp_path):
    metric_fixtures.import_file(metric_app, write_synthetic_round(metric_app, tmp_path / "s.csv"),
                                2019)
    client = metric_app.test_client()
    html = page_text(client, "/metric/compare?from=2017&to=2019")
    assert "Instituciones en ambas rondas" in html
    assert html.count('class="chart chart-map"') == 2
    for kind in ("bars", "slope", "scatter"):
        assert f"chart-{kind}" in html
    assert html.count('aria-label="Durango: ') == 2  # one named state link per map
    assert ".0<" not in html.split("Cambio de lugar", 1)[1].split("</table>", 1)[0]
    states = csv_rows(client.get("/metric/compare?from=2017&to=2019&download=states"))
    assert len(states) == 32 and all("." not in (r["GA_rank_change"] or "") for r in states)
    rises = csv_rows(client.get("/metric/compare?from=2017&to=2019&download=rises"))
    assert len(rises) == 10 and all(r["state_name"] for r in rises)  # federal too
    filtered = client.get("/metric/compare?from=2017&to=2019&state=10&level=state")
    text = filtered.get_data(as_text=True)
    assert filtered.status_code == 200 and '<option value="10" selected>' in text
    matched = csv_rows(client.get(
        "/metric/compare?from=2017&to=2019&state=10&level=state&download=matched"))
    assert matched and all(r["state_after"] == "10" for r in matched)
    assert all(r["level_after"] == "state" for r in matched)


def test_metric_index_draws_the_published_series_with_caveats(metric_app):
    client = metric_app.test_client()
    html = page_text(client, "/metric/")
    assert html.count('class="chart chart-line"') == 2  # GA/T/P and the sub-indices
    assert "0.72*" in html  # 2019 TG/TC/PG/PC are press figures: marked
    assert "Press figure only" in html
    assert "0.3887" in html  # computed beside the published 0.39
    rows = csv_rows(client.get("/metric/series.csv"))
    ga = {r["year"]: r for r in rows if r["index"] == "GA"}
    assert ga["2023"]["published"] == "0.46" and ga["2023"]["computed"] == ""
    assert ga["2017"]["computed"].startswith("0.388")
