"""Server-drawn SVG charts: well-formed, named, values printed, colour never alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app import charts
from geodata.layers import bundled_state_layer

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(NS + "text")]


def _named(root: ET.Element, title: str, desc: str | None = None) -> None:
    ids = root.get("aria-labelledby").split()
    found = {el.get("id"): el.text for el in root if el.get("id")}
    assert found[ids[0]] == title
    if desc is not None:
        assert found[ids[1]] == desc


def test_line_chart_labels_values_breaks_gaps_and_marks_caveats():
    svg = charts.line_chart(
        [charts.Series("GA", {2017: 0.39, 2019: 0.52, 2021: None, 2023: 0.48},
                       marked=frozenset({2019})),
         charts.Series("T <&>", {2017: 0.5, 2019: 0.6})],
        title="Series", desc="GA and T by round", mark_note="press figure",
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    _named(root, "Series", "GA and T by round")
    texts = _texts(root)
    assert {"0.39", "0.52*", "0.48", "0.50", "0.60"} <= set(texts)
    assert "T <&>" in texts  # escaped in the markup, parsed back intact
    assert "* press figure" in texts
    ga = [g for g in root.iter(NS + "g") if g.get("data-series") == "GA"][0]
    # 2021 is missing: two separate pieces, one of them a single point (no polyline)
    assert len(ga.findall(NS + "polyline")) == 1
    hollow = [c for c in ga.findall(NS + "circle") if c.get("fill") == "#fff"]
    assert len(hollow) == 1
    second = [g for g in root.iter(NS + "g") if g.get("data-series") == "T <&>"][0]
    assert second.find(NS + "polyline").get("stroke-dasharray")  # dashes, not only colour


def test_diverging_bars_sign_and_side():
    root = _parse(charts.diverging_bars([("A", 0.1), ("B", -0.05), ("C", None)],
                                        title="Deltas", desc="d"))
    rects = root.findall(NS + "rect")
    assert len(rects) == 2
    mid = float(root.find(NS + "line").get("x1"))
    assert float(rects[0].get("x")) == mid  # rise: right of zero
    assert float(rects[1].get("x")) + float(rects[1].get("width")) == mid  # fall: left
    assert {"+0.100", "-0.050", "—"} <= set(_texts(root))


def test_slope_chart_labels_do_not_overlap():
    items = [(f"S{i}", 0.3 + i * 0.001, 0.4) for i in range(32)]
    root = _parse(charts.slope_chart(items, title="t", desc="d", left_label="2017",
                                     right_label="2019"))
    left = sorted(float(t.get("y")) for t in root.iter(NS + "text")
                  if t.get("text-anchor") == "end")
    assert len(left) == 32
    assert all(b - a >= 12.9 for a, b in zip(left, left[1:], strict=False))
    assert "S5 0.30" in _texts(root) and "0.40 S5" in _texts(root)


def test_spread_keeps_order_and_bounds():
    placed = charts._spread([50, 50, 50, 200], 10, 0, 60)
    assert placed[:3] == sorted(placed[:3]) and max(placed) <= 60
    assert all(abs(a - b) >= 10 for i, a in enumerate(placed) for b in placed[i + 1:])


def test_scatter_has_diagonal_and_points_with_names():
    root = _parse(charts.scatter([("Inst A", 0.2, 0.4), ("Inst B", None, 0.3)],
                                 title="t", desc="d", x_label="2017", y_label="2019"))
    assert root.find(f".//{NS}line[@class='diagonal']") is not None
    circles = list(root.iter(NS + "circle"))
    assert len(circles) == 1
    assert circles[0].find(NS + "title").text == "Inst A: 0.20 → 0.40"


def test_timeline_draws_events_on_one_axis():
    root = _parse(charts.timeline(
        [("Durango", {"declaration": "2016-05", "secretariat": "2016-09-12", "plan": "2017"}),
         ("Nadie", {"declaration": None})],
        [("declaration", "Declaratoria"), ("secretariat", "STL"), ("plan", "Plan")],
        title="t", desc="d", links={"Durango": "/states/10"},
    ))
    assert charts.fractional_year("2016-05") < charts.fractional_year("2016-09-12")
    assert charts.fractional_year("n/d") is None
    texts = _texts(root)
    assert {"2016", "2017", "2018", "Durango", "Nadie", "Declaratoria"} <= set(texts)
    assert root.find(f"{NS}a").get("href") == "/states/10"


def test_choropleth_names_every_state_and_links_it():
    layer = bundled_state_layer()
    labels = {c: f"State {c}: 0.41" for c in layer.codes}
    svg = charts.choropleth(layer, {"10": "#225ea8"}, labels, title="GA 2017",
                            links={c: f"/states/{c}" for c in layer.codes}, hatched={"01"})
    root = _parse(svg)
    links = root.findall(NS + "a")
    assert len(links) == 32
    durango = [a for a in links if a.get("data-code") == "10"][0]
    assert durango.get("aria-label") == "State 10: 0.41"
    assert durango.get("href") == "/states/10"
    assert durango.find(NS + "path").get("fill") == "#225ea8"
    aguascalientes = [a for a in links if a.get("data-code") == "01"][0]
    assert aguascalientes.find(NS + "path").get("stroke-dasharray")
    assert len(svg) < 120_000


def test_nice_ticks():
    assert charts.nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(-0.07, 0.12, 4)[0] <= -0.05


def test_state_map_labels_keep_two_decimals_on_a_scale_that_does_not_round(app):
    """fixed_classes() classes values as given (no decimals of its own): the labels still
    print two decimals, as the maps' tables do (they printed the value rounded to 0)."""
    from app.metric.figures import state_map
    from geodata.classify import fixed_classes

    layer = bundled_state_layer()
    with app.test_request_context():
        svg = state_map(layer, {"10": 0.4123}, fixed_classes(), {"10": "Durango"}, title="GA")
    durango = [a for a in _parse(svg).findall(NS + "a") if a.get("data-code") == "10"][0]
    assert durango.get("aria-label") == "Durango: 0.41"
