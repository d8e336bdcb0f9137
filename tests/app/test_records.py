"""The audited write path: events with before/after and source, versions, soft deletes,
one revision bump per transaction, and the feeds' state and commitment of every event."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import records
from app.cli import run_loaders
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    DataRevision,
    Evidence,
    Institution,
    Milestone,
    User,
)
from app.records import VersionConflict

SOURCE = "https://example.org/informe-2019.pdf"


def _events(*where) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.id)))


def _count(model, *where) -> int:
    """Rows stored, soft-deleted ones included (reading hides them unless asked)."""
    stmt = select(func.count()).select_from(model).where(*where)
    return db.session.scalar(stmt.execution_options(**records.WITH_DELETED))


def _revision(dataset: str) -> int:
    return DataRevision.current(db.session, dataset)[0]


def _plan(scope: str = "local", state: str | None = "10", key: str = "local-10-2017"):
    return records.create(
        db.session, ActionPlan,
        {"key": key, "scope": scope, "state_cve": state, "title": "Plan de prueba",
         "source": SOURCE},
        actor="seed", source=SOURCE, summary="Plan de prueba",
    )


def _commitment(plan: ActionPlan, number: int = 1) -> Commitment:
    return records.create(
        db.session, Commitment,
        {"plan_id": plan.id, "number": number, "title": f"Compromiso {number}",
         "source": SOURCE},
        actor="seed", source=SOURCE,
    )


@pytest.fixture
def ctx(app):
    """An app context over a database with the 32 states (events refer to them)."""
    with app.app_context():
        run_loaders(["states"])
        yield app


def test_create_records_the_row_with_its_source_state_and_commitment(ctx):
    plan = _plan()
    commitment = _commitment(plan)
    milestone = records.create(
        db.session, Milestone,
        {"commitment": commitment, "number": 1, "title": "Hito", "start_date": date(2020, 1, 2)},
        actor="seed", source="Plan de acción local, p. 4", summary="Hito 1",
    )
    assert milestone.id is not None and milestone.version == 1 and milestone.deleted_at is None
    event = _events(AuditEvent.entity == "milestone")[0]
    assert (event.action, event.actor, event.entity_id) == ("create", "seed", str(milestone.id))
    assert event.source == "Plan de acción local, p. 4" and event.summary == "Hito 1"
    assert (event.state_cve, event.commitment_id) == ("10", commitment.id)
    assert event.before is None
    # JSON-safe: the date as ISO text; the surrogate key and bookkeeping left out.
    assert event.after == {
        "commitment_id": commitment.id, "number": 1, "title": "Hito",
        "start_date": "2020-01-02", "status": "not_started",
    }
    commitment_event = _events(AuditEvent.entity == "commitment")[0]
    assert commitment_event.commitment_id == commitment.id  # a commitment is its own
    assert commitment_event.state_cve == "10"
    plan_event = _events(AuditEvent.entity == "action_plan")[0]
    assert (plan_event.state_cve, plan_event.commitment_id) == ("10", None)
    db.session.commit()
    assert _count(AuditEvent, AuditEvent.before.is_(None)) == _count(AuditEvent)


def test_evidence_is_filed_under_its_commitment_directly_or_through_its_milestone(ctx):
    plan = _plan("national", None, "mx-9")
    commitment = _commitment(plan)
    milestone = records.create(
        db.session, Milestone, {"commitment_id": commitment.id, "number": 1, "title": "Hito"},
        actor="seed", source=SOURCE,
    )
    via_milestone = records.create(
        db.session, Evidence,
        {"milestone_id": milestone.id, "title": "Acta", "url": "https://example.org/acta"},
        actor="seed", source=SOURCE,
    )
    direct = records.create(
        db.session, Evidence,
        {"commitment_id": commitment.id, "title": "Informe", "file_name": "informe.pdf",
         "file_size": 3, "file_type": "application/pdf", "file_sha256": "0" * 64},
        actor="seed", source=SOURCE,
    )
    for evidence in (via_milestone, direct):
        event = _events(AuditEvent.entity == "evidence", AuditEvent.entity_id == str(evidence.id))
        assert event[0].commitment_id == commitment.id
        assert event[0].state_cve is None  # a national plan belongs to no state
    records.update(db.session, via_milestone, {"title": "Acta firmada"}, actor="import",
                   source=SOURCE)
    assert _events(AuditEvent.action == "update")[0].commitment_id == commitment.id


def test_update_records_what_changed_and_bumps_the_version(ctx):
    commitment = _commitment(_plan())
    changed = records.update(
        db.session, commitment, {"title": "Título corregido", "status": None},
        actor="Instituto Duranguense de Acceso a la Información", source=SOURCE,
    )
    assert changed and commitment.version == 2
    event = _events(AuditEvent.action == "update")[0]
    assert event.before == {"title": "Compromiso 1"}
    assert event.after == {"title": "Título corregido"}
    assert event.actor == "Instituto Duranguense de Acceso a la Información"
    assert (event.source, event.commitment_id) == (SOURCE, commitment.id)


def test_nothing_changed_records_nothing_and_bumps_nothing(ctx):
    commitment = _commitment(_plan())
    db.session.commit()
    events, revision = _count(AuditEvent), _revision("local")
    assert not records.update(
        db.session, commitment, {"title": "Compromiso 1"}, actor="seed", source=SOURCE
    )
    db.session.commit()
    assert commitment.version == 1
    assert (_count(AuditEvent), _revision("local")) == (events, revision)


def test_upsert_creates_updates_and_leaves_equal_rows_alone(ctx):
    key, values = {"key": "federal:fed:asf"}, {"name": "ASF", "level": "federal", "kind": "x"}
    kwargs = {"actor": "import", "source": "BSO.csv"}
    obj, outcome = records.upsert(db.session, Institution, key, values, **kwargs)
    assert outcome == "created" and obj.id is not None
    assert records.upsert(db.session, Institution, key, values, **kwargs) == (obj, "unchanged")
    renamed = {**values, "name": "Auditoría Superior de la Federación"}
    assert records.upsert(db.session, Institution, key, renamed, **kwargs) == (obj, "updated")
    actions = [(e.action, e.entity, e.source) for e in _events(AuditEvent.entity == "institution")]
    assert actions == [("create", "institution", "BSO.csv"), ("update", "institution", "BSO.csv")]
    assert obj.version == 2


def test_an_expected_version_that_is_not_the_rows_is_a_conflict(ctx):
    commitment = _commitment(_plan())
    records.update(db.session, commitment, {"title": "Segunda"}, actor="seed", source=SOURCE)
    with pytest.raises(VersionConflict) as caught:
        records.update(
            db.session, commitment, {"title": "Tercera"}, actor="seed", source=SOURCE,
            expected_version=1,
        )
    assert (caught.value.obj, caught.value.expected, caught.value.current) == (commitment, 1, 2)
    assert commitment.title == "Segunda"
    with pytest.raises(VersionConflict):
        records.soft_delete(db.session, commitment, actor="seed", source=SOURCE,
                            expected_version=3)
    assert records.update(
        db.session, commitment, {"title": "Tercera"}, actor="seed", source=SOURCE,
        expected_version=2,
    )
    assert commitment.version == 3


@pytest.mark.own_database("a second session commits in a transaction of its own")
def test_a_row_changed_by_another_transaction_is_not_overwritten(ctx):
    commitment = _commitment(_plan())
    db.session.commit()
    with Session(db.engine) as other:
        same = other.get(Commitment, commitment.id)
        records.update(other, same, {"title": "Otra edición"}, actor="seed", source=SOURCE)
        other.commit()
    # This session still holds version 1: the UPDATE, at the next flush, matches no row.
    with pytest.raises(StaleDataError):
        records.update(db.session, commitment, {"title": "Mía"}, actor="seed", source=SOURCE)
        db.session.flush()
    db.session.rollback()


def test_soft_delete_hides_the_row_and_restore_brings_it_back(ctx):
    plan = _plan()
    first, second = _commitment(plan, 1), _commitment(plan, 2)
    assert records.soft_delete(db.session, first, actor="seed", source=SOURCE, summary="Baja")
    assert first.deleted_at is not None and first.version == 2
    assert not records.soft_delete(db.session, first, actor="seed", source=SOURCE)
    live = db.session.scalars(select(Commitment.id).where(records.live(Commitment))).all()
    assert live == [second.id]
    assert db.session.scalars(select(Commitment.id)).all() == [second.id]  # hidden anyway
    assert _count(Commitment) == 2  # still stored
    deleted = _events(AuditEvent.action == "delete")[0]
    assert deleted.before == {"deleted_at": None}
    assert deleted.after == {"deleted_at": first.deleted_at.isoformat()}
    assert deleted.commitment_id == first.id and deleted.summary == "Baja"

    assert records.restore(db.session, first, actor="seed", source=SOURCE, expected_version=2)
    assert first.deleted_at is None and first.version == 3
    assert not records.restore(db.session, first, actor="seed", source=SOURCE)
    restored = _events(AuditEvent.action == "restore")[0]
    assert restored.before == deleted.after and restored.after == {"deleted_at": None}
    db.session.commit()  # the database accepts the action 'restore'
    assert _count(Commitment, records.live(Commitment)) == 2


def test_the_revision_goes_up_once_per_transaction_and_dataset(ctx):
    db.session.commit()
    local, national = _revision("local"), _revision("national")
    plan = _plan()
    for number in range(1, 4):
        _commitment(plan, number)
    _plan("national", None, "mx-1")
    db.session.commit()
    assert (_revision("local"), _revision("national")) == (local + 1, national + 1)

    records.update(db.session, plan, {"title": "Otro título"}, actor="seed", source=SOURCE)
    records.update(db.session, plan, {"title": "Otro más"}, actor="seed", source=SOURCE)
    db.session.commit()
    assert (_revision("local"), _revision("national")) == (local + 2, national + 1)

    # A savepoint rolled back takes its bump with it; the next change bumps again.
    savepoint = db.session.begin_nested()
    records.update(db.session, plan, {"title": "Descartado"}, actor="seed", source=SOURCE)
    savepoint.rollback()
    records.update(db.session, plan, {"title": "Final"}, actor="seed", source=SOURCE)
    db.session.commit()
    assert _revision("local") == local + 3
    # touch: a change made outside these functions (the geodata layers).
    records.touch(db.session, "geodata")
    records.touch(db.session, "geodata")
    db.session.commit()
    assert _revision("geodata") == 1


def test_each_model_belongs_to_one_dataset(ctx):
    assert records.dataset_of(db.session, _plan()) == "local"
    assert records.dataset_of(db.session, _commitment(_plan("national", None, "mx-2"))) == (
        "national"
    )
    assert set(records.EDITABLE) >= {Commitment, Milestone, Evidence, Institution}
    with pytest.raises(LookupError):
        records.dataset_of(db.session, User(email="a@b.c", name="A", password_hash="x",
                                            role="admin"))


def test_a_batch_writes_one_event_per_changed_row(ctx):
    db.session.commit()
    revision = _revision("metric")
    with records.bulk(db.session, actor="import", source="BSO.csv") as batch:
        made = [
            batch.create(Institution, {"key": f"federal:fed:{n}", "name": f"Institución {n}",
                                       "level": "federal", "kind": "autonomous"},
                         summary=f"Institución {n}")
            for n in range(5)
        ]
    assert _count(AuditEvent, AuditEvent.entity == "institution") == 5
    with records.bulk(db.session, actor="import", source="BSO.csv") as batch:
        assert batch.update(made[0], {"name": "Renombrada"})
        assert not batch.update(made[1], {"name": "Institución 1"})
        ident = made[2].id
        batch.hard_delete(made[2], summary="Institución 2")
    db.session.commit()
    assert _revision("metric") == revision + 1  # two batches, one transaction
    update, delete = _events(AuditEvent.action.in_(("update", "delete")))
    assert (update.before, update.after) == ({"name": "Institución 0"}, {"name": "Renombrada"})
    assert delete.entity_id == str(ident) and delete.after is None
    assert delete.before == {"key": "federal:fed:2", "name": "Institución 2",
                             "level": "federal", "kind": "autonomous"}
    assert db.session.get(Institution, ident) is None


def test_an_editor_is_recorded_as_user_and_actor(ctx):
    user = User(email="editor@example.org", name="Editora", password_hash="x", role="editor",
                state_cve="10")
    db.session.add(user)
    db.session.flush()
    commitment = _commitment(_plan())
    records.update(db.session, commitment, {"status": "En curso"}, user=user,
                   actor="Instituto Duranguense de Acceso a la Información", source=SOURCE)
    event = _events(AuditEvent.action == "update")[0]
    assert event.user_id == user.id


def test_soft_deleted_rows_disappear_from_pages_lists_and_collections(seeded_app):
    """Reading sees live rows only: lists, detail pages, downloads and relationships."""
    from sqlalchemy import select

    from app import records
    from app.extensions import db
    from app.models import ActionPlan, Commitment

    client = seeded_app.test_client()
    with seeded_app.app_context():
        c = db.session.scalars(select(Commitment).order_by(Commitment.id)).first()
        cid, pid, title = c.id, c.plan_id, c.title
        before = len(db.session.get(ActionPlan, pid).commitments)
        records.soft_delete(db.session, c, actor="test", source="https://example.org/why")
        db.session.commit()
    assert client.get(f"/commitments/{cid}").status_code == 404
    assert title not in client.get(f"/plans/{pid}").get_data(as_text=True)
    listed = client.get("/commitments?format=json&q=" + title.split()[0]).get_json()
    assert cid not in [row["id"] for row in listed]
    with seeded_app.app_context():
        assert len(db.session.get(ActionPlan, pid).commitments) == before - 1
        hidden = db.session.get(Commitment, cid, execution_options=records.WITH_DELETED)
        assert hidden is not None and hidden.deleted_at is not None  # kept, not lost
        records.restore(db.session, hidden, actor="test", source="https://example.org/back")
        db.session.commit()
    assert client.get(f"/commitments/{cid}").status_code == 200


def _milestone(commitment: Commitment, number: int) -> Milestone:
    return records.create(
        db.session, Milestone,
        {"commitment_id": commitment.id, "number": number, "title": f"Hito {number}"},
        actor="seed", source=SOURCE,
    )


def test_deleting_a_plan_deletes_what_belongs_to_it_and_restoring_brings_back_only_that(ctx):
    plan = _plan()
    first, second = _commitment(plan, 1), _commitment(plan, 2)
    kept, gone_before = _milestone(first, 1), _milestone(first, 2)
    evidence = records.create(
        db.session, Evidence, {"milestone_id": kept.id, "url": SOURCE, "title": "Acta"},
        actor="seed", source=SOURCE,
    )
    records.soft_delete(db.session, gone_before, actor="seed", source=SOURCE)  # on its own
    db.session.commit()
    earlier = gone_before.deleted_at

    assert records.soft_delete(db.session, plan, actor="seed", source=SOURCE)
    db.session.commit()
    for row in (first, second, kept, evidence):
        assert row.deleted_at == plan.deleted_at, row
    assert gone_before.deleted_at == earlier  # not touched again
    assert db.session.scalars(select(Commitment.id)).all() == []
    assert db.session.scalars(select(Milestone.id)).all() == []
    deletes = _events(AuditEvent.action == "delete")
    assert {(e.entity, e.entity_id) for e in deletes} >= {
        ("commitment", str(first.id)), ("commitment", str(second.id)),
        ("milestone", str(kept.id)), ("evidence", str(evidence.id))}

    with pytest.raises(records.OwnerDeleted, match="restore that first"):
        records.restore(db.session, first, actor="seed", source=SOURCE)  # its plan is gone
    assert records.restore(db.session, plan, actor="seed", source=SOURCE)
    db.session.commit()
    for row in (plan, first, second, kept, evidence):
        assert row.deleted_at is None, row
    assert gone_before.deleted_at == earlier  # deleted on its own: stays deleted
    assert sorted(db.session.scalars(select(Milestone.id))) == [kept.id]


def test_a_commitment_of_a_deleted_plan_is_not_found_anywhere(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        c = db.session.scalars(select(Commitment).order_by(Commitment.id)).first()
        cid, plan = c.id, c.plan
        records.soft_delete(db.session, plan, actor="test", source="https://example.org/why")
        db.session.commit()
    for url in (f"/commitments/{cid}", f"/api/v1/commitments/{cid}"):
        assert client.get(url).status_code == 404, url  # was a 500: its plan was hidden
    listed = client.get("/api/v1/commitments?per_page=500").get_json()["items"]
    assert cid not in [row["id"] for row in listed]
