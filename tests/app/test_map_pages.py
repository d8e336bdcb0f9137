"""/map and /map/exercises: values through the metric service, tables, downloads, caching.

Metric scores and local exercises here are SYNTHETIC (inserted by tests/geodata/helpers.py).
"""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.metric.states import state_index_values
from app.models import DataRevision
from common.text import fold_words as fold
from seeds.states import load_states
from tests.app.downloads import csv_rows
from tests.geodata.helpers import insert_exercises, insert_metric

# Synthetic: 2017 and 2019 rounds; Aguascalientes has two institutions in 2019.
SCORES = {
    2017: {"01": [0.2], "09": [0.7]},
    2019: {"01": [0.4, 0.6], "09": [0.9], "14": [0.0], "19": [0.3]},
}


@pytest.fixture
def map_app(app):
    with app.app_context():
        load_states(db.session)
        insert_metric(db.session, SCORES)
        db.session.commit()
    return app


def _rows(html: str) -> list[list[str]]:
    """Return the cells (text only) of the values table."""
    table = html.split('id="values"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def test_map_defaults_to_the_latest_round_and_uses_the_service(map_app):
    html = map_app.test_client().get("/map").get_data(as_text=True)
    with map_app.app_context():
        expected = state_index_values(db.session, 2019, "GA")
    assert expected["01"] == pytest.approx(0.5)  # simple mean of 0.4 and 0.6
    rows = _rows(html)
    assert len(rows) == 32
    assert rows[0][:3] == ["1", "Ciudad de México", "0.90"]
    assert rows[1][:3] == ["2", "Aguascalientes", f"{expected['01']:.2f}"]
    assert rows[3][:3] == ["4", "Jalisco", "0.00"]  # zero is a value, ranked
    assert rows[4][0] == "—" and "sin datos" in rows[4][2]  # no data: unranked, last
    assert '<option value="2019" selected>' in html
    assert html.count('"type": "Feature"') == 32
    assert "map-legend" in html
    assert "4 de 32 estados con datos" in html


def test_round_index_and_classes_come_from_the_url(map_app):
    client = map_app.test_client()
    html = client.get("/map?round=2017&index=T&classes=quantile").get_data(as_text=True)
    rows = _rows(html)
    assert rows[0][:3] == ["1", "Ciudad de México", "0.70"]
    assert rows[1][:3] == ["2", "Aguascalientes", "0.20"]
    assert '<option value="2017" selected>' in html
    assert '<option value="T" selected>' in html
    assert '<option value="quantile" selected>' in html
    assert "href=\"/map?round=2017&amp;index=T&amp;classes=quantile\"" in html  # permalink
    # A round is a query argument: a year without data is a bad value (400), like "abc".
    assert client.get("/map?round=2005").status_code == 400
    assert client.get("/map?round=abc").status_code == 400
    assert client.get("/map?index=XX").status_code == 400
    assert client.get("/map?classes=jenks").status_code == 400
    assert client.get("/map?sort=bogus").status_code == 400


def test_table_sorts_by_name_and_value(map_app):
    client = map_app.test_client()
    by_name = _rows(client.get("/map?sort=name&order=asc").get_data(as_text=True))
    names = [r[1] for r in by_name]
    assert names == sorted(names, key=fold)
    assert names.index("Estado de México") < names.index("Michoacán")  # accents ignored
    by_value = _rows(client.get("/map?sort=value&order=asc").get_data(as_text=True))
    assert [r[1] for r in by_value[:4]] == ["Jalisco", "Nuevo León", "Aguascalientes",
                                            "Ciudad de México"]
    html = client.get("/map?sort=value&order=asc").get_data(as_text=True)
    assert 'aria-sort="ascending"' in html


def test_fixed_classes_compare_rounds_and_quantiles_are_labelled(map_app):
    client = map_app.test_client()
    fixed = client.get("/map").get_data(as_text=True)
    # 0.05-wide classes over every loaded round's values (0.0 in 2019 to 0.9): the same scale
    # for 2017, labelled by the printed values each class holds
    assert "0.00\\u20130.04" in fixed and "0.90\\u20130.95" in fixed
    assert "comparan entre rondas" in fixed
    older = client.get("/map?round=2017").get_data(as_text=True)
    assert "0.00\\u20130.04" in older and "0.90\\u20130.95" in older
    quantile = client.get("/map?classes=quantile").get_data(as_text=True)
    assert "no se comparan entre rondas" in quantile


def test_csv_and_geojson_downloads(map_app):
    client = map_app.test_client()
    response = client.get("/map.csv?round=2019&index=GA")
    assert "metrica-GA-2019-estados.csv" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 32
    assert rows[0] == {"cve_ent": "09", "state": "Ciudad de México", "year": "2019",
                       "index": "GA", "value": "0.9000", "rank": "1"}
    assert rows[-1]["value"] == "" and rows[-1]["rank"] == ""
    geo = json.loads(client.get("/map.geojson?round=2017&index=GA").get_data(as_text=True))
    assert len(geo["features"]) == 32
    props = {f["properties"]["cve_ent"]: f["properties"] for f in geo["features"]}
    assert props["09"]["value"] == pytest.approx(0.7) and props["09"]["rank"] == 1
    assert props["14"]["value"] is None
    assert "Natural Earth" in geo["attribution"]


def test_map_without_rounds_shows_every_state_without_data(app):
    with app.app_context():
        load_states(db.session)
        db.session.commit()
    html = app.test_client().get("/map").get_data(as_text=True)
    assert "Aún no hay rondas de la Métrica" in html
    rows = _rows(html)
    assert len(rows) == 32 and all("sin datos" in r[2] for r in rows)
    assert app.test_client().get("/map.csv").status_code == 200


def test_page_is_rebuilt_when_the_metric_changes(map_app):
    client = map_app.test_client()
    etag = client.get("/map").headers["ETag"]
    assert client.get("/map", headers={"If-None-Match": etag}).status_code == 304
    with map_app.app_context():
        insert_metric(db.session, {2021: {"20": [0.8]}})
        DataRevision.bump(db.session, "metric")
        db.session.commit()
    response = client.get("/map", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert _rows(response.get_data(as_text=True))[0][:3] == ["1", "Oaxaca", "0.80"]


def test_map_pages_reference_only_local_assets_that_exist(map_app):
    client = map_app.test_client()
    for url in ("/map", "/map/exercises"):
        html = client.get(url).get_data(as_text=True)
        assert "https://" not in html
        assert not re.search(r"http://(?!127\.0\.0\.1)", html)
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        assert any("leaflet.js" in a for a in assets) and any("leaflet.css" in a for a in assets)
        for asset in assets:
            with client.get(asset) as response:
                assert response.status_code == 200, asset
    with client.get("/static/vendor/leaflet-1.9.4/LICENSE") as response:
        assert "BSD 2-Clause" in response.get_data(as_text=True)


def test_exercise_map_shows_stages_with_unknown_apart_from_none(app):
    with app.app_context():
        load_states(db.session)
        insert_exercises(db.session, {"01": "plan", "02": "none", "03": None,
                                      "09": "secretariat", "14": "declaration"})
        db.session.commit()
    client = app.test_client()
    html = client.get("/map/exercises").get_data(as_text=True)
    rows = {r[0]: r[1] for r in _rows(html)}
    assert rows["Aguascalientes"] == "Plan publicado"
    assert rows["Baja California"] == "Sin firmar"
    assert rows["Baja California Sur"] == "sin datos"  # NULL stage: unknown
    assert rows["Campeche"] == "sin datos"  # no row at all: unknown
    assert html.count('"type": "Feature"') == 32
    assert "<dd>28</dd>" in html  # 27 states without a row + 1 NULL stage
    names = [r[0] for r in _rows(client.get("/map/exercises?sort=name").get_data(as_text=True))]
    assert names == sorted(names, key=fold)
    response = client.get("/map/exercises.csv")
    data = csv_rows(response)
    by_code = {r["cve_ent"]: r for r in data}
    assert by_code["02"]["stage"] == "none" and by_code["03"]["stage"] == ""
    assert by_code["01"]["stage_label"] == "Plan publicado"
    geo = json.loads(client.get("/map/exercises.geojson").get_data(as_text=True))
    assert {f["properties"]["cve_ent"]: f["properties"]["stage"] for f in geo["features"]}[
        "09"] == "secretariat"


def test_exercise_map_is_rebuilt_when_local_data_change(app):
    with app.app_context():
        load_states(db.session)
        db.session.commit()
    client = app.test_client()
    assert _rows(client.get("/map/exercises").get_data(as_text=True))[0][1] == "sin datos"
    with app.app_context():
        insert_exercises(db.session, {"01": "plan"})
        DataRevision.bump(db.session, "local")
        db.session.commit()
    rows = _rows(client.get("/map/exercises").get_data(as_text=True))
    assert rows[0][:2] == ["Aguascalientes", "Plan publicado"]


def test_state_names_from_data_are_escaped(map_app):
    from app.models import State

    with map_app.app_context():
        db.session.get(State, "19").short_name = "<script>alert(1)</script>"
        DataRevision.bump(db.session, "metric")
        db.session.commit()
    html = map_app.test_client().get("/map").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # in the table
