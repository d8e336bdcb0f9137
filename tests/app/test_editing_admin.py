"""Admin tools: revert a single change, restore a deleted record, the users page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import records
from app.accounts.service import find_user
from app.extensions import db
from app.models import AuditEvent, Commitment, StlMember, User
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, commitment_of

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://sesna.example.org/correccion.pdf"
EDIT = "https://idaip.example.org/acta.pdf"


def _last_event() -> AuditEvent:
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def _count(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def edited(local_app, as_user) -> dict:
    """The Durango editor changed a commitment twice (responsible, then status)."""
    client = as_user("durango@example.org")
    with local_app.app_context():
        c_id = commitment_of(DURANGO)
        c = db.session.get(Commitment, c_id)
        base = {"title": c.title, "source_url": EDIT}
    client.post(f"/edit/commitment/{c_id}", data={**base, "responsible": "Tesorería",
                                                  "version": "1"})
    with local_app.app_context():
        first = _last_event().id
    r = client.post(f"/edit/commitment/{c_id}", data={**base, "responsible": "Tesorería",
                                                      "status": "complete", "version": "2"})
    assert r.status_code == 302, r.get_data(True)
    with local_app.app_context():
        second = _last_event().id
    return {"c": c_id, "first": first, "second": second}


def test_only_an_admin_reverts(local_app, as_user, edited):
    url = f"/admin/events/{edited['second']}/revert"
    before = _count(local_app)
    assert as_user(None).get(url).headers["Location"].startswith("/login")
    for who in ("durango@example.org", "veracruz@example.org"):
        client = as_user(who)
        assert client.get(url).status_code == 403
        assert client.post(url, data={"source_url": SOURCE}).status_code == 403
    assert as_user(None).post(url, data={"source_url": SOURCE}).status_code == 302
    assert _count(local_app) == before


def test_revert_applies_the_before_values_as_a_new_event(local_app, as_user, edited):
    admin = as_user("admin@example.org")
    url = f"/admin/events/{edited['second']}/revert"
    page = admin.get(url).get_data(as_text=True)
    assert "Completo" in page and "csrf_token" in page
    assert "sin fuente no se guarda" in admin.post(url, data={}).get_data(as_text=True)
    assert admin.post(url, data={"source_url": SOURCE}).status_code == 302
    with local_app.app_context():
        c = db.session.get(Commitment, edited["c"])
        assert (c.status, c.responsible, c.source) == (None, "Tesorería", EDIT)
        event = _last_event()
        assert (event.action, event.actor, event.source) == ("update", "SESNA", SOURCE)
        assert event.summary == f"Revierte el cambio #{edited['second']}"
        assert event.after["status"] is None and event.before["status"] == "complete"
    # Reverting the first change now: its field was not changed since, so it applies.
    # But reverting the second again is refused: status changed since (by the revert).
    response = admin.post(url, data={"source_url": SOURCE})
    assert response.status_code == 409 and "status" in response.get_data(as_text=True)
    assert admin.post(f"/admin/events/{edited['first']}/revert",
                      data={"source_url": SOURCE}).status_code == 302
    with local_app.app_context():
        assert db.session.get(Commitment, edited["c"]).responsible is None


def test_delete_then_restore_from_the_history(local_app, as_user):
    editor, admin = as_user("durango@example.org"), as_user("admin@example.org")
    with local_app.app_context():
        member = db.session.scalars(select(StlMember).join(StlMember.exercise)
                                    .where(StlMember.exercise.has(state_cve=DURANGO))).first()
        m_id, name = member.id, member.name
    assert editor.post(f"/edit/member/{m_id}/delete",
                       data={"source_url": EDIT, "version": "1"}).status_code == 302
    desk = f"/edit/states/{DURANGO}"  # lists the members (the state page's history names it)
    assert "eliminado" in editor.get(desk).get_data(as_text=True)  # the message, shown once
    assert name not in editor.get(desk).get_data(as_text=True)
    with local_app.app_context():
        deleted = _last_event()
        assert deleted.action == "delete"
    # The admin sees "restaurar" on the state's recent changes, and restores.
    state_page = admin.get(f"/states/{DURANGO}").get_data(as_text=True)
    assert f"/admin/events/{deleted.id}/revert" in state_page
    assert "/admin/events/" not in editor.get(f"/states/{DURANGO}").get_data(as_text=True)
    assert admin.post(f"/admin/events/{deleted.id}/revert",
                      data={"source_url": SOURCE}).status_code == 302
    assert name in admin.get(desk).get_data(as_text=True)
    with local_app.app_context():
        assert _last_event().action == "restore"
        # The direct restore route: delete again, restore by table and id.
        m = db.session.get(StlMember, m_id)
        records.soft_delete(db.session, m, actor="test", source=EDIT)
        db.session.commit()
    url = f"/admin/records/stl_member/{m_id}/restore"
    assert editor.post(url, data={"source_url": SOURCE}).status_code == 403
    assert admin.post(url, data={"source_url": SOURCE}).status_code == 302
    with local_app.app_context():
        assert db.session.get(StlMember, m_id) is not None
        assert _last_event().source == SOURCE


def test_a_commitment_of_a_deleted_plan_is_restored_with_its_plan(local_app, as_user):
    admin = as_user("admin@example.org")
    with local_app.app_context():
        c = db.session.get(Commitment, commitment_of(DURANGO))
        c_id, plan = c.id, c.plan
        records.soft_delete(db.session, plan, actor="test", source=EDIT)
        db.session.commit()
        events = _count(local_app)
    response = admin.post(f"/admin/records/commitment/{c_id}/restore",
                          data={"source_url": SOURCE}, follow_redirects=True)
    assert "restáurelo primero" in response.get_data(as_text=True)
    assert _count(local_app) == events  # refused: nothing recorded
    assert admin.get(f"/commitments/{c_id}").status_code == 404
    with local_app.app_context():
        plan_id = db.session.get(Commitment, c_id, execution_options=records.WITH_DELETED).plan_id
    assert admin.post(f"/admin/records/action_plan/{plan_id}/restore",
                      data={"source_url": SOURCE}).status_code == 302
    assert admin.get(f"/commitments/{c_id}").status_code == 200  # back with its plan


def test_users_page(local_app, as_user):
    for who, expected in ((None, 302), ("durango@example.org", 403)):
        client = as_user(who)
        assert client.get("/admin/users").status_code == expected
        assert client.post("/admin/users", data={"email": "x@example.org"}).status_code == expected
    admin = as_user("admin@example.org")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "durango@example.org" in page and "IVAI Veracruz" in page
    new = {"email": "Nuevo@Example.org", "role": "editor", "state_cve": "30",
           "agency": "IVAI Veracruz", "password": PASSWORD, "confirm": PASSWORD}
    # The service's checks: an editor needs an agency; a short password is refused.
    assert "agency" in admin.post("/admin/users", data={**new, "agency": ""}).get_data(True)
    assert admin.post("/admin/users", data={**new, "password": "short",
                                            "confirm": "short"}).status_code == 200
    assert admin.post("/admin/users", data=new).status_code == 302
    assert "already has an account" in admin.post("/admin/users", data=new).get_data(True)
    with local_app.app_context():
        user = find_user(db.session, "nuevo@example.org")
        assert (user.role, user.state_cve, user.active) == ("editor", "30", True)
        assert user.password_hash.startswith("$argon2")
        u_id = user.id
        admin_id = find_user(db.session, "admin@example.org").id
    assert editing_fixtures.login(as_user(None), "nuevo@example.org").status_code == 302
    assert admin.post(f"/admin/users/{u_id}/active", data={"active": "0"}).status_code == 302
    with local_app.app_context():
        assert db.session.get(User, u_id).active is False
    assert editing_fixtures.login(as_user(None), "nuevo@example.org").status_code == 200
    assert admin.post(f"/admin/users/{u_id}/active", data={"active": "1"}).status_code == 302
    # An admin cannot lock themselves out.
    admin.post(f"/admin/users/{admin_id}/active", data={"active": "0"})
    with local_app.app_context():
        assert db.session.get(User, u_id).active is True
        assert db.session.get(User, admin_id).active is True
