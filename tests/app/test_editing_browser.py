"""In the browser: a Durango editor records a milestone with evidence, and is refused on
Veracruz; two concurrent edits end on the conflict page. Screenshots in test-output/."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Milestone
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, VERACRUZ, commitment_of, login

pytestmark = pytest.mark.browser
local_app = editing_fixtures.local_app

EVIDENCE = "https://idaip.example.org/minuta-mesa-1.pdf"


def _sign_in(page, live_server: str, email: str) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live_server}/")
    assert "IDAIP Durango" in page.locator("header").inner_text()


def test_durango_editor_completes_a_milestone_with_evidence(
    local_app, live_server, page, screenshot_dir
):
    with local_app.app_context():
        durango, veracruz = commitment_of(DURANGO), commitment_of(VERACRUZ)
    _sign_in(page, live_server, "durango@example.org")

    page.goto(f"{live_server}/commitments/{durango}")
    assert "desconocido" in page.locator("dl.facts").inner_text()
    page.get_by_role("link", name="Agregar un hito").click()
    page.get_by_label("Hito", exact=True).fill("Primera mesa de trabajo con sociedad civil")
    page.get_by_label("Estado de avance", exact=True).select_option("not_started")
    page.get_by_label("Fuente del cambio (URL)").fill("https://idaip.example.org/plan.pdf")
    page.screenshot(path=str(screenshot_dir / "edit-new-milestone.png"), full_page=True)
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(f"**/commitments/{durango}")
    assert page.locator("progress").first.get_attribute("value") == "0"

    page.get_by_role("link", name="editar", exact=True).first.click()
    page.get_by_label("Estado de avance", exact=True).select_option("complete")
    page.get_by_label("Terminado el").fill("2024-05-20")
    page.get_by_label("Evidencia: dirección (URL)").fill(EVIDENCE)
    page.get_by_label("Evidencia: título").fill("Minuta de la primera mesa")
    page.get_by_label("Evidencia: qué demuestra").fill("Que la mesa se celebró")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(f"**/commitments/{durango}")
    assert page.locator("dl.facts progress").get_attribute("value") == "100"
    milestones = page.get_by_role("table", name="Hitos con su peso")
    assert "Minuta de la primera mesa" in milestones.inner_text()
    history = page.locator("ol.history").inner_text()
    assert "por IDAIP Durango" in history and "Estado de avance" in history
    assert "No iniciado → Completo" in history
    assert "durango@example.org" not in history
    page.screenshot(path=str(screenshot_dir / "edit-commitment-after.png"), full_page=True)

    page.goto(f"{live_server}/states/{DURANGO}")
    row = page.locator(f'tr:has(a[href="/commitments/{durango}"])')
    assert row.locator("progress").get_attribute("value") == "100"
    assert "Hito" in page.locator("section", has_text="Cambios recientes").inner_text()

    # Veracruz: no edit link, and the form itself is refused.
    page.goto(f"{live_server}/commitments/{veracruz}")
    assert page.get_by_role("link", name="Agregar un hito").count() == 0
    response = page.goto(f"{live_server}/edit/milestone/new/{veracruz}")
    assert response.status == 403
    assert "Acceso denegado" in page.locator("h1").inner_text()
    assert page.blocked_requests == []


def test_two_concurrent_edits_show_the_conflict_page(local_app, live_server, page, screenshot_dir):
    with local_app.app_context():
        durango = commitment_of(DURANGO)
    other = local_app.test_client()
    assert login(other, "admin@example.org").status_code == 302
    other.post(f"/edit/milestone/new/{durango}", data={
        "title": "Portal publicado", "status": "not_started",
        "source_url": "https://idaip.example.org/plan.pdf",
    })
    with local_app.app_context():
        mid = db.session.query(Milestone.id).filter_by(commitment_id=durango).scalar()

    _sign_in(page, live_server, "durango@example.org")
    page.goto(f"{live_server}/edit/milestone/{mid}")  # the browser reads version 1
    assert other.post(f"/edit/milestone/{mid}", data={  # someone else saves meanwhile
        "title": "Portal publicado en línea", "status": "in_progress", "version": "1",
        "source_url": "https://sesna.example.org/avance.pdf",
    }).status_code == 302
    page.get_by_label("Estado de avance", exact=True).select_option("complete")
    page.get_by_label("Terminado el").fill("2024-06-01")
    page.get_by_label("Fuente del cambio (URL)").fill("https://idaip.example.org/portal.pdf")
    with page.expect_navigation():  # the next page, not the one clicked on
        page.get_by_role("button", name="Guardar").click()
    assert "Otra persona cambió este registro" in page.locator("h1").inner_text()
    table = page.locator("table.conflict").inner_text()
    # Per field: the colleague's title (who), both changed the status (to choose).
    assert "Portal publicado en línea" in table and "En proceso" in table
    assert "Completo" in table and "SESNA" in table
    page.screenshot(path=str(screenshot_dir / "edit-conflict.png"), full_page=True)
    with page.expect_navigation():  # the next page, not the one clicked on
        page.get_by_role("button", name="Guardar mis cambios sobre la versión actual").click()
    assert page.locator("h1").inner_text().startswith("Otra persona")  # status: not chosen
    page.get_by_label("el mío").check()
    page.get_by_role("button", name="Guardar mis cambios sobre la versión actual").click()
    page.wait_for_url(f"**/commitments/{durango}")
    with local_app.app_context():
        m = db.session.get(Milestone, mid)
        assert (m.status, m.completed_on.isoformat(), m.version) == ("complete", "2024-06-01", 3)
        assert m.title == "Portal publicado en línea"  # the colleague's title is kept
    assert page.blocked_requests == []
