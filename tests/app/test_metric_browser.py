"""The round page in a real browser: sorting by a header link, no request leaves the machine.

"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app

pytestmark = pytest.mark.browser


def _scenario(page, base: str, screenshots: Path) -> None:  # noqa: ANN001
    """Drive the round page."""
    page.goto(f"{base}/metric/2017")
    assert page.locator("h1").inner_text() == "Métrica de Gobierno Abierto 2017"
    rows = page.locator("#state-table tbody tr")
    assert rows.first.locator("th").inner_text() == "Ciudad de México"  # highest GA first
    page.locator("#state-table thead a", has_text="GA").first.click()
    page.wait_for_url("**sort=GA")  # the current sort is -GA: the header reverses it
    assert rows.first.locator("th").inner_text() == "Querétaro"
    assert page.locator('#state-table th[aria-sort="ascending"]').count() == 1
    page.screenshot(path=str(screenshots / "metric-2017.png"), full_page=True)
    page.get_by_role("link", name="Todas las instituciones").first.click()
    page.wait_for_url("**/institutions")
    assert "908 instituciones" in page.content()


def test_round_page_sorts_states_and_stays_offline(metric_app, live_server, page, screenshot_dir):
    _scenario(page, live_server, screenshot_dir)
    assert page.blocked_requests == []
