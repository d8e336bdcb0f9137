"""In the browser: a state page and a commitment page, with screenshots in test-output/.

Playwright runs in a worker thread here, not through the session-wide ``browser``/``page``
fixtures: their event loop in the main thread makes Flask's async teardown (registered by
Flask-SQLAlchemy-Lite) fail in every later app context of the same thread. The guard is the
same as the ``page`` fixture's: any request leaving loopback is refused and recorded.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Commitment
from tests.conftest import CHROMIUM

pytestmark = pytest.mark.browser


def _in_browser(steps, *args):  # noqa: ANN001, ANN202
    """Run ``steps(page, *args)`` on a fresh headless Chromium page in a worker thread."""

    def run():  # noqa: ANN202
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update"],
            )
            context = browser.new_context(locale="es-MX")
            blocked: list[str] = []

            def guard(route) -> None:  # noqa: ANN001
                url = route.request.url
                if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
                    route.continue_()
                else:
                    blocked.append(url)
                    route.abort()

            context.route("**/*", guard)
            try:
                steps(context.new_page(), *args)
            finally:
                context.close()
                browser.close()
            return blocked

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _steps(page, live_server: str, cid: int, morelos: int, out: Path) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/states/17")
    assert page.locator("h1").inner_text() == "Morelos"
    assert page.get_by_role("heading", name="Ejercicio local de cocreación").is_visible()
    assert page.get_by_text("Plan publicado").first.is_visible()
    members = page.get_by_role("table", name="Integrantes del Secretariado Técnico Local")
    assert "COPARMEX Morelos" in members.inner_text()
    assert page.locator(f'a[href="/commitments/{morelos}"]').count() == 1
    page.screenshot(path=str(out / "plans-state-morelos.png"), full_page=True)

    page.locator(f'a[href="/commitments/{morelos}"]').click()
    page.wait_for_url(f"**/commitments/{morelos}")
    assert "proactivo" in page.locator("dl.facts").inner_text()

    page.goto(f"{live_server}/commitments/{cid}")
    assert "Transparency of Forestry, Water, and Fishing Management" in page.locator(
        "h1").inner_text()
    evaluations = page.locator("table", has_text="Nivel de cumplimiento")
    assert "Completo" in evaluations.first.inner_text()
    assert page.get_by_role("heading", name="Historial de cambios").is_visible()
    assert page.get_by_text("su avance es desconocido (no cero)").is_visible()
    page.screenshot(path=str(out / "plans-commitment-mx0084.png"), full_page=True)

    page.goto(f"{live_server}/commitments?q=agua&sort=title")
    rows = page.locator("table.data tbody tr")
    assert rows.count() >= 3
    page.screenshot(path=str(out / "plans-commitments-search.png"), full_page=True)

    page.goto(f"{live_server}/exercises")
    page.screenshot(path=str(out / "plans-exercises.png"), full_page=True)


def test_state_page_and_commitment_page(seeded_app, live_server, screenshot_dir):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing; run `make test` to install Debian's chromium")
    with seeded_app.app_context():
        cid = db.session.scalars(
            select(Commitment.id).where(Commitment.ogp_id == "MX0084")
        ).one()
        morelos = db.session.scalars(
            select(Commitment.id).where(Commitment.label == "P2")
        ).one()
    blocked = _in_browser(_steps, live_server, cid, morelos, screenshot_dir)
    assert blocked == []
