"""Progress reports: dated narrative entries on a commitment, edited like every other kind
(its schema and Kind, nothing special): sourced, audited, versioned, merged on a conflict,
soft-deleted and restored; shown as a public timeline on the commitment and plan pages, in
the API and, in words, in the feeds."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, ProgressReport
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, VERACRUZ, commitment_of, last_event_id
from tests.app.files_fixtures import PDF

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user
SOURCE = "https://idaip.example.org/sesion-4.pdf"
ATOM = "{http://www.w3.org/2005/Atom}"
TEXT = "Se instaló la mesa de presupuesto abierto con seis organizaciones."


def _report(client, commitment: int, **fields):
    form = {"reported_on": "2024-06-10", "text": TEXT, "source_url": SOURCE, **fields}
    return client.post(f"/edit/progress/new/{commitment}", data=form,
                       content_type="multipart/form-data")


def _timeline(app, commitment: int) -> str:
    """The commitment page's timeline section (the history under it quotes reports too)."""
    page = app.test_client().get(f"/commitments/{commitment}").get_data(as_text=True)
    return page[page.index('id="timeline"'):page.index("Historial de cambios")]


def _ids(app) -> tuple[int, int]:
    with app.app_context():
        commitment = commitment_of(DURANGO)
        return commitment, db.session.get(Commitment, commitment).plan_id


def test_a_report_shows_on_the_timelines_the_api_and_the_feeds_in_words(local_app, as_user):
    commitment, plan = _ids(local_app)
    start = last_event_id(local_app)
    response = _report(as_user("durango@example.org"), commitment,
                       file=(io.BytesIO(PDF), "acta-sesion-4.pdf"))
    assert response.status_code == 302, response.get_data(True)[:2000]
    assert response.headers["Location"] == f"/commitments/{commitment}"
    with local_app.app_context():
        report = db.session.scalars(select(ProgressReport)).one()
        assert (report.text, report.source, report.added_by_label) == (
            TEXT, SOURCE, "IDAIP Durango")
        assert report.file_name == "acta-sesion-4.pdf"
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
        assert (event.entity, event.action, event.state_cve, event.commitment_id) == (
            "progress_entry", "create", DURANGO, commitment)
        report_id = report.id

    public = local_app.test_client()
    page = public.get(f"/commitments/{commitment}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"'):]
    assert "10 de junio de 2024" in timeline and TEXT in timeline
    assert "acta-sesion-4.pdf" in timeline and f"/files/progress/{report_id}" in timeline
    plan_page = public.get(f"/plans/{plan}").get_data(as_text=True)
    assert TEXT in plan_page[plan_page.index('id="timeline"'):]
    api = public.get(f"/api/v1/commitments/{commitment}").get_json()
    (entry,) = api["progress_reports"]
    assert (entry["reported_on"], entry["text"], entry["source"]) == ("2024-06-10", TEXT, SOURCE)
    assert entry["file_url"].endswith(f"/files/progress/{report_id}")

    for url in (f"/commitments/{commitment}/feed.atom", f"/states/{DURANGO}/feed.atom"):
        feed = ET.fromstring(public.get(url).data)
        newest = feed.findall(f"{ATOM}entry")[0]
        title = newest.find(f"{ATOM}title").text
        content = newest.find(f"{ATOM}content").text
        assert title == f"Creación · Informe de avance: {TEXT}"
        assert "Fecha del informe: 10 de junio de 2024" in content
        assert f"Avance informado: {TEXT}" in content
        assert "Archivo: acta-sesion-4.pdf" in content and "Tipo de archivo: PDF" in content
        assert "Autor: IDAIP Durango" in content and f"Fuente: {SOURCE}" in content
        for raw in ("reported_on", "file_sha256", "progress_entry", "None", "application/pdf"):
            assert raw not in title + content, raw
        link = newest.find(f"{ATOM}link").get("href")
        assert link.endswith(f"/commitments/{commitment}")
    english = ET.fromstring(public.get(
        f"/commitments/{commitment}/feed.atom?lang=en").data).findall(f"{ATOM}entry")[0]
    assert english.find(f"{ATOM}title").text.startswith("Creation · Progress report: ")


def test_reports_are_edited_merged_deleted_and_restored_like_every_kind(local_app, as_user):
    commitment, _plan = _ids(local_app)
    first, second = as_user("durango@example.org"), as_user("admin@example.org")
    assert _report(first, commitment).status_code == 302
    with local_app.app_context():
        report_id = db.session.scalars(select(ProgressReport.id)).one()
    url = f"/edit/progress/{report_id}"
    form = first.get(url).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "Fecha del informe" in form
    # Two people edit the same version: the second gets the conflict page, and saving from
    # it keeps the first one's date while applying the second one's text.
    base = {"reported_on": "2024-06-10", "text": TEXT, "version": "1", "source_url": SOURCE}
    assert first.post(url, data={**base, "reported_on": "2024-06-11"}).status_code == 302
    conflict = second.post(url, data={**base, "text": TEXT + " Falta el acta."})
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "11 de junio de 2024" in page and "IDAIP Durango" in page
    assert second.post(url, data={**base, "text": TEXT + " Falta el acta.",
                                  "reported_on": "2024-06-11", "version": "2"}
                       ).status_code == 302
    with local_app.app_context():
        report = db.session.get(ProgressReport, report_id)
        assert (report.reported_on.isoformat(), report.text, report.version) == (
            "2024-06-11", TEXT + " Falta el acta.", 3)
    # A Veracruz editor cannot touch it; a report needs its date and its text.
    assert as_user("veracruz@example.org").post(url, data={**base, "version": "3"}
                                                 ).status_code == 403
    refused = _report(first, commitment, text="", reported_on="10/13/2024")
    assert refused.status_code == 200 and refused.get_data(True).count("field-error") == 2
    # Deleted: gone from the timeline, kept in the history; restored by an admin.
    assert first.post(f"{url}/delete", data={"version": "3", "source_url": SOURCE}
                      ).status_code == 302
    assert TEXT not in _timeline(local_app, commitment)  # still in the history below it
    assert second.post(f"/admin/records/progress_entry/{report_id}/restore",
                       data={"source_url": SOURCE}).status_code == 302
    assert TEXT in _timeline(local_app, commitment)


def test_deleting_the_commitment_takes_its_reports_and_restoring_brings_them(local_app, as_user):
    commitment, _plan = _ids(local_app)
    editor = as_user("durango@example.org")
    assert _report(editor, commitment).status_code == 302
    assert editor.post(f"/edit/commitment/{commitment}/delete",
                       data={"version": "1", "source_url": SOURCE}).status_code == 302
    with local_app.app_context():
        assert db.session.scalars(select(ProgressReport)).all() == []  # hidden with it
    assert as_user("admin@example.org").post(
        f"/admin/records/commitment/{commitment}/restore",
        data={"source_url": SOURCE}).status_code == 302
    with local_app.app_context():
        assert len(db.session.scalars(select(ProgressReport)).all()) == 1


def test_a_report_of_another_states_commitment_is_refused(local_app, as_user):
    with local_app.app_context():
        veracruz = db.session.scalars(
            select(Commitment.id).join(ActionPlan).where(ActionPlan.state_cve == VERACRUZ)
        ).first()
    assert _report(as_user("durango@example.org"), veracruz).status_code == 403
