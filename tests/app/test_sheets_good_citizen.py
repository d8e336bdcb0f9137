"""The spreadsheet as Excel and LibreOffice users meet it: drop-down lists of the statuses'
labels, a help sheet from the schemas in the reader's language, labels read back as codes
(either language), ODS workbooks, CSV saved by Excel in Windows-1252 or with semicolons, and
one clear line for what cannot be read. Progress typed as 75 means the same stored value in
the form and in the spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.service import find_user
from app.extensions import db
from app.models import Commitment, Milestone
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, add_milestone, commitment_of, last_event_id

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user
SOURCE = "https://idaip.example.org/informe-2024.pdf"
XLSX = f"/edit/states/{DURANGO}/records.xlsx"
UPLOAD = f"/edit/states/{DURANGO}/upload"


@pytest.fixture
def milestones(local_app) -> list[int]:
    """Two milestones of a Durango commitment: one in progress, one not started."""
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        ids = [add_milestone(db.session, admin, c, values, source=SOURCE).id for values in (
            {"title": "Mesa instalada", "status": "in_progress", "progress": 0.4,
             "due_date": date(2024, 12, 31)},
            {"title": "Año de diseño: ñandú", "status": "not_started"})]
        db.session.commit()
        return ids


def _book(client, url: str = XLSX):
    response = client.get(url)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def _bytes(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(client, content: bytes, name: str, source: str = SOURCE):
    return client.post(UPLOAD, data={"file": (io.BytesIO(content), name), "source_url": source},
                       content_type="multipart/form-data")


def _column(sheet, name: str) -> int:
    return [c.value for c in sheet[1]].index(name) + 1


def _row(sheet, obj_id: int) -> int:
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row[0] == obj_id:
            return number
    raise AssertionError(obj_id)


def test_status_columns_hold_labels_with_a_drop_down_and_the_help_explains_each(
        local_app, as_user, milestones):
    book = _book(as_user("durango@example.org"))
    sheet = book["milestones"]
    status = _column(sheet, "status")
    assert sheet.cell(_row(sheet, milestones[0]), status).value == "En proceso"
    (validation,) = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    letter = sheet.cell(1, status).column_letter
    assert f"{letter}2:{letter}2000" in str(validation.sqref)
    lists = book["Listas"]
    column = validation.formula1.split("!")[1].split(":")[0].replace("$", "")[0]
    offered = [c.value for c in lists[column]][1:]
    offered = [value for value in offered if value is not None]  # the longest list sets the rows
    assert offered == ["No iniciado", "En proceso", "Completo", "Verificado"]
    assert not validation.allow_blank  # a milestone's status is required
    commitments = book["commitments"]
    (c_validation,) = commitments.data_validations.dataValidation
    assert c_validation.allow_blank and "Retirado" in c_validation.error
    help_rows = [r for r in book["Ayuda"].iter_rows(values_only=True) if r and r[0]]
    by_column = {(r[0], r[1]): r for r in help_rows if len(r) > 2}
    progress = by_column[("milestones", "progress")]
    assert progress[2] == "Avance declarado (%)" and progress[3] == "no"
    assert "Porcentaje de 0 a 100" in progress[4] and "solo si está en proceso" in progress[5]
    assert by_column[("milestones", "title")][3] == "sí"
    assert "No iniciado, En proceso" in by_column[("milestones", "status")][4]
    assert "no lo cambie" in by_column[("milestones", "id")][5]

    english = _book(as_user("durango@example.org"), f"{XLSX}?lang=en")
    assert english.sheetnames[-2:] == ["Help", "Lists"]
    assert english["milestones"].cell(_row(english["milestones"], milestones[0]),
                                      status).value == "In progress"
    # Re-uploading the untouched English workbook changes nothing: its labels are codes.
    start = last_event_id(local_app)
    response = _upload(as_user("durango@example.org"), _bytes(english), "en.xlsx", "")
    assert response.status_code == 200 and "Sin cambios" in response.get_data(True)
    assert last_event_id(local_app) == start


def test_labels_in_either_language_and_codes_are_read_as_codes(local_app, as_user, milestones):
    client = as_user("durango@example.org")
    book = _book(client)
    sheet = book["milestones"]
    status, completed = _column(sheet, "status"), _column(sheet, "completed_on")
    progress = _column(sheet, "progress")
    sheet.cell(_row(sheet, milestones[0]), status).value = "completo"  # case and accents aside
    sheet.cell(_row(sheet, milestones[0]), progress).value = None
    sheet.cell(_row(sheet, milestones[0]), completed).value = date(2024, 6, 1)
    sheet.cell(_row(sheet, milestones[1]), status).value = "In progress"  # English label
    response = _upload(client, _bytes(book), "e.xlsx")
    assert response.status_code == 200, response.get_data(True)[-2000:]
    with local_app.app_context():
        assert [db.session.get(Milestone, m).status for m in milestones] == [
            "complete", "in_progress"]
    sheet.cell(_row(sheet, milestones[1]), status).value = "a medias"
    refused = _upload(client, _bytes(book), "e.xlsx")
    assert refused.status_code == 422
    assert "«a medias» no es uno de: No iniciado, En proceso, Completo, Verificado" in (
        refused.get_data(True))


def test_progress_typed_as_75_means_the_same_in_the_form_and_the_spreadsheet(
        local_app, as_user, milestones):
    client = as_user("durango@example.org")
    by_form, by_sheet = milestones
    assert client.post(f"/edit/milestone/{by_form}", data={
        "title": "Mesa instalada", "status": "in_progress", "progress": "75",
        "due_date": "2024-12-31", "version": "1", "source_url": SOURCE}).status_code == 302
    book = _book(client)
    sheet = book["milestones"]
    row = _row(sheet, by_sheet)
    sheet.cell(row, _column(sheet, "status")).value = "En proceso"
    sheet.cell(row, _column(sheet, "progress")).value = 75
    assert _upload(client, _bytes(book), "e.xlsx").status_code == 200
    with local_app.app_context():
        stored = [db.session.get(Milestone, m).progress for m in milestones]
    assert stored == [0.75, 0.75]
    again = _book(client)["milestones"]
    column = _column(again, "progress")
    assert [again.cell(_row(again, m), column).value for m in milestones] == [75, 75]
    form = client.get(f"/edit/milestone/{by_sheet}").get_data(as_text=True)
    assert 'name="progress" type="text" value="75"' in form


def _csv(client, sheet: str = "milestones") -> str:
    return client.get(f"/edit/states/{DURANGO}/records.csv?sheet={sheet}").data.decode(
        "utf-8-sig")


def test_a_csv_saved_by_excel_in_windows_1252_or_with_semicolons_is_read(
        local_app, as_user, milestones):
    client = as_user("durango@example.org")
    text = _csv(client)
    start = last_event_id(local_app)
    for content in (text.encode("cp1252"), text.replace(",", ";").encode("cp1252")):
        response = _upload(client, content, "hitos.csv", "")
        assert response.status_code == 200, response.get_data(True)[-2000:]
        assert "Sin cambios" in response.get_data(True)
    assert last_event_id(local_app) == start
    rows = list(csv.reader(io.StringIO(text)))
    rows[2][rows[0].index("title")] = "Año de diseño: ñandú, señoría"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = _upload(client, buffer.getvalue().encode("cp1252"), "hitos.csv")
    assert response.status_code == 200
    with local_app.app_context():
        assert db.session.get(Milestone, milestones[1]).title == "Año de diseño: ñandú, señoría"


def test_an_ods_workbook_is_read(local_app, as_user, milestones):
    client = as_user("durango@example.org")
    book = _book(client)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="odf") as writer:
        for name in ("plans", "commitments", "milestones"):
            rows = list(book[name].iter_rows(values_only=True))
            frame = pd.DataFrame(rows[1:], columns=rows[0])
            if name == "milestones":
                frame.loc[frame["id"] == milestones[1], "title"] = "Mesa con ODS"
            frame.to_excel(writer, sheet_name=name, index=False)
    response = _upload(client, buffer.getvalue(), "hitos.ods")
    assert response.status_code == 200, response.get_data(True)[-2000:]
    assert "Guardado: 1 registros cambiaron." in response.get_data(True)
    with local_app.app_context():
        assert db.session.get(Milestone, milestones[1]).title == "Mesa con ODS"


def _broken_ods() -> bytes:
    """The first half of a real ODS workbook (its type still reads as ODS)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="odf") as writer:
        pd.DataFrame({"id": range(200)}).to_excel(writer, sheet_name="milestones", index=False)
    data = buffer.getvalue()
    return data[:len(data) // 2]


@pytest.mark.parametrize("content, name, words", [
    (b"\x00\x01\x02\xff\xfe" * 50, "hoja.csv", "Guardar como» › «CSV UTF-8"),
    (_broken_ods(), "hoja.ods", "no es una hoja de cálculo ODS legible"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 2000, "hoja.xls", "Excel 97-2003"),
])
def test_what_cannot_be_read_is_refused_in_one_translated_line(local_app, as_user, milestones,
                                                                content, name, words):
    client = as_user("durango@example.org")
    start = last_event_id(local_app)
    response = _upload(client, content, name)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = [line for line in page.splitlines() if 'class="field-error"' in line]
    assert len(errors) == 1 and words in errors[0] and name in errors[0]
    assert "Traceback" not in page and "Error" not in errors[0]
    assert last_event_id(local_app) == start
    english = client.post(f"{UPLOAD}?lang=en", data={
        "file": (io.BytesIO(content), name), "source_url": SOURCE},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "no se" not in english and name in english


def test_the_drop_down_and_help_sheets_are_not_read_back(local_app, as_user, milestones):
    client = as_user("durango@example.org")
    book = _book(client)
    book["Ayuda"]["A1"] = "Notas mías"  # whatever a reader writes there is left alone
    response = _upload(client, _bytes(book), "e.xlsx", "")
    assert response.status_code == 200 and "Sin cambios" in response.get_data(True)
    with local_app.app_context():
        assert db.session.scalars(select(Milestone).where(
            Milestone.id.in_(milestones))).all()
