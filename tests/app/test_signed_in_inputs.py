"""The input policy behind the sign-in (issue 19): ids, numbers and text as an editor or an
admin sends them, never a 500; the edge (control characters, long addresses); the error page
that never fails; routing's redirects; headers and cached downloads."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select, text

from app.accounts.service import find_user
from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, DataRevision, Milestone, User
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, add_milestone, commitment_of, login

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/acta.pdf"
HUGE = "99999999999999999999"


def _site_page(response) -> bool:  # noqa: ANN001
    return 'class="site-header"' in response.get_data(as_text=True)


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- Ids in paths --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["durango@example.org", "admin@example.org"])
def test_bad_ids_in_signed_in_paths_are_400_or_404(local_app, as_user, who):
    client = as_user(who)
    paths = [f"/edit/{kind}/new/{key}" for kind in ("commitment", "member", "evidence", "plan",
                                                    "exercise")
             for key in (HUGE, "2147483648", "2147483647", "%C2%B2", "%00", "0", "-1", "1.0",
                         "%D9%A1", "1_0", "%20%31", "1e3", "%EF%BC%91", "..%2F..")]
    paths += [f"/edit/commitment/{HUGE}", "/edit/commitment/2147483648",
              f"/edit/milestone/{HUGE}", f"/edit/milestone/new/{HUGE}",
              "/edit/milestone/new/2147483648", f"/admin/events/{HUGE}/revert",
              f"/edit/states/{HUGE}", "/edit/states/%C2%B2%C2%B2", "/edit/states/%00%00"]
    failures = []
    for path in paths:
        for method in ("get", "post"):
            response = getattr(client, method)(path, data={"title": "x", "source_url": SOURCE})
            allowed = (400, 403, 404) if who.startswith("durango") else (400, 404)
            if response.status_code not in allowed or not _site_page(response):
                failures.append((method, path, response.status_code))
    assert failures == []


# --- Numbers: no NaN, sNaN or Infinity ----------------------------------------------------------


@pytest.mark.parametrize("weight", ["NaN", "sNaN", "-sNaN", "Infinity", "-Infinity", "inf",
                                    "1e999999", HUGE, "-1", "0"])
def test_a_milestone_weight_that_is_not_a_number_is_refused(local_app, as_user, weight):
    client = as_user("durango@example.org")
    with local_app.app_context():
        c = commitment_of(DURANGO)
    before = _count(local_app, Milestone)
    response = client.post(f"/edit/milestone/new/{c}", data={
        "title": "Hito", "status": "not_started", "weight": weight, "source_url": SOURCE})
    assert response.status_code in (200, 400, 422), response.status_code
    assert _site_page(response) and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert _count(local_app, Milestone) == before


# --- Spreadsheet cells with numbers no column holds ---------------------------------------------


def _upload(client: FlaskClient, content: bytes, name: str):  # noqa: ANN202
    return client.post(f"/edit/states/{DURANGO}/upload",
                       data={"file": (io.BytesIO(content), name), "source_url": SOURCE},
                       content_type="multipart/form-data")


def _download(client: FlaskClient, sheet: str) -> list[list[str]]:
    body = client.get(f"/edit/states/{DURANGO}/records.csv?sheet={sheet}").data.decode()
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _xlsx(sheet: str, rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _numbers_of(value: str) -> list[object]:
    digits = value.lstrip("-")
    return [value, int(value)] if digits.isascii() and digits.isdigit() else [value]


@pytest.mark.parametrize("sheet, column", [
    ("plans", "id"), ("plans", "period_start"), ("plans", "commitments_published"),
    ("commitments", "id"), ("commitments", "plan_id"), ("commitments", "number"),
    ("milestones", "commitment_id"), ("milestones", "version"), ("milestones", "weight"),
])
@pytest.mark.parametrize("value", [HUGE, "-2147483648", "1e400", "NaN", "²", "١٢"])
def test_spreadsheet_cells_no_column_holds_are_refused(local_app, as_user, sheet, column, value):
    """Each refused with the site's page naming the column; nothing stored (CSV and XLSX)."""
    client = as_user("durango@example.org")
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        add_milestone(db.session, admin, c, {"title": "Hito", "status": "not_started",
                                                     "due_date": date(2024, 1, 1)}, source=SOURCE)
        db.session.commit()
    rows = _download(client, sheet)
    header = rows[0]
    edited = [list(rows[1])]
    if column == "id":  # a new row with a number for an id: as if it were a recorded one
        edited.append([""] * len(header))
        edited[-1][header.index("title")] = "Nuevo"
        if "plan_id" in header:
            edited[-1][header.index("plan_id")] = rows[1][header.index("plan_id")]
        edited[-1][0] = value
    else:
        edited[0][header.index(column)] = value
    events = _count(local_app, AuditEvent)
    for content, name in [(_csv([header, *edited]), f"{sheet}.csv"),
                          *[(_xlsx(sheet, [header, *[[v if i != header.index(column) else cell
                                                      for i, v in enumerate(row)]
                                                     for row in edited]]), f"{sheet}.xlsx")
                            for cell in _numbers_of(value) if column != "id"]]:
        response = _upload(client, content, name)
        page = response.get_data(as_text=True)
        assert response.status_code in (400, 422), (name, response.status_code)
        assert _site_page(response) and column in page, name
    assert _count(local_app, AuditEvent) == events


# --- The edge: control characters anywhere are the site's 400 ---------------------------------


CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ufffe", "a\x00b", "x\x08y"]


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_the_sign_in_email_is_a_400(local_app, control):
    client = local_app.test_client()
    for email in (f"durango@example.org{control}", f"{control}durango@example.org"):
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 400 and _site_page(response)
        assert "«<code>email</code>»" in response.get_data(as_text=True)
        assert PASSWORD not in response.get_data(as_text=True)
    response = client.post("/login", data={"email": "durango@example.org",
                                           "password": PASSWORD + control})
    assert response.status_code == 400 and PASSWORD not in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # nobody signed in


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x0c"])
def test_a_control_character_in_any_form_field_or_argument_is_a_400(local_app, as_user,
                                                                     control):
    client = as_user("durango@example.org")
    with local_app.app_context():
        c = commitment_of(DURANGO)
        plan = db.session.scalars(select(ActionPlan.id).where(
            ActionPlan.state_cve == DURANGO)).first()
    events = _count(local_app, AuditEvent)
    posts = [
        (f"/edit/milestone/new/{c}", {"title": f"Hito{control}", "status": "not_started",
                                              "source_url": SOURCE}),
        (f"/edit/commitment/{c}", {"title": "T", "objective": f"x{control}y", "version": "1",
                                   "source_url": SOURCE}),
        (f"/edit/plan/{plan}", {"title": "Plan", "notes": control, "source_url": SOURCE}),
        (f"/edit/member/new/{plan}", {"sector": "government", "name": control,
                                      "source_url": SOURCE}),
        ("/account/password", {"current": PASSWORD, "new": f"new password {control}x",
                               "confirm": f"new password {control}x"}),
        (f"/edit/states/{DURANGO}/upload", {"source_url": f"https://x.example/{control}"}),
        (f"/edit/commitment/{c}", {f"title{control}": "T", "version": "1"}),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 400 and _site_page(response), url
    gets = [f"/edit/states/{DURANGO}/records.csv?sheet=plans{control}",
            f"/edit/states/{DURANGO}?x={control}", f"/commitments?q=a{control}",
            f"/edit/commitment/{c}?{control}=1", f"/states/{DURANGO}?utm={control}"]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 400 and _site_page(response), url
    assert _count(local_app, AuditEvent) == events
    assert _signed_in_still(client)


def _signed_in_still(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def test_tab_and_line_breaks_are_text(local_app, as_user):
    """A textarea's line breaks (CR LF) and a tab are kept: they are not refused."""
    client = as_user("durango@example.org")
    with local_app.app_context():
        c = commitment_of(DURANGO)
    response = client.post(f"/edit/milestone/new/{c}", data={
        "title": "Primera línea\r\nSegunda\tcon tabulador", "status": "not_started",
        "source_url": SOURCE})
    assert response.status_code == 302


# --- The request line: the site's 414 ------------------------------------------------------------


def test_a_long_address_is_the_sites_414(local_app):
    client = local_app.test_client()
    response = client.get("/commitments?q=" + "a" * 5000)
    assert response.status_code == 414 and _site_page(response)
    assert "demasiado larga" in response.get_data(as_text=True)
    english = client.get("/commitments?lang=en&q=" + "a" * 5000)
    assert english.status_code == 414 and "too long" in english.get_data(as_text=True)
    assert client.get("/commitments?q=" + "a" * 100).status_code == 200
    assert client.get("/" + "x" * 5000).status_code == 414


# --- The error page never fails --------------------------------------------------------------


def test_the_error_page_survives_a_failed_transaction(local_app, as_user):
    """An unexpected error after a statement failed (PostgreSQL then refuses every statement
    of the transaction, the user's too): the site's 500 page, signed-in header included."""
    local_app.config["PROPAGATE_EXCEPTIONS"] = False

    @local_app.get("/test-boom-in-a-failed-transaction")
    def boom() -> str:
        with contextlib.suppress(Exception):
            db.session.execute(text("SELECT CAST('x' AS INTEGER) + no_such_column"))
        raise RuntimeError("secret detail")

    client = as_user("durango@example.org")
    response = client.get("/test-boom-in-a-failed-transaction")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and _site_page(response)
    assert "Error interno" in html and "secret detail" not in html
    assert _signed_in_still(client)


def test_when_the_error_page_itself_fails_a_plain_page_is_sent(local_app, monkeypatch):
    local_app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the template engine is broken")

    monkeypatch.setattr("app.errors.render_template", broken)
    response = local_app.test_client().get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "Error 404" in html and "Inicio" in html
    assert "template engine" not in html


# --- Routing's redirects, framing, no-store ------------------------------------------------


def test_trailing_slash_redirects_stay_on_this_site(local_app):
    client = local_app.test_client()
    for path in ("/states", "/metric", "/states?x=1"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 308, path
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "evil" not in location
    assert client.get("/states?lang=en").headers["Location"] == "/states/?lang=en"


def test_the_embed_may_be_framed_and_nothing_else_may(local_app):
    client = local_app.test_client()
    for _ in range(2):  # rendered, then from the cache
        embed = client.get("/embed/map")
        assert embed.status_code == 200
        assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in embed.headers
    page = client.get("/map")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_sign_in_and_account_pages_are_no_store(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    from app.models import Base

    with app.app_context():
        Base.metadata.create_all(db.engine)
    client = app.test_client()
    for _ in range(2):
        response = client.get("/login")
        assert response.headers["Cache-Control"] == "no-store"
        assert "public" not in response.headers["Cache-Control"]
    assert client.get("/account/reset/x").headers["Cache-Control"] == "no-store"


# --- Costly downloads are built once per data revision -------------------------------------------


def test_data_downloads_are_built_once_per_revision(local_app, as_user, tmp_path, monkeypatch):
    from app.opendata import service as opendata

    local_app.config["DOWNLOAD_CACHE_DIR"] = str(tmp_path / "downloads")
    builds: list[tuple[str, str]] = []
    real = opendata.table_bytes

    def counted(session, table, fmt):  # noqa: ANN001, ANN202
        builds.append((table.name, fmt))
        return real(session, table, fmt)

    monkeypatch.setattr(opendata, "table_bytes", counted)
    client = local_app.test_client()
    first = client.get("/data/audit_event.xlsx")
    assert first.status_code == 200 and first.headers["Content-Disposition"].endswith(
        'filename="audit_event.xlsx"')
    for query in ("", "?x=1", "?x=2", "?utm_source=a&b=c", "?lang=en"):
        response = client.get(f"/data/audit_event.xlsx{query}")
        assert response.status_code == 200 and response.data == first.data
    assert builds == [("audit_event", "xlsx")]
    assert len(list((tmp_path / "downloads").glob("audit_event.*.xlsx"))) == 1
    # A change through the audited path: the next download is built again, once.
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        add_milestone(db.session, admin, c, {"title": "Hito nuevo",
                                                     "status": "not_started"}, source=SOURCE)
        db.session.commit()
    after = client.get("/data/audit_event.xlsx?x=3")
    assert after.data != first.data and builds[-1] == ("audit_event", "xlsx")
    assert client.get("/data/audit_event.xlsx?x=4").data == after.data
    assert builds.count(("audit_event", "xlsx")) == 2
    assert len(list((tmp_path / "downloads").glob("audit_event.*.xlsx"))) == 1  # old one gone
    # JSON and CSV likewise, and the file equals a fresh build.
    assert client.get("/data/audit_event.json").data == client.get("/data/audit_event.json?y").data
    with local_app.app_context():
        revision = db.session.scalar(select(func.max(DataRevision.revision)))
        assert revision
        fresh = real(db.session, opendata.public_table("audit_event"), "csv")
    assert client.get("/data/audit_event.csv").data == fresh


def test_user_ids_in_admin_routes_are_bounded(local_app, as_user):
    client = as_user("admin@example.org")
    for suffix in ("active", "sign-out", "reset"):
        for ident in (HUGE, "2147483648", "0", "%C2%B2"):
            response = client.post(f"/admin/users/{ident}/{suffix}", data={"active": "0"})
            assert response.status_code in (400, 404), (suffix, ident)
    with local_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)
                                 .where(User.active.is_(False))) == 1
    assert login(local_app.test_client(), "veracruz@example.org").status_code == 302


def test_going_back_after_a_restore_stays_on_this_site(local_app, as_user):
    client = as_user("admin@example.org")
    with local_app.app_context():
        plan = db.session.scalars(select(ActionPlan.id)).first()
    url = f"/admin/records/action_plan/{plan}/restore"
    cases = [("http://localhost/states/10?x=1", "/states/10?x=1"),
             ("http://127.0.0.1:5000/plans", "/plans"),  # SITE_URL
             ("http://evil.example/states/10", "/"), ("http://localhost//evil.example", "/"),
             ("http://localhost/%09/evil.example", "/"), ("javascript:alert(1)", "/"), ("", "/")]
    for referrer, expected in cases:
        response = client.post(url, data={"source_url": SOURCE},
                               headers={"Referer": referrer} if referrer else {})
        assert response.status_code == 302 and response.headers["Location"] == expected, (
            referrer, response.headers.get("Location"))
