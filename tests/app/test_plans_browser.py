"""In the browser: a state page and a commitment page, with screenshots in test-output/.

"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, Commitment

pytestmark = pytest.mark.browser


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


def test_state_page_and_commitment_page(seeded_app, live_server, page, screenshot_dir):
    with seeded_app.app_context():
        cid = db.session.scalars(
            select(Commitment.id).where(Commitment.ogp_id == "MX0084")
        ).one()
        morelos = db.session.scalars(
            select(Commitment.id).join(ActionPlan)
            .where(Commitment.label == "P2", ActionPlan.state_cve == "17")
        ).one()
    _steps(page, live_server, cid, morelos, screenshot_dir)
    assert page.blocked_requests == []
