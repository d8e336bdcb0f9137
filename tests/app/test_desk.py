"""The agency's desk (/edit/states/CVE): what is overdue, due soon or needs an update, its
filters, sorting, JSON and downloads, and who may see it; the recycle bin; the plan's report."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app import records
from app.accounts.service import find_user
from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, Milestone
from app.plans.service import today
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, VERACRUZ, add_milestone

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/acta-sesion.pdf"
DESK = f"/edit/states/{DURANGO}"


def _durango_commitments() -> list[Commitment]:
    return list(db.session.scalars(
        select(Commitment).join(ActionPlan).where(ActionPlan.state_cve == DURANGO)
        .order_by(ActionPlan.published_date, ActionPlan.id, Commitment.number)))


def _age(commitment_id: int, days: int) -> None:
    """Make every recorded change of a commitment ``days`` old (and its updated_at)."""
    then = datetime.utcnow() - timedelta(days=days)  # noqa: DTZ003 (stored naive UTC)
    db.session.execute(update(AuditEvent).where(AuditEvent.commitment_id == commitment_id)
                       .values(at=then))
    db.session.execute(update(Commitment.__table__).where(Commitment.__table__.c.id
                                                          == commitment_id)
                       .values(updated_at=then))


@pytest.fixture
def desk_data(local_app) -> dict:
    """Durango: a milestone 10 days overdue on the first commitment, one due in 5 days on the
    second, one due in 60 days on the third; the fourth changed last 100 days ago."""
    with local_app.app_context():
        user = find_user(db.session, "durango@example.org")
        first, second, third, fourth = _durango_commitments()[:4]
        now = today()
        add_milestone(db.session, user, first, {
            "title": "Mesa de seguimiento con sociedad civil", "status": "in_progress",
            "due_date": now - timedelta(days=10)}, source=SOURCE)
        add_milestone(db.session, user, second, {
            "title": "Publicar el tablero de datos", "status": "not_started",
            "due_date": now + timedelta(days=5)}, source=SOURCE)
        add_milestone(db.session, user, third, {
            "title": "Informe final", "status": "not_started",
            "due_date": now + timedelta(days=60)}, source=SOURCE)
        db.session.flush()
        _age(fourth.id, 100)
        db.session.commit()
        return {"first": first.id, "second": second.id, "third": third.id,
                "fourth": fourth.id, "plan": first.plan_id, "fourth_plan": fourth.plan_id,
                "titles": {c.id: c.title for c in (first, second, third, fourth)}}


def _json(client, query: str = "") -> dict:  # noqa: ANN001
    response = client.get(f"{DESK}?format=json{query}")
    assert response.status_code == 200, response.get_data(True)
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_desk_shows_what_is_overdue_due_soon_and_stale(local_app, as_user, desk_data):
    client = as_user("durango@example.org")
    html = client.get(DESK).get_data(as_text=True)
    overdue = html.split('id="overdue-h"')[1].split("</section>")[0]
    soon = html.split('id="soon-h"')[1].split("</section>")[0]
    assert "Mesa de seguimiento con sociedad civil" in overdue
    assert "Publicar el tablero de datos" not in overdue
    assert "Publicar el tablero de datos" in soon and "Informe final" not in soon
    assert "Necesita actualización" in html
    # Dates in the reader's language (Spanish by default, English on request).
    due = today() - timedelta(days=10)
    assert str(due.year) in overdue and due.isoformat() in overdue  # <time datetime=...>
    english = client.get(f"{DESK}?lang=en").get_data(as_text=True)
    assert "Overdue milestones" in english

    doc = _json(client)
    assert doc["state"] == {"cve_ent": DURANGO, "name": "Durango"}
    assert doc["as_of"] == today().isoformat()
    [late] = doc["overdue_milestones"]
    assert (late["title"], late["days_late"], late["commitment_id"]) == (
        "Mesa de seguimiento con sociedad civil", 10, desk_data["first"])
    [soon_ms] = doc["due_soon_milestones"]
    assert (soon_ms["title"], soon_ms["days_left"]) == ("Publicar el tablero de datos", 5)
    rows = {c["id"]: c for c in doc["commitments"]}
    assert rows[desk_data["first"]]["overdue_milestones"] == 1
    assert rows[desk_data["first"]]["progress_state"] == "in_progress"
    assert rows[desk_data["first"]]["progress"] == 0.5
    assert rows[desk_data["second"]]["next_due"] == (today() + timedelta(days=5)).isoformat()
    assert rows[desk_data["fourth"]]["needs_update"] is True
    assert rows[desk_data["first"]]["needs_update"] is False
    # Every Durango commitment is on the desk, and no other state's.
    with local_app.app_context():
        assert set(rows) == {c.id for c in _durango_commitments()}
    plans = {p["id"]: p for p in doc["plans"]}
    assert plans[desk_data["plan"]]["overdue_milestones"] == 1
    assert plans[desk_data["fourth_plan"]]["needs_update"] >= 1
    assert plans[desk_data["plan"]]["report_url"] == f"/plans/{desk_data['plan']}/report"


def test_the_desk_filters(local_app, as_user, desk_data):
    client = as_user("durango@example.org")
    ids = [c["id"] for c in _json(client, "&due=overdue")["commitments"]]
    assert ids == [desk_data["first"]]
    ids = [c["id"] for c in _json(client, "&due=soon")["commitments"]]
    assert ids == [desk_data["second"]]
    stale = [c["id"] for c in _json(client, "&due=stale")["commitments"]]
    assert desk_data["fourth"] in stale and desk_data["first"] not in stale
    ids = [c["id"] for c in _json(client, "&status=off_track")["commitments"]]
    assert ids == [desk_data["first"]]
    ids = {c["id"] for c in _json(client, "&status=not_started")["commitments"]}
    assert ids == {desk_data["second"], desk_data["third"]}
    in_plan = _json(client, f"&plan={desk_data['plan']}")["commitments"]
    assert in_plan and all(c["plan_id"] == desk_data["plan"] for c in in_plan)
    # A plan of another state is a well-formed filter that selects nothing.
    with local_app.app_context():
        veracruz_plan = db.session.scalar(select(ActionPlan.id)
                                          .where(ActionPlan.state_cve == VERACRUZ))
    assert _json(client, f"&plan={veracruz_plan}")["commitments"] == []
    html = client.get(f"{DESK}?plan={veracruz_plan}").get_data(as_text=True)
    assert "Ningún compromiso coincide con estos filtros." in html
    # The filters are in the page's permalinks and the filter form keeps them.
    html = client.get(f"{DESK}?due=overdue&sort=-late").get_data(as_text=True)
    assert 'value="overdue" selected' in html
    assert "due=overdue&amp;sort=-late&amp;format=csv" in html
    for bad in ("due=late", "status=done", "plan=abc", "plan=0", "sort=size", "format=pdf"):
        response = client.get(f"{DESK}?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.get_data(as_text=True)


def test_the_desk_sorts(local_app, as_user, desk_data):
    client = as_user("durango@example.org")
    rows = _json(client, "&sort=-late")["commitments"]
    assert rows[0]["id"] == desk_data["first"]
    rows = _json(client, "&sort=due")["commitments"]
    dated = [r["next_due"] for r in rows if r["next_due"]]
    assert dated == sorted(dated) and len(dated) == 3
    assert rows[0]["id"] == desk_data["first"]  # the overdue one is due first
    assert all(r["next_due"] is None for r in rows[3:])  # unknown dates last
    rows = _json(client, "&sort=-due")["commitments"]
    assert rows[0]["id"] == desk_data["third"] and rows[3]["next_due"] is None
    rows = _json(client, "&sort=updated")["commitments"]
    assert rows[0]["id"] == desk_data["fourth"]  # the stalest first
    titles = [r["title"] for r in _json(client, "&sort=title")["commitments"]]
    from common.text import fold

    assert [fold(t) for t in titles] == sorted(fold(t) for t in titles)
    # The page's sortable headers link to the other direction.
    html = client.get(f"{DESK}?sort=due").get_data(as_text=True)
    assert 'aria-sort="ascending"' in html and "sort=-due" in html


def test_the_desk_downloads(local_app, as_user, desk_data):
    client = as_user("durango@example.org")
    response = client.get(f"{DESK}?format=csv&due=overdue")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == [desk_data["first"]]
    assert rows[0]["overdue_milestones"] == "1" and rows[0]["progress_state"] == "in_progress"
    xlsx = client.get(f"{DESK}?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_desk_is_the_editors_own(local_app, as_user, desk_data):
    for url in (DESK, f"{DESK}?format=json", f"{DESK}?format=csv"):
        assert as_user("veracruz@example.org").get(url).status_code == 403
        assert as_user(None).get(url).headers["Location"].startswith("/login")
        response = as_user("admin@example.org").get(url)
        assert response.status_code == 200
        assert "public" not in response.headers["Cache-Control"]  # never shared
    assert as_user("veracruz@example.org").get(f"/edit/states/{VERACRUZ}").status_code == 200


# --- The recycle bin -----------------------------------------------------------------------


def _delete(client, kind: str, obj_id: int, version: int = 1):  # noqa: ANN001, ANN202
    return client.post(f"/edit/{kind}/{obj_id}/delete",
                       data={"source_url": SOURCE, "version": str(version)})


def test_a_deleted_commitment_is_in_its_states_bin_and_restored(local_app, as_user):
    durango, veracruz, admin = (as_user(f"{who}@example.org")
                                for who in ("durango", "veracruz", "admin"))
    with local_app.app_context():
        c = _durango_commitments()[0]
        c_id, title = c.id, c.title
    response = _delete(durango, "commitment", c_id)
    assert response.status_code == 302
    page = durango.get(response.headers["Location"]).get_data(as_text=True)
    assert "en la papelera, desde donde se puede restaurar" in page
    assert "cambios recientes de la página del estado" not in page

    html = durango.get("/edit/recycle-bin").get_data(as_text=True)
    row = html.split(f'id="commitment-{c_id}"')[1].split("</tr>")[0]
    assert title[:40] in row and "Compromiso" in row and "Durango" in row
    assert "IDAIP Durango" in row and "idaip.example.org" in row  # who, and why (its source)
    assert "<time" in row
    # Scoped: the Veracruz editor sees none of it, and cannot restore it.
    assert f"commitment-{c_id}" not in veracruz.get("/edit/recycle-bin").get_data(as_text=True)
    assert veracruz.get(f"/edit/recycle-bin?state={DURANGO}").status_code == 403
    restore = f"/edit/recycle-bin/commitment/{c_id}/restore"
    assert veracruz.post(restore, data={"source_url": SOURCE}).status_code == 403
    assert as_user(None).post(restore, data={"source_url": SOURCE}).status_code == 302
    # The admin sees every state's, filtered by state and kind.
    assert f"commitment-{c_id}" in admin.get(
        f"/edit/recycle-bin?state={DURANGO}&kind=commitment").get_data(as_text=True)
    assert f"commitment-{c_id}" not in admin.get(
        f"/edit/recycle-bin?state={VERACRUZ}").get_data(as_text=True)
    assert f"commitment-{c_id}" not in admin.get(
        "/edit/recycle-bin?kind=milestone").get_data(as_text=True)
    assert admin.get("/edit/recycle-bin?kind=user").status_code == 400
    # Restoring needs a source; with one it goes through the audited restore.
    durango.post(restore, data={"source_url": ""})
    with local_app.app_context():
        assert db.session.get(Commitment, c_id) is None
    response = durango.post(restore, data={"source_url": SOURCE},
                            headers={"Referer": "http://localhost/edit/recycle-bin"})
    assert response.status_code == 302 and response.headers["Location"] == "/edit/recycle-bin"
    assert "restaurado" in durango.get("/edit/recycle-bin").get_data(as_text=True)
    with local_app.app_context():
        assert db.session.get(Commitment, c_id) is not None
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.entity, event.actor, event.source) == (
            "restore", "commitment", "IDAIP Durango", SOURCE)
    assert f"commitment-{c_id}" not in durango.get("/edit/recycle-bin").get_data(as_text=True)


def test_the_bin_restores_owners_first(local_app, as_user):
    durango = as_user("durango@example.org")
    with local_app.app_context():
        c = _durango_commitments()[0]
        c_id, plan = c.id, c.plan
        plan_id, plan_title = plan.id, plan.title
        records.soft_delete(db.session, plan, actor="IDAIP Durango", source=SOURCE)
        db.session.commit()
    html = durango.get("/edit/recycle-bin?kind=commitment").get_data(as_text=True)
    row = html.split(f'id="commitment-{c_id}"')[1].split("</tr>")[0]
    assert "restáurelo primero" in row
    durango.post(f"/edit/recycle-bin/commitment/{c_id}/restore", data={"source_url": SOURCE})
    page = durango.get("/edit/recycle-bin").get_data(as_text=True)
    assert f"pertenece a «{plan_title}», que está eliminado" in page.replace("&#34;", '"')
    with local_app.app_context():
        assert db.session.get(Commitment, c_id) is None
    durango.post(f"/edit/recycle-bin/action_plan/{plan_id}/restore",
                 data={"source_url": SOURCE})
    with local_app.app_context():  # the plan came back with what was deleted with it
        assert db.session.get(Commitment, c_id) is not None


def test_the_bin_sorts_and_pages(local_app, as_user):
    admin = as_user("admin@example.org")
    with local_app.app_context():
        first, second = _durango_commitments()[:2]
        records.soft_delete(db.session, first, actor="IDAIP Durango", source=SOURCE)
        db.session.commit()
        records.soft_delete(db.session, second, actor="IDAIP Durango", source=SOURCE)
        db.session.commit()
        ids = (first.id, second.id)
    html = admin.get("/edit/recycle-bin").get_data(as_text=True)  # newest first
    assert html.index(f"commitment-{ids[1]}") < html.index(f"commitment-{ids[0]}")
    html = admin.get("/edit/recycle-bin?sort=deleted").get_data(as_text=True)
    assert html.index(f"commitment-{ids[0]}") < html.index(f"commitment-{ids[1]}")
    assert admin.get("/edit/recycle-bin?sort=title").status_code == 200
    assert admin.get("/edit/recycle-bin?sort=nope").status_code == 400
    download = admin.get("/edit/recycle-bin?format=json&sort=deleted&kind=commitment").get_json()
    assert [int(r["id"]) for r in download[:2]] == list(ids)
    assert download[0]["table"] == "commitment" and download[0]["state"] == "Durango"
    assert download[0]["deleted_by"] == "IDAIP Durango" and download[0]["source"] == SOURCE
    past = admin.get("/edit/recycle-bin?page=50").get_data(as_text=True)
    assert "esta página no tiene filas" in past


# --- The report for the secretariat's session ----------------------------------------------


def test_the_report_lists_progress_milestones_evidence_and_changes_since(local_app, as_user):
    durango = as_user("durango@example.org")
    with local_app.app_context():
        user = find_user(db.session, "durango@example.org")
        c = _durango_commitments()[0]
        plan_id, plan_title = c.plan_id, c.plan.title
        # What the seeds recorded happened long ago.
        db.session.execute(update(AuditEvent).values(at=datetime(2020, 1, 1)))
        add_milestone(db.session, user, c, {
            "title": "Primera sesión del secretariado", "status": "complete",
            "completed_on": date(2024, 5, 20)}, source=SOURCE,
            evidence={"url": "https://idaip.example.org/minuta.pdf",
                      "title": "Minuta de la primera sesión", "dated": date(2024, 5, 20),
                      "proves": "Que la sesión se celebró"})
        add_milestone(db.session, user, c, {
            "title": "Portal de datos", "status": "not_started",
            "due_date": today() - timedelta(days=3)}, source=SOURCE)
        db.session.commit()
        m_id = db.session.scalar(select(Milestone.id).where(Milestone.title == "Portal de datos"))
    assert durango.post(f"/edit/milestone/{m_id}", data={
        "title": "Portal de datos", "status": "in_progress", "version": "1",
        "due_date": (today() - timedelta(days=3)).isoformat(),
        "source_url": SOURCE}).status_code == 302

    anonymous = as_user(None)
    response = anonymous.get(f"/plans/{plan_id}/report")
    assert response.status_code == 200
    assert response.headers.get("ETag")  # a public page, cached like the others
    html = response.get_data(as_text=True)
    assert plan_title in html and "Primera sesión del secretariado" in html
    assert "20 de mayo de 2024" in html  # completed, in the reader's language
    assert "Minuta de la primera sesión" in html and "Que la sesión se celebró" in html
    assert "Vencido" in html and "Portal de datos" in html
    changes = html.split('id="changes-h"')[1]
    assert "No iniciado → En proceso" in changes and "IDAIP Durango" in changes
    assert "Creación · Compromiso" not in changes  # the seeds' changes are older
    # An earlier date brings the seeds' changes in; a later one leaves everything out.
    older = anonymous.get(f"/plans/{plan_id}/report?since=2019-12-31").get_data(as_text=True)
    assert "Creación · Compromiso" in older.split('id="changes-h"')[1]
    later = (today() + timedelta(days=1)).isoformat()
    newer = anonymous.get(f"/plans/{plan_id}/report?since={later}").get_data(as_text=True)
    assert "Ningún cambio registrado desde esa fecha." in newer
    for bad in ("2024-02-30", "2024-5-1", "20240501", "hoy", "1800-01-01", "٢٠٢٤-٠١-٠١"):
        response = anonymous.get(f"/plans/{plan_id}/report", query_string={"since": bad})
        assert response.status_code == 400, bad
        assert "since" in response.get_data(as_text=True)
    assert anonymous.get("/plans/999999/report").status_code == 404
    english = anonymous.get(f"/plans/{plan_id}/report?lang=en").get_data(as_text=True)
    assert "May 20, 2024" in english


def test_the_report_as_pdf(local_app, as_user):
    with local_app.app_context():
        c = _durango_commitments()[0]
        plan_id, plan_title, c_title = c.plan_id, c.plan.title, c.title
    response = as_user(None).get(f"/plans/{plan_id}/report.pdf?since=2000-01-01")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert 'filename="informe-plan-' in response.headers["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = " ".join(text.split())
    # (The heading is in capitals by its style.)
    assert "informe para la sesión del secretariado técnico local" in flat.casefold()
    assert " ".join(plan_title.split())[:40] in flat
    assert " ".join(c_title.split())[:30] in flat
    assert "Iniciar sesión" not in flat  # the site's header is not printed
    assert as_user(None).get(f"/plans/{plan_id}/report.pdf?since=x").status_code == 400


def test_the_plan_page_and_the_desk_link_the_report(local_app, as_user):
    with local_app.app_context():
        plan_id = _durango_commitments()[0].plan_id
    assert f"/plans/{plan_id}/report" in as_user(None).get(f"/plans/{plan_id}").get_data(True)
    desk = as_user("durango@example.org").get(DESK).get_data(as_text=True)
    assert f"/plans/{plan_id}/report.pdf" in desk


# --- Forms people can fill -------------------------------------------------------------------


def test_edit_forms_size_their_inputs(local_app, as_user):
    with local_app.app_context():
        c_id = _durango_commitments()[0].id
    html = as_user("durango@example.org").get(f"/edit/milestone/new/{c_id}").get_data(True)
    assert 'rows="3"' in html  # the title's text area fits a title
    assert 'inputmode="decimal"' in html  # weight and progress: short number inputs
    assert 'type="date"' in html
    html = as_user("durango@example.org").get(f"/edit/commitment/{c_id}").get_data(True)
    assert 'rows="6"' in html  # problem and objective: longer texts
