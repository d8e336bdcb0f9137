"""The round page in a real browser: sorting by a header link, no request leaves the machine.

Playwright's sync API runs an event loop in its thread, where the app's database teardown
(asgiref) refuses to run; so the whole browser scenario runs in one worker thread of its own
while the data is loaded and the app served from the main and server threads.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.app import metric_fixtures
from tests.conftest import CHROMIUM

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app

pytestmark = pytest.mark.browser


def _scenario(base: str, screenshots: Path) -> list[str]:
    """Drive the round page; return the requests that tried to leave loopback."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="es-MX")

        def guard(route) -> None:  # type: ignore[no-untyped-def]
            if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.goto(f"{base}/metric/2017")
        assert page.locator("h1").inner_text() == "Métrica de Gobierno Abierto 2017"
        rows = page.locator("#state-table tbody tr")
        assert rows.first.locator("th").inner_text() == "Ciudad de México"  # highest GA first
        page.locator("#state-table thead a", has_text="GA").first.click()
        page.wait_for_url("**order=asc**")
        assert rows.first.locator("th").inner_text() == "Querétaro"
        assert page.locator('#state-table th[aria-sort="ascending"]').count() == 1
        page.screenshot(path=str(screenshots / "metric-2017.png"), full_page=True)
        page.get_by_role("link", name="Todas las instituciones").first.click()
        page.wait_for_url("**/institutions")
        assert "908 instituciones" in page.content()
        browser.close()
    return blocked


def test_round_page_sorts_states_and_stays_offline(metric_app, live_server, screenshot_dir):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing; run `make test` to install Debian's chromium")
    with ThreadPoolExecutor(max_workers=1) as pool:
        blocked = pool.submit(_scenario, live_server, screenshot_dir).result()
    assert blocked == []
