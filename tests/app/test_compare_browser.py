"""The comparison and the home map in headless Chromium, in Spanish and English.

2017 is the real round (../shared); the second round is SYNTHETIC (2017's institutions with
seeded random changes, written by tests/app/test_compare_charts.write_synthetic_round).
"""

from __future__ import annotations

import pytest

from tests.app import metric_fixtures
from tests.app.test_compare_charts import write_synthetic_round

pytestmark = pytest.mark.browser
metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_comparison_with_a_synthetic_second_round_in_both_languages(
    metric_app, live_server, page, tmp_path, screenshot_dir
):
    metric_fixtures.import_file(
        metric_app, write_synthetic_round(metric_app, tmp_path / "synthetic.csv"), 2019)
    page.set_viewport_size({"width": 1280, "height": 1000})
    for lang, matched, charts_heading in (("es", "Instituciones en ambas rondas",
                                           "Los estados, en gráficas"),
                                          ("en", "Institutions in both rounds",
                                           "The states, in charts")):
        page.goto(f"{live_server}/metric/compare?from=2017&to=2019&lang={lang}")
        assert matched in page.locator("dl.stats").inner_text()
        assert charts_heading in page.content()
        for kind in ("bars", "slope", "scatter"):
            chart = page.locator(f"svg.chart-{kind}")
            assert chart.count() == 1 and chart.is_visible()
        maps = page.locator("svg.chart-map")
        assert maps.count() == 2
        assert maps.nth(0).locator("a").count() == 32
        assert page.locator("table.data").count() >= 5  # every chart has its table
        page.screenshot(path=str(screenshot_dir / f"compare-synthetic-{lang}.png"),
                        full_page=True)
    assert page.blocked_requests == []


def test_published_comparison_with_2017_alone(metric_app, live_server, page, screenshot_dir):
    page.goto(f"{live_server}/metric/compare?lang=es")
    assert "Cifras publicadas, 2017 → 2023" in page.locator("h2").first.inner_text()
    assert page.locator("svg.chart-bars").count() == 1
    assert page.locator("svg.chart-line").count() == 1
    page.screenshot(path=str(screenshot_dir / "compare-published.png"), full_page=True)
    page.goto(f"{live_server}/metric/compare?lang=en")
    assert "Published figures, 2017 → 2023" in page.locator("h2").first.inner_text()


def test_home_map_state_opens_with_the_keyboard(metric_app, live_server, page):
    page.goto(f"{live_server}/?lang=es")
    link = page.locator("svg.chart-map a[data-code='10']")
    assert link.get_attribute("aria-label").startswith("Durango: ")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/states/10")
