"""Classes, palettes, ranks and the folium map builders (pure: no Flask)."""

from __future__ import annotations

import re

import pytest

from geodata.classify import (
    NO_DATA_COLOUR,
    YLGNBU,
    fixed_classes,
    make_classes,
    quantile_classes,
    ranks,
)
from geodata.layers import bundled_state_layer
from geodata.maps import (
    Category,
    ChoroplethText,
    Tiles,
    category_map,
    choropleth_map,
    map_components,
)

ASSETS = {"leaflet": "/static/vendor/leaflet.js", "leaflet_css": "/static/vendor/leaflet.css"}
TEXT = ChoroplethText(
    title="Índice GA, 2019", value_label="GA", rank_label="Lugar", no_data="sin datos",
    credit="Límites: Natural Earth",
)


def test_fixed_classes_are_equal_intervals_of_0_to_1():
    classes = fixed_classes(5)
    assert classes.edges == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert classes.colours == YLGNBU[5]
    assert [classes.index(v) for v in (0.0, 0.19, 0.2, 0.79, 0.8, 1.0)] == [0, 0, 1, 3, 4, 4]
    assert classes.index(None) is None
    assert classes.colour(None) == NO_DATA_COLOUR
    assert classes.colour(0.0) == YLGNBU[5][0] != NO_DATA_COLOUR  # zero is data, not none
    assert classes.labels()[1] == "0.20–0.40"


def test_quantile_classes_split_values_evenly_and_merge_repeated_edges():
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    classes = quantile_classes(values, 5)
    counts = [sum(1 for v in values if classes.index(v) == i) for i in range(5)]
    assert counts == [2, 2, 2, 2, 2]
    same = quantile_classes([0.5, 0.5, 0.5, 0.7], 5)
    assert len(same.colours) == len(same.edges) - 1 < 5
    assert same.index(0.5) == 0 and same.index(0.7) == len(same.colours) - 1
    assert make_classes("quantile", []).scheme == "fixed"  # nothing to split: fixed scale
    with pytest.raises(ValueError, match="unknown classification"):
        make_classes("jenks", values)


def test_ranks_put_the_highest_first_share_ties_and_skip_missing():
    assert ranks({"01": 0.5, "02": 0.9, "03": 0.5, "04": None, "05": 0.1}) == {
        "02": 1, "01": 2, "03": 2, "05": 4,
    }
    assert ranks({}) == {}


def _choropleth(**kwargs):
    values = {"01": 0.15, "09": 0.95, "14": 0.0}
    return choropleth_map(
        bundled_state_layer(), values, fixed_classes(), text=TEXT,
        names={"14": "<img src=x onerror=alert(1)>"},
        links={"01": "/states/01"}, assets=ASSETS, **kwargs,
    )


def test_choropleth_uses_local_assets_only_and_no_folium_page_styles():
    parts = map_components(_choropleth())
    urls = re.findall(r'(?:src|href)="([^"]+)"', parts.head)
    assert urls == [ASSETS["leaflet"], ASSETS["leaflet_css"]]
    everything = parts.head + parts.html + parts.script
    assert "http://" not in everything and "https://" not in everything
    for cdn in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "glyphicons"):
        assert cdn not in everything.lower()
    assert "html, body" not in parts.head  # folium's full-page styles stay out of our pages
    assert "L.tileLayer" not in parts.script  # no tiles unless configured
    assert parts.html.startswith('<div class="folium-map"')


def test_choropleth_tooltips_escape_names_and_give_value_and_rank():
    script = map_components(_choropleth()).script
    assert "<img" not in script and "\\u003cimg" not in script  # escaped before JSON
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in script
    # Ciudad de México: 0.95 is first of the three states with data.
    assert "Ciudad de M\\u00e9xico\\u003c/strong\\u003e\\u003cbr\\u003eGA: 0.95" in script
    assert "Lugar: 1 de 3" in script
    assert "GA: sin datos" in script  # states without a value say so
    assert '"url": "/states/01"' in script
    assert "window.location.assign(feature.properties.url)" in script


def test_choropleth_styles_no_data_apart_from_zero():
    script = map_components(_choropleth()).script
    no_data_style = re.search(r"case \"02\":.*?return (\{.*?\});", script, re.S)
    assert no_data_style and NO_DATA_COLOUR in no_data_style.group(1)
    assert "dashArray" in no_data_style.group(1)
    zero_style = re.search(r"case \"14\":.*?return (\{.*?\});", script, re.S)
    assert zero_style and YLGNBU[5][0] in zero_style.group(1)
    assert "dashArray" not in zero_style.group(1)
    # The legend lists every class and "no data".
    assert "0.80\\u20131.00" in script and "sin datos" in script and "map-legend" in script


def test_configured_tiles_are_added_with_escaped_attribution():
    tiles = Tiles("http://127.0.0.1:9/{z}/{x}/{y}.png", "<b>Mis teselas</b>")
    script = map_components(_choropleth(tiles=tiles)).script
    assert "L.tileLayer" in script and "http://127.0.0.1:9/{z}/{x}/{y}.png" in script
    assert "\\u0026lt;b\\u0026gt;Mis teselas\\u0026lt;/b\\u0026gt;" in script  # &lt;b&gt;


def test_builder_refuses_to_run_without_local_leaflet():
    with pytest.raises(ValueError, match="leaflet"):
        choropleth_map(bundled_state_layer(), {}, fixed_classes(), text=TEXT,
                       assets={"leaflet": "/static/l.js"})


def test_category_map_colours_by_category_and_marks_unknown():
    categories = [Category("none", "Sin firmar", "#ffffcc"),
                  Category("plan", "Plan publicado", "#225ea8")]
    m = category_map(
        bundled_state_layer(), {"01": "plan", "02": "none", "03": None}, categories,
        title="Etapa", value_label="Etapa", no_data="sin datos", credit="NE", assets=ASSETS,
    )
    script = map_components(m).script
    assert re.search(r'case "01":.*?return \{[^}]*#225ea8', script, re.S)
    assert re.search(r'case "02":.*?return \{[^}]*#ffffcc', script, re.S)
    assert "Etapa: sin datos" in script and "Etapa: Plan publicado" in script
    assert script.count('"type": "Feature"') == 32


def test_shapes_are_named_focusable_and_open_with_enter_and_zoom_is_translated():
    text = ChoroplethText(title="GA", value_label="GA", rank_label="Lugar",
                          no_data="sin datos", credit="c", zoom=("Acercar", "Alejar"))
    script = map_components(choropleth_map(
        bundled_state_layer(), {"09": 0.95, "01": 0.1}, fixed_classes(), text=text,
        assets=ASSETS, links={"09": "/states/09"},
    )).script
    assert "Ciudad de M\\u00e9xico: GA 0.95, Lugar 1 de 2" in script  # the shape's name
    assert '"tabindex", "0"' in script and 'event.key === "Enter"' in script
    assert 'zoomInTitle: "Acercar"' in script and "Zoom in" not in script
    assert 'zoomOutTitle: "Alejar"' in script
