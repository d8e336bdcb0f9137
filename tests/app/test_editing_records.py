"""Editing the other records an editor owns (exercise facts, secretariat members, plans,
commitments, evidence): every role against every action, sources, partial dates, conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import records
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    Evidence,
    LocalExercise,
    StlMember,
)
from tests.app import editing_fixtures
from tests.app.editing_fixtures import (
    DURANGO,
    REFUSED,
    VERACRUZ,
    assert_refused,
    last_event_id,
    refused_client,
    responses,
)

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/acta-2024-05.pdf"
MODELS = (LocalExercise, StlMember, ActionPlan, Commitment, Evidence)


def _ids_of(cve: str) -> dict[str, int]:
    s = db.session
    exercise = s.scalars(select(LocalExercise).where(LocalExercise.state_cve == cve)).one()
    plan = s.scalars(select(ActionPlan).where(ActionPlan.state_cve == cve)
                     .order_by(ActionPlan.id)).first()
    commitment = plan.commitments[0]
    evidence = records.create(s, Evidence, {
        "commitment": commitment, "title": "Minuta", "url": "https://example.org/minuta.pdf",
    }, actor="seed", source="https://example.org/minuta.pdf")
    s.commit()
    return {"exercise": exercise.id, "member": exercise.members[0].id, "plan": plan.id,
            "commitment": commitment.id, "evidence": evidence.id, "cve": cve}


@pytest.fixture
def ids(local_app) -> dict[str, dict]:
    with local_app.app_context():
        return {"durango": _ids_of(DURANGO), "veracruz": _ids_of(VERACRUZ)}


def _snapshot(app) -> tuple:  # noqa: ANN001
    """Every row an edit here could change (with versions and deletions) and the events."""
    with app.app_context():
        s = db.session
        rows = tuple(
            tuple(s.execute(select(m.id, m.version, m.deleted_at).order_by(m.id)
                            .execution_options(**records.WITH_DELETED)).all())
            for m in MODELS
        )
        return rows, s.scalar(select(func.count()).select_from(AuditEvent))


# A valid form for each kind (what a new record or an edit posts).
FORMS = {
    "exercise": {"declaration_date": "2016-05", "stl_installed_date": "2016-09-14",
                 "facilitator": "", "status_text": "Plan en ejecución",
                 "status_as_of": "2024", "stage": "plan"},
    "member": {"sector": "sociedad_civil", "name": "Colectivo Ciudadano de Durango"},
    "plan": {"title": "Segundo Plan de Acción Local", "period_start": "2024",
             "period_end": "2026", "published_date": "2024-06", "programme": "inai_cocreacion"},
    "commitment": {"title": "Presupuesto abierto municipal", "responsible": "Tesorería",
                   "status": "in_progress"},
    "evidence": {"url": "https://idaip.example.org/informe.pdf", "title": "Informe",
                 "dated": "2024-05-02", "proves": "La mesa sesionó"},
}
# What an edit changes besides (a member's name must stay unique in its sector).
EDITS = {"member": {"name": "Colectivo Ciudadano de Durango, A.C."}}
# Where a new record of each kind hangs from.
PARENTS = {"exercise": "cve", "member": "exercise", "plan": "cve", "commitment": "plan",
           "evidence": "commitment"}


def _actions(ids: dict, state: str) -> list[tuple[str, str, dict | None]]:
    own = ids[state]
    out: list[tuple[str, str, dict | None]] = [("get", f"/edit/states/{own['cve']}", None)]
    for kind, form in FORMS.items():
        edit = f"/edit/{kind}/{own[kind]}"
        out += [
            ("get", f"/edit/{kind}/new/{own[PARENTS[kind]]}", None),
            ("post", f"/edit/{kind}/new/{own[PARENTS[kind]]}", {**form, "source_url": SOURCE}),
            ("get", edit, None),
            ("post", edit, {**form, **EDITS.get(kind, {}), "source_url": SOURCE,
                            "version": "1"}),
        ]
    for kind in reversed(FORMS):  # what hangs from a record first
        out.append(("post", f"/edit/{kind}/{own[kind]}/delete",
                    {"source_url": SOURCE, "version": "2"}))
    return out


@pytest.mark.parametrize("who, expected", REFUSED)
def test_refused_on_durango_records_and_nothing_changes(local_app, as_user, ids, who, expected):
    before = _snapshot(local_app)
    assert_refused(refused_client(local_app, as_user, who), _actions(ids, "durango"), expected)
    assert _snapshot(local_app) == before


def test_tampered_ids_in_the_form_are_ignored(local_app, as_user, ids):
    """The Veracruz editor posts Durango ids in hidden fields on their own records' URLs:
    the records changed are those of the URL (Veracruz), never Durango's."""
    client = as_user("veracruz@example.org")
    d, v = ids["durango"], ids["veracruz"]
    before = _snapshot(local_app)
    tampered = {"state_cve": DURANGO, "plan_id": d["plan"], "exercise_id": d["exercise"],
                "commitment_id": d["commitment"], "source_url": SOURCE}
    # A new commitment on the Veracruz plan stays there, whatever plan_id says.
    assert client.post(f"/edit/commitment/new/{v['plan']}",
                       data={**FORMS["commitment"], **tampered}).status_code == 302
    # A new member lands in the Veracruz exercise.
    assert client.post(f"/edit/member/new/{v['exercise']}",
                       data={**FORMS["member"], **tampered}).status_code == 302
    # Evidence of a Veracruz commitment cannot point at a Durango milestone.
    response = client.post(f"/edit/evidence/new/{v['commitment']}",
                           data={**FORMS["evidence"], **tampered, "milestone_id": "999999"})
    assert response.status_code == 200 and "field-error" in response.get_data(True)
    with local_app.app_context():
        newest = db.session.scalars(select(Commitment).order_by(Commitment.id.desc())).first()
        assert newest.plan_id == v["plan"]
        member = db.session.scalars(select(StlMember).order_by(StlMember.id.desc())).first()
        assert member.exercise_id == v["exercise"]
    after = _snapshot(local_app)
    # Durango's rows are untouched (same ids, versions, deletions).
    for table_before, table_after in zip(before[0], after[0], strict=True):
        assert set(table_before) <= set(table_after)


@pytest.mark.parametrize("who", ["durango@example.org", "admin@example.org"])
def test_allowed_editors_do_every_action(local_app, as_user, ids, who):
    start = last_event_id(local_app)
    for method, url, response in responses(as_user(who), _actions(ids, "durango")):
        if url.startswith("/edit/exercise/new/"):  # one exercise per state: edit it
            assert response.headers["Location"] == f"/edit/exercise/{ids['durango']['exercise']}"
            continue
        if method == "post":
            assert response.status_code == 302, (url, response.get_data(True)[:3000])
        else:
            assert response.status_code == 200, url
    agency = "IDAIP Durango" if who.startswith("durango") else "SESNA"
    with local_app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
        assert {e.actor for e in events} == {agency}
        assert {e.state_cve for e in events} == {DURANGO}
        assert all(e.source in (SOURCE, FORMS["evidence"]["url"]) for e in events)
        kinds = {(e.entity, e.action) for e in events}
        for table in ("local_exercise", "stl_member", "action_plan", "commitment", "evidence"):
            assert (table, "update") in kinds and (table, "delete") in kinds, table
        for table in ("stl_member", "action_plan", "commitment", "evidence"):
            assert (table, "create") in kinds, table
        # Soft-deleted: hidden from reads, still in the database.
        for kind, model in zip(FORMS, MODELS, strict=True):
            obj_id = ids["durango"][kind]
            assert db.session.get(model, obj_id) is None
            assert db.session.get(model, obj_id, execution_options=records.WITH_DELETED)


def test_values_are_stored_as_typed(local_app, as_user, ids):
    client = as_user("durango@example.org")
    d = ids["durango"]
    response = client.post(f"/edit/exercise/{d['exercise']}",
                           data={**FORMS["exercise"], "source_url": SOURCE, "version": "1"})
    assert response.status_code == 302
    with local_app.app_context():
        ex = db.session.get(LocalExercise, d["exercise"])
        assert (ex.declaration_date, ex.stl_installed_date, ex.status_as_of, ex.stage,
                ex.facilitator, ex.source) == ("2016-05", "2016-09-14", "2024", "plan", None,
                                               SOURCE)
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.after["status_text"] == "Plan en ejecución"
    page = client.get(f"/states/{DURANGO}").get_data(as_text=True)
    assert "Plan en ejecución" in page and "2016-09-14" in page


@pytest.mark.parametrize("value", ["2016-13", "2016-02-30", "16", "2016/05", "mayo 2016"])
def test_partial_dates_are_checked(local_app, as_user, ids, value):
    client = as_user("durango@example.org")
    before = _snapshot(local_app)
    response = client.post(f"/edit/exercise/{ids['durango']['exercise']}", data={
        **FORMS["exercise"], "declaration_date": value, "source_url": SOURCE, "version": "1"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "AAAA" in page and "field-error" in page
    assert _snapshot(local_app) == before


def test_unsourced_changes_are_refused_and_equal_values_record_nothing(local_app, as_user, ids):
    client = as_user("durango@example.org")
    d = ids["durango"]
    before = _snapshot(local_app)
    response = client.post(f"/edit/commitment/{d['commitment']}",
                           data={**FORMS["commitment"], "version": "1"})
    assert response.status_code == 200 and "sin fuente no se guarda" in response.get_data(True)
    response = client.post(f"/edit/member/new/{d['exercise']}", data=FORMS["member"])
    assert response.status_code == 200 and "sin fuente no se guarda" in response.get_data(True)
    assert client.post(f"/edit/plan/{d['plan']}/delete", data={"version": "1"}).status_code == 302
    assert _snapshot(local_app) == before
    # The edit form as loaded, saved unchanged: no source needed, nothing recorded.
    page = client.get(f"/edit/member/{d['member']}")
    assert page.status_code == 200
    with local_app.app_context():
        m = db.session.get(StlMember, d["member"])
        same = {"sector": m.sector, "name": m.name, "version": "1"}
    assert client.post(f"/edit/member/{d['member']}", data=same).status_code == 302
    assert _snapshot(local_app) == before


def test_two_concurrent_edits_of_a_commitment_give_a_conflict_page(local_app, as_user, ids):
    first, second = as_user("durango@example.org"), as_user("admin@example.org")
    url = f"/edit/commitment/{ids['durango']['commitment']}"
    form = {**FORMS["commitment"], "source_url": SOURCE, "version": "1"}
    assert first.post(url, data={**form, "responsible": "Primera"}).status_code == 302
    response = second.post(url, data={**form, "responsible": "Segunda"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Primera" in page and "Segunda" in page and "En proceso" in page
    assert 'name="version" type="hidden" value="2"' in page
    assert second.post(url, data={**form, "responsible": "Segunda", "version": "2"}
                       ).status_code == 302
    with local_app.app_context():
        c = db.session.get(Commitment, ids["durango"]["commitment"])
        assert (c.responsible, c.version) == ("Segunda", 3)


def test_new_plan_and_exercise(local_app, as_user, ids):
    client = as_user("durango@example.org")
    response = client.post(f"/edit/plan/new/{DURANGO}",
                           data={**FORMS["plan"], "source_url": SOURCE})
    assert response.status_code == 302
    with local_app.app_context():
        plan = db.session.scalars(select(ActionPlan).order_by(ActionPlan.id.desc())).first()
        assert (plan.key, plan.state_cve, plan.scope, plan.source) == (
            "local-10-2024-2026", DURANGO, "local", SOURCE)
        # A soft-deleted exercise is restored, not duplicated.
        ex = db.session.get(LocalExercise, ids["durango"]["exercise"])
        records.soft_delete(db.session, ex, actor="test", source=SOURCE)
        # A state with no exercise row at all (removed here) gets one from the form.
        db.session.delete(db.session.scalars(
            select(LocalExercise).where(LocalExercise.state_cve == "01")).one())
        db.session.commit()
    data = {**FORMS["exercise"], "source_url": SOURCE}
    assert client.post(f"/edit/exercise/new/{DURANGO}", data=data).status_code == 404
    admin = as_user("admin@example.org")
    assert admin.post("/edit/exercise/new/01", data=data).status_code == 302
    with local_app.app_context():
        created = db.session.scalars(
            select(LocalExercise).where(LocalExercise.state_cve == "01")).one()
        assert (created.stage, created.source, created.version) == ("plan", SOURCE, 1)


def test_a_duplicate_member_is_refused_with_a_message(local_app, as_user, ids):
    client = as_user("durango@example.org")
    d = ids["durango"]
    url = f"/edit/member/new/{d['exercise']}"
    assert client.post(url, data={**FORMS["member"], "source_url": SOURCE}).status_code == 302
    before = _snapshot(local_app)
    response = client.post(url, data={**FORMS["member"], "source_url": SOURCE})
    assert response.status_code == 409
    assert "Ya existe un registro con esos datos" in response.get_data(as_text=True)
    assert _snapshot(local_app) == before


def test_national_plans_are_the_admins(local_app, as_user):
    from app.cli import run_loaders

    with local_app.app_context():
        run_loaders(["national"])
        c = db.session.scalars(select(Commitment).join(ActionPlan)
                               .where(ActionPlan.scope == "national")).first()
        c_id, plan_id = c.id, c.plan_id
    before = _snapshot(local_app)
    editor = as_user("durango@example.org")
    form = {**FORMS["commitment"], "source_url": SOURCE, "version": "1"}
    assert editor.get(f"/edit/commitment/{c_id}").status_code == 403
    assert editor.post(f"/edit/commitment/{c_id}", data=form).status_code == 403
    assert editor.post(f"/edit/commitment/new/{plan_id}", data=form).status_code == 403
    assert _snapshot(local_app) == before
    admin = as_user("admin@example.org")
    assert admin.post(f"/edit/commitment/{c_id}", data=form).status_code == 302
    with local_app.app_context():
        assert db.session.get(Commitment, c_id).responsible == "Tesorería"
