"""The map separates the states, its class never contradicts its printed value, the embed."""

from __future__ import annotations

import pytest

from app.extensions import db
from geodata.classify import make_classes, quantile_classes, range_classes
from tests.app import metric_fixtures
from tests.app.pages import page_text
from tests.geodata.helpers import insert_metric

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_range_classes_are_005_wide_and_class_the_printed_value():
    classes = range_classes([0.2742, 0.5106, 0.3996, 0.4049])
    assert classes.edges[0] == 0.25 and classes.edges[-1] == 0.55
    assert len(classes.colours) == 6 and len(set(classes.colours)) == 6
    # 0.3996 and 0.4049 both print as 0.40: same class, the one labelled 0.40-0.44
    assert classes.index(0.3996) == classes.index(0.4049) == 3
    assert classes.labels()[3] == "0.40–0.44" and classes.labels()[-1] == "0.50–0.55"
    # 16 classes over a wide range still get distinct colours (sampled along YlGnBu)
    wide = range_classes([0.1, 0.9])
    assert len(wide.colours) == 17 and len(set(wide.colours)) == 17
    assert make_classes("fixed", [0.3], scale=[0.2, 0.6]).edges[0] == 0.2


def test_quantile_classes_never_split_two_equal_printed_values():
    values = [0.3612, 0.3618, 0.3604, 0.5, 0.7, 0.2, 0.41, 0.44, 0.29, 0.33]
    classes = quantile_classes(values, 5)
    by_printed: dict[str, set[int]] = {}
    for v in values:
        by_printed.setdefault(f"{v:.2f}", set()).add(classes.index(v))
    assert all(len(found) == 1 for found in by_printed.values())


def test_2017_states_fall_in_many_classes(metric_app):
    from app.metric.states import state_index_values

    with metric_app.app_context():
        values = state_index_values(db.session, 2017, "GA")
    classes = make_classes("fixed", list(values.values()), scale=list(values.values()))
    used = {classes.index(v) for v in values.values()}
    assert len(used) >= 5  # the old 0.2-wide classes put 30 of 32 states in two colours
    # a state and its printed value: the class label holds the printed value
    for value in values.values():
        low, high = classes.labels()[classes.index(value)].split("–")
        assert float(low) <= float(f"{value:.2f}") <= float(high)


@pytest.fixture
def map_app(states_app):
    with states_app.app_context():
        insert_metric(db.session, {2017: {"01": [0.2], "09": [0.7]}})
        db.session.commit()
    return states_app


def test_map_shapes_are_named_and_controls_wait_for_the_button(map_app):
    client = map_app.test_client()
    html = page_text(client, "/map")
    assert "Ciudad de M\\u00e9xico: GA 0.70, Lugar 1 de 2" in html
    assert 'zoomInTitle: "Acercar"' in html
    english = page_text(client, "/map?lang=en")
    assert 'zoomInTitle: "Zoom in"' in english and "Rank 1 of 2" in english
    with client.get("/static/js/maps.js") as response:
        script = response.get_data(as_text=True)
    assert "submit" not in script and "change" not in script.split("\n", 2)[-1]
    assert "/embed/map" in html


def test_embed_map_has_no_chrome_credits_and_may_be_framed(map_app):
    client = map_app.test_client()
    response = client.get("/embed/map?round=2017&index=GA")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="site-header"' not in html and "<nav" not in html
    assert "Natural Earth" in html and "Métrica de Gobierno Abierto" in html
    assert 'href="/map?round=2017&amp;index=GA"' in html and 'target="_top"' in html
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "frame-ancestors 'none'" not in policy
    assert client.get("/embed/map?round=1999").status_code in (400, 404)
