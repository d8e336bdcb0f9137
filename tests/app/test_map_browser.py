"""The maps in headless Chromium with no network: shapes, legend, controls, click-through.

The scores and exercises are SYNTHETIC (spread over [0, 1] so every class shows up).

"""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from seeds.states import load_states
from tests.geodata.helpers import CODES, insert_exercises, insert_metric

pytestmark = pytest.mark.browser


# Synthetic: 28 states with a value in 2019 (four without), 10 states in 2017.
SCORES = {
    2017: {code: [round(0.3 + 0.02 * i, 2)] for i, code in enumerate(CODES[:10])},
    2019: {code: [round((i * 37 % 100) / 100, 2)] for i, code in enumerate(CODES[:28])},
}
STAGES = ("none", "declaration", "secretariat", "plan", None)

# Find the Leaflet layer of one state and return where it is drawn on the page.
STATE_POINT = """(code) => {
  const name = Object.keys(window).find((k) => window[k] instanceof L.GeoJSON);
  const mapName = Object.keys(window).find((k) => window[k] instanceof L.Map);
  let point = null;
  window[name].eachLayer((layer) => {
    if (layer.feature.id === code) {
      const p = window[mapName].latLngToContainerPoint(layer.getCenter());
      const box = window[mapName].getContainer().getBoundingClientRect();
      point = [box.left + p.x, box.top + p.y];
    }
  });
  return point;
}"""


@pytest.fixture
def map_server(app, live_server):
    with app.app_context():
        load_states(db.session)
        insert_metric(db.session, SCORES)
        insert_exercises(db.session, {c: STAGES[i % 5] for i, c in enumerate(CODES[:30])})
        db.session.commit()
    return live_server


def test_state_map_in_the_browser(map_server, page, screenshot_dir):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{map_server}/map")
    page.wait_for_selector("path.map-shape")
    assert page.locator("path.map-shape").count() == 32
    legend = page.locator(".map-legend")
    assert legend.is_visible()
    assert "sin datos" in legend.inner_text() and "0.95–1.00" in legend.inner_text()
    assert page.locator("#values tbody tr").count() == 32
    page.screenshot(path=str(screenshot_dir / "map-2019-GA.png"), full_page=True)

    # Hovering a state shows its name, value and rank.
    x, y = page.evaluate(STATE_POINT, "08")
    tooltip = page.locator(".foliumtooltip")
    for _attempt in range(3):  # a loaded machine may drop the first pointer events
        page.mouse.move(x - 8, y - 8)
        page.mouse.move(x, y, steps=5)
        if tooltip.is_visible():
            break
        try:
            tooltip.wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 (Playwright's TimeoutError): move again
            continue
    tooltip.wait_for()
    assert "Chihuahua" in tooltip.inner_text() and "Lugar" in tooltip.inner_text()

    # Choosing an option changes nothing by itself (WCAG 3.2.2); "Ver" applies the choice,
    # which lands in the URL.
    page.select_option("select[name=index]", "T")
    page.wait_for_timeout(300)
    assert "index=T" not in page.url
    with page.expect_navigation():
        page.click("form.map-controls button[type=submit]")
    assert "index=T" in page.url
    assert page.locator("select[name=index]").input_value() == "T"
    page.select_option("select[name=round]", "2017")
    with page.expect_navigation():
        page.click("form.map-controls button[type=submit]")
    assert re.search(r"round=2017", page.url) and "index=T" in page.url
    page.wait_for_selector("path.map-shape")
    assert page.locator("path.map-shape").count() == 32
    first = page.locator("#values tbody tr").first.inner_text()
    assert first.split("\t")[:2] == ["1", "Durango"]  # 10: 0.30 + 0.02 * 9, 2017's highest

    # Clicking a state opens its page.
    x, y = page.evaluate(STATE_POINT, "08")
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert page.url.endswith("/states/08")
    assert "Chihuahua" in page.locator("h1").inner_text()
    assert page.blocked_requests == []


def test_exercise_map_in_the_browser(map_server, page, screenshot_dir):
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{map_server}/map/exercises")
    page.wait_for_selector("path.map-shape")
    assert page.locator("path.map-shape").count() == 32
    legend = page.locator(".map-legend").inner_text()
    assert "Plan publicado" in legend and "sin datos" in legend
    page.screenshot(path=str(screenshot_dir / "map-exercises.png"), full_page=True)
    assert page.blocked_requests == []


def test_tab_to_a_state_on_the_map_and_open_it_with_enter(map_server, page):
    page.goto(f"{map_server}/map?lang=en")
    page.wait_for_selector("path.map-shape")
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom in"
    page.goto(f"{map_server}/map?lang=es")
    page.wait_for_selector("path.map-shape")
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Acercar"
    shapes = page.locator("path.map-shape[tabindex='0']")
    assert shapes.count() == 32
    page.locator("select[name=classes]").focus()
    for _ in range(80):  # Tab forward until a state shape has the focus
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label')")
        if label and label.startswith("Chihuahua"):
            break
    else:
        pytest.fail("Tab never reached Chihuahua on the map")
    assert "GA" in label and "Lugar" in label
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/states/08")
