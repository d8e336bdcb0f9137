"""In the browser, as Durango's editor: the desk lists an overdue milestone the editor just
recorded; a deleted commitment is found in the recycle bin and restored; the plan's report
prints and downloads as a PDF whose text is checked. Screenshots in test-output/."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Commitment
from app.plans.service import today
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, commitment_of
from tests.app.test_accessibility_browser import FAILING_IMPACTS, axe_violations

pytestmark = pytest.mark.browser
local_app = editing_fixtures.local_app

SOURCE = "https://idaip.example.org/acta-sesion-ordinaria.pdf"
MILESTONE = "Instalar la mesa de seguimiento del compromiso"


def _serious(page) -> list[dict]:  # noqa: ANN001
    """axe-core's serious or critical violations on the open page."""
    return [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]


def _sign_in(page, live_server: str) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/login")
    page.get_by_label("Correo electrónico").fill("durango@example.org")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live_server}/")


def test_durango_desk_bin_and_report(local_app, live_server, page, screenshot_dir):
    with local_app.app_context():
        c_id = commitment_of(DURANGO)
        c = db.session.get(Commitment, c_id)
        plan_id, title = c.plan_id, c.title
        other_id = next(x.id for x in c.plan.commitments if x.id != c_id)
    due = today() - timedelta(days=12)
    _sign_in(page, live_server)

    # A milestone already past due, recorded through the form (a date input).
    page.goto(f"{live_server}/commitments/{c_id}")
    page.get_by_role("link", name="Agregar un hito").click()
    page.get_by_label("Hito", exact=True).fill(MILESTONE)
    page.get_by_label("Estado de avance", exact=True).select_option("in_progress")
    page.get_by_label("Fecha de vencimiento").fill(due.isoformat())
    page.get_by_label("Fuente del cambio (URL)").fill(SOURCE)
    # The title's text area is as wide as the form allows, a few lines high.
    box = page.get_by_label("Hito", exact=True).bounding_box()
    assert box["width"] > 500 and box["height"] > 50
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(f"**/commitments/{c_id}")

    # The desk, from the header's link: the milestone is overdue, in days and words.
    page.get_by_role("link", name="Editar mi estado").click()
    page.wait_for_url(f"**/edit/states/{DURANGO}")
    overdue = page.get_by_role("table", name="Hitos cuya fecha de vencimiento pasó")
    row = overdue.locator("tr", has_text=MILESTONE)
    assert row.count() == 1
    assert "12" in row.locator("td.num").inner_text()
    assert str(due.year) in row.inner_text() and "de" in row.inner_text()  # "3 de mayo de..."
    # Filter the commitments to those with overdue milestones: this one only.
    page.get_by_label("Plazos").select_option("overdue")
    page.get_by_role("button", name="Filtrar").click()
    page.wait_for_url("**due=overdue**")
    listed = page.get_by_role("table", name="Compromisos del estado").locator("tbody tr")
    assert listed.count() == 1 and title[:30] in listed.first.inner_text()
    page.goto(f"{live_server}/edit/states/{DURANGO}")
    page.screenshot(path=str(screenshot_dir / "desk.png"), full_page=True)
    assert _serious(page) == []

    # Delete another commitment, then find it in the recycle bin and restore it.
    page.goto(f"{live_server}/edit/commitment/{other_id}")
    page.locator("summary", has_text="Eliminar este registro").click()
    page.locator("details.danger input[name=source_url]").fill(SOURCE)
    with page.expect_navigation():  # the next page, not the one clicked on
        page.locator("details.danger").get_by_role("button", name="Eliminar").click()
    assert "papelera" in page.locator(".flash").inner_text()
    page.goto(f"{live_server}/edit/states/{DURANGO}")
    page.get_by_role("link", name="Papelera").click()
    page.wait_for_url("**/edit/recycle-bin")
    row = page.locator(f"tr#commitment-{other_id}")
    assert "IDAIP Durango" in row.inner_text() and "Compromiso" in row.inner_text()
    page.screenshot(path=str(screenshot_dir / "recycle-bin.png"), full_page=True)
    assert _serious(page) == []
    row.get_by_label("Fuente de la restauración (URL)").fill(SOURCE)
    row.get_by_role("button", name="Restaurar").click()
    page.wait_for_url("**/edit/recycle-bin")
    assert "restaurado" in page.locator(".flash").inner_text()
    assert page.locator(f"tr#commitment-{other_id}").count() == 0
    assert page.goto(f"{live_server}/commitments/{other_id}").status == 200

    # The plan's report: from the plan page, printable, and as a PDF.
    page.goto(f"{live_server}/plans/{plan_id}")
    page.get_by_role("link", name="Informe para la sesión del secretariado").click()
    page.wait_for_url(f"**/plans/{plan_id}/report")
    assert MILESTONE in page.locator("article.report").inner_text()
    page.screenshot(path=str(screenshot_dir / "plan-report.png"), full_page=True)
    assert _serious(page) == []
    page.emulate_media(media="print")  # the print stylesheet: the report alone
    assert not page.locator("header.site-header").is_visible()
    assert not page.locator("form.filters").is_visible()
    page.emulate_media(media="screen")
    pdf = page.request.get(f"{live_server}/plans/{plan_id}/report.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    (screenshot_dir / "plan-report.pdf").write_bytes(body)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
                    .split())
    assert MILESTONE in text and "Vencido" in text
    assert " ".join(title.split())[:30] in text
    assert "IDAIP Durango" in text  # the changes since the default date name the agency
    assert page.blocked_requests == []
