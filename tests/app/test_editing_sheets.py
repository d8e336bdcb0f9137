"""The spreadsheet round trip: download a state's plans, commitments and milestones as XLSX or
CSV, edit offline, upload: validated whole, applied all or nothing, unchanged = nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import records
from app.accounts.service import find_user
from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, DataRevision, Milestone
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, VERACRUZ, add_milestone, commitment_of

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/informe-2024.pdf"
XLSX = f"/edit/states/{DURANGO}/records.xlsx"
UPLOAD = f"/edit/states/{DURANGO}/upload"


@pytest.fixture
def data(local_app) -> dict:
    """Two milestones on a Durango commitment, one on a Veracruz one (added by the admin)."""
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        out = {}
        for cve, titles in ((DURANGO, ("Mesa instalada", "=Informe publicado")),
                            (VERACRUZ, ("Mesa veracruzana",))):
            c = db.session.get(Commitment, commitment_of(cve))
            ms = [add_milestone(db.session, admin, c, {
                "title": t, "status": "not_started", "due_date": date(2024, 12, 31)},
                source=SOURCE) for t in titles]
            out[cve] = [m.id for m in ms]
        db.session.commit()
        return out


def _state(app) -> tuple:  # noqa: ANN001
    with app.app_context():
        s = db.session
        return (s.scalar(select(func.count()).select_from(AuditEvent)),
                tuple(s.execute(select(DataRevision.dataset, DataRevision.revision)
                                .order_by(DataRevision.dataset)).all()),
                tuple(s.execute(select(Milestone.id, Milestone.version).order_by(Milestone.id)
                                .execution_options(**records.WITH_DELETED)).all()),
                tuple(s.execute(select(Commitment.id, Commitment.version)
                                .order_by(Commitment.id)).all()))


def _book(client):  # noqa: ANN001, ANN202
    response = client.get(XLSX)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def _upload(client, book=None, *, content: bytes | None = None, name: str = "e.xlsx",  # noqa: ANN001, ANN202
            source: str = ""):
    if content is None:
        buffer = io.BytesIO()
        book.save(buffer)
        content = buffer.getvalue()
    return client.post(UPLOAD, data={"file": (io.BytesIO(content), name), "source_url": source},
                       content_type="multipart/form-data")


def _row(sheet, obj_id: int) -> int:  # noqa: ANN001
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row[0] == obj_id:
            return number
    raise AssertionError(obj_id)


def _upload_refused(app, client, book) -> str:  # noqa: ANN001
    """Upload ``book`` with a source: refused (422), nothing stored; the page."""
    before = _state(app)
    response = _upload(client, book, source=SOURCE)
    assert response.status_code == 422
    assert _state(app) == before
    return response.get_data(as_text=True)


def _assert_problems(page: str, expected) -> None:  # noqa: ANN001
    """Each (sheet, row, column, words) is a line of the problems table (the sheet and the
    column as named in the file, each with its label in the reader's language)."""
    for sheet, row, column, words in expected:
        line = re.compile(rf"<td><code>{sheet}</code> \([^<)]+\)</td><td>{row}</td>"
                          rf"<td><code>{column}</code>( \([^<]+\))?</td><td>")
        assert line.search(page), (sheet, row, column)
        assert words in page, words


def _col(sheet, name: str) -> int:  # noqa: ANN001
    return [c.value for c in sheet[1]].index(name) + 1


def _append(sheet, **cells: object) -> None:  # noqa: ANN001
    """Add a row with the named columns filled (by the header, whatever its order)."""
    header = [c.value for c in sheet[1]]
    sheet.append([cells.get(name) for name in header])


def test_who_may_download_and_upload(local_app, as_user, data):
    assert as_user(None).get(XLSX).headers["Location"].startswith("/login")
    assert as_user("veracruz@example.org").get(XLSX).status_code == 403
    assert as_user("veracruz@example.org").get(UPLOAD).status_code == 403
    assert as_user("veracruz@example.org").post(UPLOAD).status_code == 403
    assert as_user("admin@example.org").get(XLSX).status_code == 200
    book = _book(as_user("durango@example.org"))
    assert book.sheetnames == ["plans", "commitments", "milestones", "Ayuda", "Listas"]
    milestones = book["milestones"]
    assert [c.value for c in milestones[1]][:3] == ["id", "version", "commitment_id"]
    ids = [r[0] for r in milestones.iter_rows(min_row=2, values_only=True)]
    assert ids == data[DURANGO]  # the state's own, not Veracruz's
    # Text a spreadsheet would run as a formula is written with a leading quote, as text.
    assert "'=Informe publicado" in [r[4] for r in milestones.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["xlsx", "plans", "commitments", "milestones"])
def test_an_unchanged_download_changes_and_records_nothing(local_app, as_user, data, fmt):
    client = as_user("durango@example.org")
    before = _state(local_app)
    if fmt == "xlsx":
        response = _upload(client, _book(client))
    else:
        content = client.get(f"/edit/states/{DURANGO}/records.csv?sheet={fmt}").data
        response = _upload(client, content=content, name=f"{fmt}.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[-3000:]
    assert "Sin cambios" in response.get_data(as_text=True)
    assert _state(local_app) == before


def test_edits_are_applied_through_the_audited_path(local_app, as_user, data):
    client = as_user("durango@example.org")
    book = _book(client)
    ms, cs = book["milestones"], book["commitments"]
    first = _row(ms, data[DURANGO][0])
    ms.cell(first, _col(ms, "status"), "complete")
    ms.cell(first, _col(ms, "completed_on"), datetime(2024, 6, 1))
    ms.cell(first, _col(ms, "title"), "Mesa instalada y sesionando")
    c_row = _row(cs, commitment_of_in(local_app, DURANGO))
    cs.cell(c_row, _col(cs, "responsible"), "Secretaría de la Contraloría")
    cs.cell(c_row, _col(cs, "status"), "in_progress")
    # Without a source nothing is stored.
    before = _state(local_app)
    response = _upload(client, book)
    assert response.status_code == 422 and "sin fuente no se guarda" in response.get_data(True)
    assert _state(local_app) == before
    response = _upload(client, book, source=SOURCE)
    assert response.status_code == 200 and "2 registros cambiaron" in response.get_data(True)
    with local_app.app_context():
        m = db.session.get(Milestone, data[DURANGO][0])
        assert (m.status, m.completed_on, m.title, m.version) == (
            "complete", date(2024, 6, 1), "Mesa instalada y sesionando", 2)
        untouched = db.session.get(Milestone, data[DURANGO][1])
        assert (untouched.title, untouched.version) == ("=Informe publicado", 1)
        c = db.session.get(Commitment, commitment_of(DURANGO))
        assert (c.responsible, c.status, c.version) == ("Secretaría de la Contraloría",
                                                        "in_progress", 2)
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                                    .limit(2)).all()
        assert {(e.entity, e.actor, e.source) for e in events} == {
            ("milestone", "IDAIP Durango", SOURCE), ("commitment", "IDAIP Durango", SOURCE)}
    # The same file again: its versions are now stale, so it is refused, row by row.
    response = _upload(client, book, source=SOURCE)
    assert response.status_code == 422 and "cambió desde la descarga" in response.get_data(True)


def commitment_of_in(app, cve: str) -> int:  # noqa: ANN001
    with app.app_context():
        return commitment_of(cve)


def test_every_problem_is_reported_by_sheet_row_and_column(local_app, as_user, data):
    client = as_user("durango@example.org")
    book = _book(client)
    ms, cs, ps = book["milestones"], book["commitments"], book["plans"]
    first, second = _row(ms, data[DURANGO][0]), _row(ms, data[DURANGO][1])
    ms.cell(first, _col(ms, "due_date"), "31.12.2024")
    ms.cell(first, _col(ms, "status"), "done")
    ms.cell(second, _col(ms, "weight"), -1)
    ms.cell(second, _col(ms, "version"), 7)
    ms.cell(second, _col(ms, "commitment_id"), 999)
    ms.append([data[VERACRUZ][0], 1, None, 1, "Colada", None, None, None, "complete"])
    ms.append([123456, 1, None, 1, "Inventada", None, None, None, "complete"])
    cs.cell(2, _col(cs, "title"), "")
    ps.cell(2, _col(ps, "published_date"), "mayo 2016")
    page = _upload_refused(local_app, client, book)
    last = ms.max_row
    _assert_problems(page, (
        ("milestones", first, "due_date", "no es una fecha"),
        ("milestones", first, "status", "no es uno de"),
        ("milestones", second, "weight", "debe ser mayor que 0"),
        ("milestones", second, "version", "cambió desde la descarga"),
        ("milestones", second, "commitment_id", "no se puede cambiar aquí"),
        ("milestones", last - 1, "id", "que usted no puede editar"),
        ("milestones", last, "id", "no es el id de un registro"),
        ("commitments", 2, "title", "es obligatorio"),
        ("plans", 2, "published_date", "AAAA"),
    ))


def test_unreadable_files_are_refused(local_app, as_user, data):
    client = as_user("durango@example.org")
    before = _state(local_app)
    response = _upload(client, content=b"a,b\n1,2\n", name="x.csv")
    assert response.status_code == 422 and "encabezado" in response.get_data(as_text=True)
    response = _upload(client, content=b"PK\x03\x04broken", name="x.xlsx")
    assert response.status_code == 422 and "XLSX" in response.get_data(as_text=True)
    text = client.get(f"/edit/states/{DURANGO}/records.csv?sheet=milestones").data.decode()
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows[1][rows[0].index("progress")] = "half"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = _upload(client, content=buffer.getvalue().encode(), name="m.csv", source=SOURCE)
    assert response.status_code == 422 and "no es un número" in response.get_data(True)
    assert client.get(f"/edit/states/{DURANGO}/records.csv?sheet=nope").status_code == 400
    assert _state(local_app) == before
    with local_app.app_context():
        assert db.session.scalars(select(ActionPlan)).first() is not None


def _milestones_of(app, c_id: int) -> list[tuple[int, str, str]]:  # noqa: ANN001
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Milestone.number, Milestone.title, Milestone.status)
            .where(Milestone.commitment_id == c_id).order_by(Milestone.number))]


def _durango_book(app, as_user):  # noqa: ANN001, ANN202
    """The Durango editor's client, the downloaded workbook and a Durango commitment's id."""
    client = as_user("durango@example.org")
    return client, _book(client), commitment_of_in(app, DURANGO)


def test_rows_without_an_id_add_milestones_and_commitments(local_app, as_user, data):
    client, book, c_id = _durango_book(local_app, as_user)
    ms, cs = book["milestones"], book["commitments"]
    before = _milestones_of(local_app, c_id)
    with local_app.app_context():
        plan_id = db.session.get(Commitment, c_id).plan_id
        last_event = db.session.scalar(select(func.max(AuditEvent.id)))
    ms.append([None, None, c_id, None, "Informe trimestral", None, None, datetime(2025, 3, 31),
               "not_started"])
    ms.append([None, None, c_id, None, "Informe anual", None, None, None, "in_progress", 50])
    _append(cs, plan_id=plan_id, title="Compromiso agregado desde la hoja",
            responsible="Contraloría")
    response = _upload(client, book, source=SOURCE)
    assert response.status_code == 200 and "3 registros cambiaron" in response.get_data(True)
    after = _milestones_of(local_app, c_id)
    top = before[-1][0]
    assert after == [*before, (top + 1, "Informe trimestral", "not_started"),
                     (top + 2, "Informe anual", "in_progress")]
    with local_app.app_context():
        added = db.session.scalars(select(Commitment).where(
            Commitment.title == "Compromiso agregado desde la hoja")).one()
        assert (added.plan_id, added.responsible, added.source) == (plan_id, "Contraloría",
                                                                    SOURCE)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_event)).all()
        assert sorted((e.action, e.entity) for e in events) == [
            ("create", "commitment"), ("create", "milestone"), ("create", "milestone")]
        assert {(e.actor, e.source, e.state_cve) for e in events} == {
            ("IDAIP Durango", SOURCE, DURANGO)}


def test_new_rows_are_checked_like_the_others(local_app, as_user, data):
    client, book, c_id = _durango_book(local_app, as_user)
    ms, ps = book["milestones"], book["plans"]
    veracruz = commitment_of_in(local_app, VERACRUZ)
    ms.append([None, None, veracruz, None, "Colada", None, None, None, "not_started"])
    ms.append([None, 3, c_id, None, "Con versión", None, None, None, "not_started"])
    ms.append([None, None, c_id, 1, "Número usado", None, None, None, "not_started"])
    ms.append([None, None, 999999, None, "Sin compromiso", None, None, None, "not_started"])
    ms.append([None, None, c_id, None, "Sin estado", None, None, None, None])
    ps.append([None, None, DURANGO, "Plan nuevo"])
    page = _upload_refused(local_app, client, book)
    last = ms.max_row
    _assert_problems(page, (
        ("milestones", last - 4, "commitment_id", "que usted no puede editar"),
        ("milestones", last - 3, "version", "debe quedar vacía en una fila nueva"),
        ("milestones", last - 2, "number", "el 1 ya está ocupado"),
        ("milestones", last - 1, "commitment_id", "no es el id de un registro"),
        ("milestones", last, "status", "es obligatorio"),
        ("plans", ps.max_row, "id", "se agrega con los formularios"),
    ))
