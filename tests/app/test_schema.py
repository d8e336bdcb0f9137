"""The record schemas (app/schema): one rule for each field, read the same by the forms, the
spreadsheet and the seeds; values compared and shown as a person reads them."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.edit import forms
from app.extensions import db
from app.models import ActionPlan, Commitment, Milestone
from app.schema import FieldError
from app.schema.records import MILESTONE, PLAN, SCHEMAS
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, commitment_of

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user
SOURCE = "https://idaip.example.org/acta.pdf"


@pytest.mark.parametrize("typed, stored", [
    ("75", 0.75), ("75 %", 0.75), ("75,5", 0.755), (33.3, 0.333), ("33.33", 0.333), (0, 0.0),
])
def test_progress_is_typed_as_a_percent_and_kept_to_one_decimal(typed, stored):
    progress = MILESTONE.field("progress")
    assert progress.parse(typed) == stored
    # What a spreadsheet shows reads back as the same value: a re-save changes nothing.
    assert progress.parse(progress.cell(stored)) == stored
    assert progress.same(stored, 1 / 3 if stored == 0.333 else stored)


@pytest.mark.parametrize("field, raw", [
    ("progress", "101"), ("progress", "-1"), ("progress", "NaN"), ("weight", "sNaN"),
    ("weight", "Infinity"), ("weight", "0"), ("weight", "１２"), ("due_date", "2024-02-30"),
    ("status", "done"), ("title", "Hito\x01"), ("title", "Hito\x00"), ("title", ""),
])
def test_bad_values_are_refused_with_a_message(app, field, raw):
    with app.test_request_context("/?lang=en"), pytest.raises(FieldError) as refused:
        MILESTONE.field(field).parse(raw)
    assert refused.value.text() and "%(" not in refused.value.text()


def test_numbers_keep_what_a_spreadsheet_keeps():
    weight = MILESTONE.field("weight")
    assert weight.parse(1 / 3) == float(f"{1 / 3:.15g}")
    assert weight.same(1 / 3, 0.333333333333333)  # LibreOffice keeps 15 significant digits
    assert not weight.same(1 / 3, 0.3333)


def test_codes_are_read_as_codes_or_labels_in_either_language(app):
    status = MILESTONE.field("status")
    with app.test_request_context("/?lang=en"):
        assert {status.parse(v) for v in ("complete", "Completo", "completo", "Complete")} == {
            "complete"}
        assert status.show("in_progress") == "In progress"
    with app.test_request_context("/"):
        assert status.show("in_progress") == "En proceso"


def test_text_is_normalised_once():
    title = MILESTONE.field("title")
    assert title.parse("  Mesa\r\ninstalada  ") == "Mesa\ninstalada"  # multi-line kept
    assert PLAN.field("title").parse(" Plan \t de\nacción ") == "Plan de acción"
    assert title.parse("Cafe\u0301") == "Café"  # NFC


def test_rules_live_in_the_schema():
    problems = MILESTONE.check({"status": "not_started", "progress": 0.5,
                                "start_date": date(2024, 5, 1), "due_date": date(2024, 1, 1),
                                "completed_on": date(2024, 6, 1)})
    assert {name for name, _ in problems} == {"progress", "due_date", "completed_on"}
    assert PLAN.check({"period_start": 2020, "period_end": 2018}) != []


def test_every_editable_form_is_built_from_its_schema(app):
    with app.test_request_context("/"):
        for name in ("exercise", "member", "plan", "commitment", "milestone", "evidence"):
            form = forms.record_form(name)(meta={"csrf": False})
            schema = SCHEMAS[name]
            assert tuple(f.name for f in schema.editable) == form.FIELDS
            for field in schema.editable:
                assert str(form[field.name].label.text) == str(field.label)


def _post_milestone(client, commitment: int, progress: str) -> int:  # noqa: ANN001
    response = client.post(f"/edit/milestone/new/{commitment}", data={
        "title": "Hito al 75", "status": "in_progress", "progress": progress,
        "source_url": SOURCE})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(db.session.scalars(select(Milestone.id).order_by(Milestone.id.desc())).first())


def test_progress_typed_in_the_form_and_in_the_spreadsheet_means_the_same(local_app, as_user):
    client = as_user("durango@example.org")
    with local_app.app_context():
        c = commitment_of(DURANGO)
        form_id = _post_milestone(client, c, "75")
    book = load_workbook(io.BytesIO(client.get(f"/edit/states/{DURANGO}/records.xlsx").data))
    sheet = book["milestones"]
    header = [cell.value for cell in sheet[1]]
    assert [r for r in sheet.iter_rows(values_only=True) if r[0] == form_id][0][
        header.index("progress")] == 75  # the download shows the percent typed
    sheet.append([{"commitment_id": c, "title": "Hito de la hoja", "status": "in_progress",
                   "progress": 75}.get(name) for name in header])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(f"/edit/states/{DURANGO}/upload", data={
        "file": (io.BytesIO(buffer.getvalue()), "e.xlsx"), "source_url": SOURCE},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    with local_app.app_context():
        typed = dict(db.session.execute(select(Milestone.title, Milestone.progress)).all())
        assert typed["Hito al 75"] == typed["Hito de la hoja"] == 0.75
    page = client.get(f"/commitments/{c}").get_data(as_text=True)
    assert "75 %" in page and "0.75" not in page


def test_deleting_a_plan_lands_on_its_states_page(local_app, as_user):
    client = as_user("durango@example.org")
    with local_app.app_context():
        plan = db.session.scalars(select(ActionPlan).where(ActionPlan.state_cve == DURANGO)
                                  .order_by(ActionPlan.id)).first()
        plan_id, version = plan.id, plan.version
        commitment = db.session.scalars(select(Commitment.id).where(
            Commitment.plan_id == plan_id)).first()
    response = client.post(f"/edit/plan/{plan_id}/delete",
                           data={"source_url": SOURCE, "version": str(version)})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/states/{DURANGO}"
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200 and "eliminado" in landing.get_data(as_text=True)
    # Its commitments went with it; the commitment's page is gone, the state's is not.
    assert client.get(f"/commitments/{commitment}").status_code == 404
    assert client.post(f"/edit/commitment/{commitment}/delete",
                       data={"source_url": SOURCE, "version": "1"}).status_code == 404
