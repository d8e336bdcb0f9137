"""Progress rules: the pure functions, and the SQL that filters and sorts by the same rules.

Milestones here are synthetic (the sources hold none): they exist only to test the rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.cli import run_loaders
from app.extensions import db
from app.models import ActionPlan, Commitment, Milestone
from app.plans.progress import (
    IN_PROGRESS_DEFAULT,
    Progress,
    commitment_progress,
    milestone_value,
    plan_progress,
)
from app.plans.queries import commitments_query

TODAY = date(2021, 6, 1)


@dataclass
class M:
    status: str
    weight: float | None = None
    progress: float | None = None
    due_date: date | None = None


def test_milestone_values():
    assert milestone_value("not_started") == 0
    assert milestone_value("in_progress") == IN_PROGRESS_DEFAULT == 0.5
    assert milestone_value("in_progress", 0.3) == 0.3
    assert milestone_value("complete") == milestone_value("verified") == 1
    with pytest.raises(ValueError):
        milestone_value("done")


def test_no_milestones_is_unknown_never_zero():
    p = commitment_progress([], TODAY)
    assert p.value is None and p.percent is None and p.state == "unknown"
    assert not p.off_track


def test_weights_times_status():
    p = commitment_progress(
        [M("complete", 2), M("in_progress", 1, 0.5), M("not_started", 1)], TODAY
    )
    assert p.value == pytest.approx((2 * 1 + 1 * 0.5 + 0) / 4)
    assert p.percent == 62 and p.state == "in_progress"


def test_a_missing_weight_makes_all_milestones_count_equally():
    p = commitment_progress([M("complete", 9), M("not_started", None)], TODAY)
    assert p.value == 0.5


def test_verified_is_its_own_state_and_complete_when_mixed():
    assert commitment_progress([M("verified"), M("verified")], TODAY).state == "verified"
    mixed = commitment_progress([M("verified"), M("complete")], TODAY)
    assert mixed.state == "complete" and mixed.value == 1 and mixed.verified == 1
    assert commitment_progress([M("not_started")], TODAY).state == "not_started"


def test_off_track_when_a_milestone_is_past_due_and_not_complete():
    late = commitment_progress([M("in_progress", due_date=TODAY - timedelta(days=1))], TODAY)
    assert late.off_track and late.late == 1
    due_today = commitment_progress([M("not_started", due_date=TODAY)], TODAY)
    assert not due_today.off_track
    finished_late = commitment_progress([M("complete", due_date=date(2020, 1, 1))], TODAY)
    assert not finished_late.off_track


def test_plan_progress_averages_known_commitments_only():
    known = Progress(0.5, "in_progress", 2, 1, 0, 1)
    unknown = Progress(None, "unknown")
    p = plan_progress([known, Progress(1.0, "complete", 1, 1), unknown])
    assert p.value == 0.75 and (p.known, p.total, p.off_track) == (2, 3, 1)
    assert plan_progress([unknown]).value is None
    assert plan_progress([]).value is None


def test_sql_agrees_with_the_pure_functions(app):
    """Random synthetic milestones: the SQL progress, state and lateness match Python's."""
    rng = random.Random(20250101)
    statuses = ("not_started", "in_progress", "complete", "verified")
    with app.app_context():
        run_loaders(["states"])
        session = db.session
        plan = ActionPlan(key="synthetic", scope="national", programme="ogp_national",
                          title="Plan sintético (prueba)", source="synthetic test data")
        session.add(plan)
        session.flush()
        expected = {}
        for n in range(1, 61):
            c = Commitment(plan_id=plan.id, number=n, title=f"Compromiso sintético {n}",
                           source="synthetic test data")
            session.add(c)
            weighted = rng.random() < 0.6
            for k in range(rng.randint(0, 4)):
                status = rng.choice(statuses)
                c.milestones.append(Milestone(
                    number=k + 1, title=f"Hito sintético {k + 1}", status=status,
                    weight=rng.choice([1, 2, 5, 0.5]) if weighted else None,
                    progress=rng.choice([None, 0.25]) if status == "in_progress" else None,
                    due_date=rng.choice([None, TODAY - timedelta(days=3),
                                         TODAY + timedelta(days=3)]),
                ))
            session.flush()
            expected[c.id] = commitment_progress(c.milestones, TODAY)
        rows = session.execute(commitments_query({}, "plan", False, TODAY)).all()
        assert len(rows) == 60
        for c, _plan, _state, value, state, late in rows:
            p = expected[c.id]
            assert state == p.state
            assert (late > 0) == p.off_track
            if p.value is None:
                assert value is None
            else:
                assert value == pytest.approx(p.value)
        for status in ("unknown", "verified", "complete", "in_progress", "not_started"):
            got = {r[0].id for r in session.execute(
                commitments_query({"status": status}, "plan", False, TODAY))}
            assert got == {cid for cid, p in expected.items() if p.state == status}
        off = {r[0].id for r in session.execute(
            commitments_query({"status": "off_track"}, "plan", False, TODAY))}
        assert off == {cid for cid, p in expected.items() if p.off_track}
        ordered = [r[3] for r in session.execute(
            commitments_query({}, "progress", True, TODAY))]
        known = [v for v in ordered if v is not None]
        assert known == sorted(known, reverse=True)
        assert ordered[len(known):] == [None] * (len(ordered) - len(known))
        session.rollback()
        assert not session.scalars(select(Commitment)).first()
