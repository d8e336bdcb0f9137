"""The maps in headless Chromium with no network: shapes, legend, controls, click-through.

The scores and exercises are SYNTHETIC (spread over [0, 1] so every class shows up).

``page`` is overridden here: conftest's Playwright runs its event loop in the main thread,
where Flask-SQLAlchemy-Lite's async app-context teardown then refuses to run (asgiref), so
the ``app`` fixture cannot be built beside it. This ``page`` is the same page, with the same
guard (non-loopback requests refused and listed in ``page.blocked_requests``), driven from
one worker thread that owns Playwright; every call is forwarded to that thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.extensions import db
from seeds.states import load_states
from tests.conftest import CHROMIUM
from tests.geodata.helpers import CODES, insert_exercises, insert_metric

pytestmark = pytest.mark.browser


class Remote:
    """A Playwright object whose every attribute read and call runs in its owner thread."""

    def __init__(self, target: Any, pool: ThreadPoolExecutor):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_pool", pool)

    def _run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        value = self._pool.submit(function, *args, **kwargs).result()
        plain = isinstance(value, str | bytes | int | float | bool | list | dict | tuple)
        return value if value is None or plain else Remote(value, self._pool)

    def __getattr__(self, name: str) -> Any:
        return self._run(getattr, self._target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._pool.submit(setattr, self._target, name, value).result()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._target, *args, **kwargs)

    def __enter__(self) -> Any:
        return self._run(self._target.__enter__)

    def __exit__(self, *exc: Any) -> Any:
        return self._pool.submit(self._target.__exit__, *exc).result()


@pytest.fixture(scope="module")
def remote_browser() -> Iterator[tuple[Any, ThreadPoolExecutor]]:
    """Debian's headless Chromium, owned by one worker thread."""
    import shutil

    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing; run `make test` to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    pool = ThreadPoolExecutor(max_workers=1)
    playwright = pool.submit(lambda: sync_playwright().start()).result()
    browser = pool.submit(
        playwright.chromium.launch,
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    ).result()
    yield browser, pool
    pool.submit(browser.close).result()
    pool.submit(playwright.stop).result()
    pool.shutdown()


@pytest.fixture
def page(remote_browser) -> Iterator[Any]:
    """A fresh page that refuses (and lists) every request leaving loopback."""
    browser, pool = remote_browser
    blocked: list[str] = []

    def open_page() -> tuple[Any, Any]:
        context = browser.new_context(locale="es-MX")

        def guard(route) -> None:  # type: ignore[no-untyped-def]
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        context.route("**/*", guard)
        return context, context.new_page()

    context, raw_page = pool.submit(open_page).result()
    remote = Remote(raw_page, pool)
    object.__setattr__(remote, "blocked_requests", blocked)
    yield remote
    pool.submit(context.close).result()

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
    assert "sin datos" in legend.inner_text() and "0.80–1.00" in legend.inner_text()
    assert page.locator("#values tbody tr").count() == 32
    page.screenshot(path=str(screenshot_dir / "map-2019-GA.png"), full_page=True)

    # Hovering a state shows its name, value and rank.
    x, y = page.evaluate(STATE_POINT, "08")
    page.mouse.move(x, y)
    tooltip = page.locator(".foliumtooltip")
    tooltip.wait_for()
    assert "Chihuahua" in tooltip.inner_text() and "Lugar" in tooltip.inner_text()

    # Switching the index and the round goes through the controls and lands in the URL.
    with page.expect_navigation():
        page.select_option("select[name=index]", "T")
    assert "index=T" in page.url
    assert page.locator("select[name=index]").input_value() == "T"
    with page.expect_navigation():
        page.select_option("select[name=round]", "2017")
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
