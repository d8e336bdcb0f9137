"""Editing milestones: every role against every action, sources, history, conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import records
from app.accounts.service import find_user
from app.extensions import db
from app.models import AuditEvent, Evidence, Milestone
from tests.app import editing_fixtures
from tests.app.editing_fixtures import (
    DURANGO,
    REFUSED,
    VERACRUZ,
    add_milestone,
    assert_refused,
    commitment_of,
    last_event_id,
    refused_client,
    responses,
)

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/acta-2024-03.pdf"


def _milestone(state_cve: str, title: str = "Mesa de trabajo instalada") -> int:
    """Add a milestone to the state's first commitment as the admin; return its id."""
    admin = find_user(db.session, "admin@example.org")
    c = db.session.get(editing_fixtures.Commitment, commitment_of(state_cve))
    m = add_milestone(db.session, admin, c, {"title": title, "status": "not_started"},
                              source=SOURCE)
    db.session.commit()
    return m.id


@pytest.fixture
def ids(local_app) -> dict[str, int]:
    with local_app.app_context():
        return {
            "durango_c": commitment_of(DURANGO), "veracruz_c": commitment_of(VERACRUZ),
            "durango_m": _milestone(DURANGO), "veracruz_m": _milestone(VERACRUZ),
        }


def _snapshot(app) -> tuple:  # noqa: ANN001
    """Everything an edit could change: milestones, evidence, audit events."""
    with app.app_context():
        s = db.session
        rows = s.execute(select(Milestone.id, Milestone.title, Milestone.status, Milestone.version,
                                Milestone.deleted_at)
                         .execution_options(**records.WITH_DELETED).order_by(Milestone.id)).all()
        return (tuple(rows), s.scalar(select(func.count()).select_from(Evidence)),
                s.scalar(select(func.count()).select_from(AuditEvent)))


def _form(**extra: object) -> dict[str, object]:
    return {"title": "Hito de prueba", "status": "complete", "completed_on": "2024-03-01",
            "evidence_url": SOURCE, "evidence_title": "Acta", **extra}


def _actions(ids: dict[str, int], state: str) -> list[tuple[str, str, dict | None]]:
    c, m = ids[f"{state}_c"], ids[f"{state}_m"]
    return [
        ("get", f"/edit/milestone/new/{c}", None),
        ("post", f"/edit/milestone/new/{c}", _form()),
        ("get", f"/edit/milestone/{m}", None),
        ("post", f"/edit/milestone/{m}", _form(version="1")),
        ("post", f"/edit/milestone/{m}/delete", {"source_url": SOURCE, "version": "2"}),
    ]


@pytest.mark.parametrize("who, expected", REFUSED)
def test_refused_on_durango_records_and_nothing_changes(local_app, as_user, ids, who, expected):
    before = _snapshot(local_app)
    assert_refused(refused_client(local_app, as_user, who), _actions(ids, "durango"), expected)
    assert _snapshot(local_app) == before


@pytest.mark.parametrize("who", ["durango@example.org", "admin@example.org"])
def test_allowed_editors_do_every_action(local_app, as_user, ids, who):
    start = last_event_id(local_app)
    for method, url, response in responses(as_user(who), _actions(ids, "durango")):
        assert response.status_code in (200, 302), (method, url, response.status_code)
        if method == "post":
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with local_app.app_context():
        assert db.session.get(Milestone, ids["durango_m"]) is None  # hidden from reads
        m = db.session.get(Milestone, ids["durango_m"], execution_options=records.WITH_DELETED)
        assert m is not None and m.deleted_at is not None  # soft-deleted, still there
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > start).order_by(AuditEvent.id)
        ).all()
        agency = "IDAIP Durango" if who.startswith("durango") else "SESNA"
        assert {e.actor for e in events} == {agency}
        assert all(e.source == SOURCE and e.state_cve == DURANGO for e in events)
        assert [(e.action, e.entity) for e in events] == [
            ("create", "milestone"), ("create", "evidence"), ("update", "milestone"),
            ("create", "evidence"), ("delete", "milestone"),
            ("delete", "evidence"),  # the deleted milestone's evidence goes with it
        ]


def test_the_veracruz_editor_edits_veracruz_but_not_durango_by_tampering(local_app, as_user, ids):
    client = as_user("veracruz@example.org")
    assert client.post(f"/edit/milestone/{ids['veracruz_m']}",
                       data=_form(version="1")).status_code == 302
    before = _snapshot(local_app)
    # Ids smuggled into the form are ignored: the record is the one in the URL, and its state
    # comes from the database.
    tampered = _form(commitment_id=ids["durango_c"], milestone_id=ids["durango_m"],
                     state_cve=DURANGO, version="1")
    assert client.post(f"/edit/milestone/{ids['durango_m']}", data=tampered).status_code == 403
    response = client.post(f"/edit/milestone/new/{ids['veracruz_c']}", data=tampered)
    assert response.status_code == 302
    with local_app.app_context():
        durango = db.session.get(Milestone, ids["durango_m"])
        assert durango.title == "Mesa de trabajo instalada" and durango.version == 1
        newest = db.session.scalars(select(Milestone).order_by(Milestone.id.desc())).first()
        assert newest.commitment_id == ids["veracruz_c"]
    assert _snapshot(local_app)[0][:2] == before[0][:2]


def test_an_unsourced_change_is_refused_with_a_clear_message(local_app, as_user, ids):
    client = as_user("durango@example.org")
    before = _snapshot(local_app)
    unsourced = {"title": "Sin fuente", "status": "in_progress"}
    for url in (f"/edit/milestone/new/{ids['durango_c']}",
                f"/edit/milestone/{ids['durango_m']}"):
        response = client.post(url, data={**unsourced, "version": "1"})
        assert response.status_code == 200
        assert "sin fuente no se guarda" in response.get_data(as_text=True)
    response = client.post(f"/edit/milestone/{ids['durango_m']}/delete", data={"version": "1"})
    assert response.status_code == 302
    bad = client.post(f"/edit/milestone/{ids['durango_m']}",
                      data=_form(evidence_url="javascript:alert(1)", version="1"))
    assert "http://" in bad.get_data(as_text=True)
    assert _snapshot(local_app) == before
    # Saving the same values needs no source and records nothing.
    same = client.post(f"/edit/milestone/{ids['durango_m']}",
                       data={"title": "Mesa de trabajo instalada", "status": "not_started",
                             "version": "1"})
    assert same.status_code == 302
    assert _snapshot(local_app) == before


def test_progress_state_page_and_history_show_the_edit(local_app, as_user, ids):
    client = as_user("durango@example.org")
    c = ids["durango_c"]
    page = client.get(f"/commitments/{c}").get_data(as_text=True)
    assert 'value="0"' in page or "0 %" in page
    client.post(f"/edit/milestone/{ids['durango_m']}", data=_form(version="1"))
    page = client.get(f"/commitments/{c}").get_data(as_text=True)
    assert "IDAIP Durango" in page and "durango@example.org" not in page.split("</header>")[1]
    assert "acta-2024-03.pdf" in page and "Acta" in page
    # The history in words: the field's label, the status labels, no raw name or code.
    assert "<dt>Estado de avance</dt><dd>No iniciado → Completo</dd>" in page
    assert "not_started" not in page and "None" not in page
    anonymous = as_user(None)
    state = anonymous.get(f"/states/{DURANGO}").get_data(as_text=True)
    assert "Hito de prueba" in state or "Modificación" in state
    feed = anonymous.get(f"/commitments/{c}/feed.atom").get_data(as_text=True)
    assert "IDAIP Durango" in feed and "example.org" not in feed.replace("idaip.example.org", "")


def test_two_concurrent_edits_give_the_second_a_conflict_page(local_app, as_user, ids):
    first, second = as_user("durango@example.org"), as_user("admin@example.org")
    url = f"/edit/milestone/{ids['durango_m']}"
    assert 'name="version" type="hidden" value="1"' in first.get(url).get_data(as_text=True)
    second.get(url)
    assert first.post(url, data=_form(title="Primera versión", version="1")).status_code == 302
    response = second.post(url, data=_form(title="Segunda versión", version="1"))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Primera versión" in page and "Segunda versión" in page
    assert 'name="version" type="hidden" value="2"' in page
    with local_app.app_context():
        assert db.session.get(Milestone, ids["durango_m"]).title == "Primera versión"
    # Re-applying from the conflict page (now at the current version) saves.
    assert second.post(url, data=_form(title="Segunda versión", version="2")).status_code == 302
    with local_app.app_context():
        m = db.session.get(Milestone, ids["durango_m"])
        assert (m.title, m.version) == ("Segunda versión", 3)
