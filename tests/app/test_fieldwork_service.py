"""Fieldwork rounds through the services: capture, scoping, double coding, reconciliation,
progress, freezing and publishing. Every round here is SYNTHETIC (fieldwork_fixtures)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from app import records
from app.extensions import db
from app.metric.compare import compare
from app.metric.fieldwork import service
from app.metric.fieldwork.guard import RoundFrozen
from app.metric.scores import round_years
from app.metric.states import state_index_values
from app.models import (
    AuditEvent,
    FieldworkObservation,
    FieldworkSample,
    Institution,
    MetricRound,
    MetricScore,
)
from metrics.fieldwork import Answer
from tests.app import fieldwork_fixtures, metric_fixtures
from tests.app.fieldwork_fixtures import A_KEY, B_KEY, YEAR, enter, fw, institution, user
from tests.metrics.fieldwork_data import B_ANSWERS, EXPECTED_B, INDICES, best_answers

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app
fieldwork_app = fieldwork_fixtures.fieldwork_app

DISPUTED = ("PG.actors.who", 1)


def _code_everything(disagree: bool = True) -> None:
    """Both coders code both institutions; coder2 differs on one item of B if ``disagree``."""
    inst = service.instruments_of(fw())
    best = best_answers(inst)
    enter("coder1", A_KEY, best)
    enter("coder2", A_KEY, best)
    enter("coder1", B_KEY, B_ANSWERS)
    other = {**B_ANSWERS, DISPUTED: Answer("open")} if disagree else B_ANSWERS
    enter("coder2", B_KEY, other)


def test_a_synthetic_round_end_to_end_gives_the_hand_computed_indices(fieldwork_app, runner,
                                                                      tmp_path):
    with fieldwork_app.app_context():
        s = db.session
        _code_everything()
        s.commit()
        round_ = fw()
        disagreements = service.list_disagreements(s, user("reviewer"), round_)
        assert [(d.institution, d.item, [v for _, v in d.answers]) for d in disagreements] == [
            ("SYNTHETIC institution B", "PG.actors.who", ["invited", "open"])]
        with pytest.raises(service.FieldworkError, match="1 items in dispute"):
            service.freeze(s, user("coord"), round_)
        service.reconcile(s, user("reviewer"), round_, institution(B_KEY), "PG.actors.who",
                          service.ObservationInput("invited"), "El acta nombra a invitados")
        result = service.compute(s, user("coord"), round_, final=True)
        b = result.frame.set_index("key").loc[B_KEY]
        for column in (*result.components, *INDICES):
            assert b[column] == pytest.approx(EXPECTED_B[column], abs=1e-12), column
        service.freeze(s, user("coord"), round_)
        published = service.publish(s, user("coord"), round_)
        s.commit()
        assert (published.created, published.updated) == (2, 0)
        metric_round = s.scalars(select(MetricRound).where(MetricRound.year == YEAR)).one()
        score = s.scalars(select(MetricScore).where(
            MetricScore.round_id == metric_round.id,
            MetricScore.institution_id == institution(B_KEY).id)).one()
        assert score.ga == pytest.approx(0.584375, abs=1e-12)
        assert score.components["PC.speed"] == 0.5
        # It shows wherever a round does: the loaded years and the map's state values.
        assert YEAR in round_years(s)
        assert state_index_values(s, YEAR, "GA")["22"] == pytest.approx(0.584375, abs=1e-12)
        assert service.publish(s, user("coord"), fw()).unchanged == 2  # again: no change
    # The exported (anonymised) file gives the same numbers from the command line.
    target = tmp_path / "round.json"
    assert runner.invoke(args=["metric", "fieldwork", "export", str(YEAR), str(target)]
                         ).exit_code == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    assert {o["coder"] for o in data["observations"]} == {"coder-1", "coder-2"}
    assert {r["reviewer"] for r in data["reconciliations"]} == {"reviewer-1"}
    assert "example.org" not in target.read_text(encoding="utf-8")
    out = runner.invoke(args=["metric", "fieldwork", "compute", str(target), "--final",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    for column in INDICES:
        assert rows[B_KEY][column] == pytest.approx(EXPECTED_B[column], abs=1e-12)
        assert rows[A_KEY][column] == pytest.approx(1.0, abs=1e-12)


def test_a_frozen_round_is_read_only_whatever_the_path(fieldwork_app):
    with fieldwork_app.app_context():
        s = db.session
        _code_everything(disagree=False)
        round_ = fw()
        service.freeze(s, user("coord"), round_)
        s.commit()
        with pytest.raises(RoundFrozen):
            enter("coder1", A_KEY, {("TG.access_info.unit", 1): Answer("no")})
        s.rollback()
        observation = s.scalars(select(FieldworkObservation)).first()
        with pytest.raises(RoundFrozen):  # the generic write path is refused too
            records.update(s, observation, {"answer": "no"}, actor="someone", source="x")
            s.flush()
        s.rollback()
        with pytest.raises(RoundFrozen):
            records.update(s, fw(), {"deadline_days": 15}, actor="someone", source="x")
            s.flush()
        s.rollback()
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity == "fieldwork_round",
                                                    AuditEvent.action == "update")).all()
        assert [e.after.keys() >= {"frozen_at", "frozen_by_id"} for e in events] == [True]


def test_coders_see_and_change_only_their_own_institutions(metric_seeded):
    with metric_seeded.app_context():
        s = db.session
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records"))
        admin = user("admin")
        from metrics.fieldwork import load_instruments
        from tests.metrics.fieldwork_data import TEMPLATE

        service.create_round(s, admin, year=YEAR, label="SYNTHETIC", source="SYNTHETIC",
                             instruments=dict(load_instruments(TEMPLATE).raw), requests=1,
                             coordinators=[user("coord")])
        round_, coord = fw(), user("coord")
        for name in ("coder1", "coder2"):
            service.add_member(s, coord, round_, user(name), "coder")
        service.add_member(s, coord, round_, user("reviewer"), "reviewer")
        service.draw_sample(s, coord, round_, listed=[A_KEY, B_KEY])
        outcome = service.assign_coders(s, coord, round_, [user("coder1"), user("coder2")],
                                        double_share=0)
        assert outcome.assigned == 2 and outcome.double_coded == 0
        mine = {c: [a.institution.key for a in service.my_institutions(s, user(c), round_)]
                for c in ("coder1", "coder2")}
        assert sorted(mine["coder1"] + mine["coder2"]) == [B_KEY, A_KEY]
        theirs = institution(mine["coder2"][0])
        value = service.ObservationInput("yes")
        for who in ("coder1", "reviewer", "outsider", "coord"):
            with pytest.raises(Forbidden):
                service.record_observation(s, user(who), round_, theirs,
                                           "TG.access_info.unit", value)
        with pytest.raises(Forbidden):
            service.coder_sheet(s, user("coder1"), round_, theirs)
        for look in (service.list_disagreements, service.compute, service.progress):
            with pytest.raises(Forbidden):  # coders code blind: no one else's answers
                look(s, user("coder1"), round_)
        with pytest.raises(Forbidden):
            service.freeze(s, user("reviewer"), round_)
        with pytest.raises(Forbidden):
            service.add_member(s, user("coder1"), round_, user("outsider"), "coder")
        with pytest.raises(Forbidden):
            service.create_round(s, coord, year=2030, label="x", source="x",
                                 instruments=dict(load_instruments(TEMPLATE).raw))
        own = institution(mine["coder1"][0])
        first = service.record_observation(s, user("coder1"), round_, own,
                                           "TG.access_info.unit", value)
        assert first.outcome == "created" and first.version == 1
        sheet = service.coder_sheet(s, user("coder1"), round_, own)
        assert sheet.answered == 1 and len(sheet.rows) == 31
        # A stale form is refused; the current version goes through.
        service.record_observation(s, user("coder1"), round_, own, "TG.access_info.unit",
                                   service.ObservationInput("no"), expected_version=1)
        with pytest.raises(records.VersionConflict):
            service.record_observation(s, user("coder1"), round_, own, "TG.access_info.unit",
                                       service.ObservationInput("yes"), expected_version=1)
        with pytest.raises(service.FieldworkError, match="answer: .*'maybe' is not one of"):
            service.record_observation(s, user("coder1"), round_, own, "TG.access_info.unit",
                                       service.ObservationInput("maybe"))
        with pytest.raises(service.FieldworkError, match="occasion: must lie between 1 and 1"):
            service.record_observation(s, user("coder1"), round_, own, "TC.clear.clear",
                                       service.ObservationInput("full"), occasion=2)
        # The notes beside the answer follow the observation's schema (as the capture form
        # does): its lengths and its rule for addresses, said in English on this path and in
        # the reader's language on the pages.
        with pytest.raises(service.FieldworkError, match="folio: .*41 characters.*40") as bad:
            service.record_observation(s, user("coder1"), round_, own, "TG.access_info.unit",
                                       service.ObservationInput("yes", folio="1" * 41))
        assert bad.value.field == "folio" and "máximo es 40" in str(bad.value.text)
        with pytest.raises(service.FieldworkError, match="evidence_url: .*http:// or https://"):
            service.record_observation(
                s, user("coder1"), round_, own, "TG.access_info.unit",
                service.ObservationInput("yes", evidence_url="ftp://example.org/x"))
        # Every change is an audited event under the coder's agency.
        actors = s.scalars(select(AuditEvent.actor).where(
            AuditEvent.entity == "fieldwork_observation")).all()
        assert actors == ["SYNTHETIC coder1", "SYNTHETIC coder1"]


def test_reviewers_settle_only_real_disagreements_and_give_a_reason(fieldwork_app):
    with fieldwork_app.app_context():
        s = db.session
        _code_everything()
        round_, b = fw(), institution(B_KEY)
        answer = service.ObservationInput("invited")
        with pytest.raises(Forbidden):
            service.reconcile(s, user("coder1"), round_, b, "PG.actors.who", answer, "x")
        with pytest.raises(service.FieldworkError, match="reason"):
            service.reconcile(s, user("reviewer"), round_, b, "PG.actors.who", answer, " ")
        with pytest.raises(service.FieldworkError, match="do not disagree"):
            service.reconcile(s, user("reviewer"), round_, b, "PG.format.format",
                              service.ObservationInput("consult"), "x")
        settled = service.reconcile(s, user("reviewer"), round_, b, "PG.actors.who", answer,
                                    "acta")
        assert settled.reviewer_id == user("reviewer").id
        rows = service.list_disagreements(s, user("coord"), round_)
        assert rows[0].reconciled is settled
        assert service.list_disagreements(s, user("coord"), round_, open_only=True) == []
        agreement = {a.component: a for a in service.compute(s, user("coord"), round_).agreement}
        assert agreement["PG.actors"].units == 2 and agreement["PG.actors"].agreed == 1


def test_progress_counts_institutions_disputes_and_overdue_requests(fieldwork_app):
    with fieldwork_app.app_context():
        s = db.session
        _code_everything()
        round_ = fw()
        # Request 2 of B was sent on Monday 9 February 2026 and never answered: 20 business
        # days run to 9 March; the extension of 10 to 24 March (Monday 16 March is a holiday).
        coord = user("coord")
        on_time = service.progress(s, coord, round_, "state", today=date(2026, 3, 9))
        assert [(r.key, r.overdue) for r in on_time.rows] == [("01", 0), ("22", 0)]
        late = service.progress(s, coord, round_, "state", today=date(2026, 3, 10))
        by_state = {r.key: r for r in late.rows}
        assert (by_state["22"].overdue, by_state["22"].beyond_extension) == (1, 0)
        assert by_state["22"].in_dispute == 1 and by_state["22"].done == 0
        assert by_state["01"].done == 1 and by_state["01"].in_dispute == 0
        assert by_state["22"].requests_sent == 3  # two requests and a proposal
        for day, beyond in ((24, 0), (25, 1)):
            later = service.progress(s, coord, round_, "state", today=date(2026, 3, day))
            assert {r.key: r.beyond_extension for r in later.rows}["22"] == beyond
        by_coder = service.progress(s, coord, round_, "coder", today=date(2026, 3, 10))
        assert [(r.institutions, r.done, r.in_dispute) for r in by_coder.rows] == [
            (2, 2, 1), (2, 2, 1)]
        by_component = service.progress(s, coord, round_, "component")
        disputed = {r.key: r.in_dispute for r in by_component.rows}
        assert disputed["PG.actors"] == 1 and sum(disputed.values()) == 1
        text = late.csv().splitlines()
        assert text[0] == ",".join(service.PROGRESS_COLUMNS)
        assert text[2].startswith("22,Querétaro,1,0,")


def test_a_quota_sample_is_drawn_with_the_seed_and_reports_shortfalls(metric_seeded):
    with metric_seeded.app_context():
        s = db.session
        fieldwork_fixtures.make_accounts()
        rows = [{"key": f"state:09:synthetic-{n}", "name": f"SYNTHETIC {n}", "level": "state",
                 "kind": "decentralized" if n % 2 else "autonomous", "state": "09"}
                for n in range(12)]
        fieldwork_fixtures.make_institutions(rows)
        from metrics.fieldwork import load_instruments
        from tests.metrics.fieldwork_data import TEMPLATE

        raw = dict(load_instruments(TEMPLATE).raw)
        drawn = []
        for year in (2030, 2031):
            service.create_round(s, user("admin"), year=year, label="SYNTHETIC",
                                 source="SYNTHETIC", instruments=raw, seed=3)
            round_ = service.get_round(s, year)
            result = service.draw_sample(s, user("admin"), round_, quotas=[
                service.Quota(3, "09", "state", "decentralized"),
                service.Quota(9, "09", None, "autonomous")])
            assert [(q.wanted, q.available, q.drawn, q.short) for q in result.quotas] == [
                (3, 6, 3, 0), (9, 6, 6, 3)]
            drawn.append(sorted(s.scalars(select(Institution.key).join(
                FieldworkSample, FieldworkSample.institution_id == Institution.id).where(
                FieldworkSample.round_id == round_.id))))
        assert drawn[0] == drawn[1] and len(drawn[0]) == 9
        with pytest.raises(service.FieldworkError, match="not in the registry: nope"):
            service.draw_sample(s, user("admin"), round_, listed=["nope"])


def test_setting_up_a_round_checks_its_instruments_and_scheme(metric_seeded):
    with metric_seeded.app_context():
        s = db.session
        fieldwork_fixtures.make_accounts()
        from metrics.fieldwork import load_instruments
        from tests.metrics.fieldwork_data import TEMPLATE

        raw = dict(load_instruments(TEMPLATE).raw)
        admin = user("admin")
        with pytest.raises(service.FieldworkError, match=r"instruments: .*components\[0\]"):
            bad = json.loads(json.dumps(raw))
            bad["components"][0]["key"] = "nope"
            service.create_round(s, admin, year=2030, label="x", source="x", instruments=bad)
        scheme = load_instruments(TEMPLATE).scheme()
        scheme["TG"] = {"access_info": 1.0}
        with pytest.raises(service.FieldworkError, match="weight_scheme: names components"):
            service.create_round(s, admin, year=2030, label="x", source="x", instruments=raw,
                                 weight_scheme=scheme)
        made = service.create_round(s, admin, year=2030, label="x", source="x", instruments=raw,
                                    deadline_days=15, extension_days=7,
                                    closed_days={date(2030, 4, 18): "Viernes Santo"})
        assert (made.deadline_days, made.extension_days, made.closed_days) == (
            15, 7, {"2030-04-18": "Viernes Santo"})
        with pytest.raises(service.FieldworkError, match="year: a fieldwork round 2030"):
            service.create_round(s, admin, year=2030, label="x", source="x", instruments=raw)
        with pytest.raises(service.FieldworkError, match="2019 is already a round of the metric"):
            service.create_round(s, admin, year=2019, label="x", source="x", instruments=raw)


def test_publishing_compares_with_2017_over_the_institutions_both_share(metric_app):
    """A frozen SYNTHETIC round of three institutions, two of them in the real 2017 file."""
    with metric_app.app_context():
        s = db.session
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records")[:1])
        from metrics.fieldwork import load_instruments
        from tests.metrics.fieldwork_data import TEMPLATE

        shared = ["municipal:09:coyoacan", "federal:fed:asf"]
        assert s.scalar(select(func.count()).select_from(Institution).where(
            Institution.key.in_(shared))) == 2
        service.create_round(s, user("admin"), year=YEAR, label="SYNTHETIC", source="SYNTHETIC",
                             instruments=dict(load_instruments(TEMPLATE).raw), requests=1,
                             coordinators=[user("coord")])
        round_, coord = fw(), user("coord")
        service.add_member(s, coord, round_, user("coder1"), "coder")
        service.draw_sample(s, coord, round_, listed=[*shared, A_KEY])
        service.assign_coders(s, coord, round_, [user("coder1")])
        best = best_answers(service.instruments_of(round_))
        for key in (*shared, A_KEY):
            enter("coder1", key, best)
        service.freeze(s, coord, round_)
        service.publish(s, coord, round_)
        s.commit()
        comparison = compare(s, 2017, YEAR, "national")
        assert comparison.counts == {"matched": 2, "entered": 1, "left": 906}
        assert comparison.national.changes["GA"].after == pytest.approx(1.0)


def test_a_round_survives_the_full_export_and_import(fieldwork_app, tmp_path):
    """`flask export --with-accounts` writes the fieldwork tables (they name coders' accounts,
    so a plain export leaves them out); `flask import` of that package into an empty database
    gives the same package again."""
    import filecmp

    from frictionless import validate

    from app.models import Base
    from tests.databases import reset_database

    with fieldwork_app.app_context():
        _code_everything()
        service.reconcile(db.session, user("reviewer"), fw(), institution(B_KEY),
                          "PG.actors.who", service.ObservationInput("invited"), "acta")
        db.session.commit()
    runner = fieldwork_app.test_cli_runner()
    first, second = tmp_path / "first", tmp_path / "second"
    assert runner.invoke(args=["export", str(tmp_path / "plain")]).exit_code == 0
    assert not list((tmp_path / "plain").glob("fieldwork_*"))
    assert runner.invoke(args=["export", str(first), "--with-accounts"]).exit_code == 0
    report = validate(first / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    with fieldwork_app.app_context():
        db.session.close()
        reset_database(db.engine)
        Base.metadata.create_all(db.engine)
    result = runner.invoke(args=["import", str(first)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["export", str(second), "--with-accounts"]).exit_code == 0
    names = sorted(p.name for p in first.iterdir())
    assert "fieldwork_observation.json" in names
    assert filecmp.cmpfiles(first, second, names, shallow=False)[1:] == ([], [])
