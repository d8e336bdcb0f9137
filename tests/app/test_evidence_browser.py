"""In the browser (Chromium, in Spanish), as a Durango editor: a PDF uploaded as evidence
downloads byte for byte from the public commitment page, an HTML file renamed .pdf is
refused, and a progress report appears on the public timelines and in the feed.
Screenshots of the evidence list and the timeline in test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Commitment, Evidence
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, commitment_of
from tests.app.files_fixtures import HTML, PDF

pytestmark = pytest.mark.browser
local_app = editing_fixtures.local_app
PROGRESS = "Sesión del Secretariado: se instaló la mesa de presupuesto abierto."


def _sign_in(page, live_server: str) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/login")
    page.get_by_label("Correo electrónico").fill("durango@example.org")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live_server}/")


def _evidence_count(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Evidence))


def test_a_pdf_downloads_byte_for_byte_and_html_renamed_pdf_is_refused(
        local_app, live_server, page, screenshot_dir, tmp_path):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/commitments/{commitment}")
    page.get_by_role("link", name="agregar evidencia").click()

    # An HTML page renamed .pdf (and announced as a PDF by the browser) is refused.
    page.get_by_label("Título", exact=True).fill("Minuta falsa")
    page.get_by_label("Archivo", exact=True).set_input_files(
        files=[{"name": "minuta.pdf", "mimeType": "application/pdf", "buffer": HTML}])
    with page.expect_navigation():  # the next page, not the one clicked on
        page.get_by_role("button", name="Guardar").click()
    assert page.locator(".field-error").count() == 1  # only the file's
    error = page.locator("p.field:has(#file) .field-error").inner_text()
    assert "su contenido es text/html" in error and "sea cual sea su nombre" in error
    assert _evidence_count(local_app) == 0

    page.get_by_label("Título", exact=True).fill("Minuta de la tercera sesión")
    page.get_by_label("Fecha del documento").fill("2024-05-02")
    page.get_by_label("Qué demuestra").fill("Que la mesa sesionó con quórum")
    page.get_by_label("Archivo", exact=True).set_input_files(
        files=[{"name": "Minuta sesión 3.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(f"**/commitments/{commitment}")
    evidence = page.locator("ul.evidence-list")
    text = evidence.inner_text()
    assert "Minuta sesión 3.pdf" in text and "PDF" in text and f"{len(PDF)} B" in text
    assert "2 de mayo de 2024" in text and "Que la mesa sesionó con quórum" in text
    assert "IDAIP Durango" in text
    page.screenshot(path=str(screenshot_dir / "evidence-list.png"), full_page=True)
    evidence.screenshot(path=str(screenshot_dir / "evidence-list-detail.png"))

    with page.expect_download() as info:
        evidence.get_by_role("link", name="Minuta sesión 3.pdf").click()
    download = info.value
    assert download.suggested_filename == "Minuta sesión 3.pdf"
    saved = tmp_path / "downloaded.pdf"
    download.save_as(str(saved))
    assert saved.read_bytes() == PDF
    # Anonymous readers get the same bytes, as a download that is never rendered.
    with local_app.app_context():
        evidence_id = db.session.scalars(select(Evidence.id)).one()
    response = page.request.get(f"{live_server}/files/evidence/{evidence_id}")
    assert response.body() == PDF
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert page.blocked_requests == []


def test_a_progress_report_appears_on_the_timelines_and_in_the_feed(
        local_app, live_server, page, screenshot_dir):
    with local_app.app_context():
        commitment = commitment_of(DURANGO)
        plan = db.session.get(Commitment, commitment).plan_id
    _sign_in(page, live_server)
    page.goto(f"{live_server}/commitments/{commitment}")
    page.get_by_role("link", name="Informar un avance", exact=True).click()
    page.get_by_label("Fecha del informe").fill("2024-06-10")
    page.get_by_label("Avance informado").fill(PROGRESS)
    page.get_by_label("Archivo", exact=True).set_input_files(
        files=[{"name": "acta-sesion.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_label("Fuente del cambio (URL)").fill("https://idaip.example.org/sesion-4")
    page.screenshot(path=str(screenshot_dir / "progress-report-form.png"), full_page=True)
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(f"**/commitments/{commitment}")
    timeline = page.locator("ol.timeline")
    text = timeline.inner_text()
    assert "10 de junio de 2024" in text and PROGRESS in text and "acta-sesion.pdf" in text
    timeline.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "progress-timeline.png"), full_page=True)
    timeline.screenshot(path=str(screenshot_dir / "progress-timeline-detail.png"))

    page.goto(f"{live_server}/plans/{plan}")
    plan_timeline = page.locator("ol.timeline").inner_text()
    assert PROGRESS in plan_timeline and "Compromiso" in plan_timeline

    feed = page.request.get(f"{live_server}/commitments/{commitment}/feed.atom").text()
    assert f"Creación · Informe de avance: {PROGRESS}" in feed
    assert "Fecha del informe: 10 de junio de 2024" in feed and "reported_on" not in feed
    assert page.blocked_requests == []


def test_screenshots_are_in_test_output(screenshot_dir):
    """The screenshots the tests above take land in test-output/ (not under tmp_path)."""
    assert Path(screenshot_dir).name == "test-output"
