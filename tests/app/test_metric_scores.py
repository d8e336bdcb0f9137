"""Reading the scores: the indices derived in SQL as the engine derives them, the SQL and
narrow aggregates against the engine's, each round read once per page, and the state page
reading only the state's own scores.

The 2017 file is real; the changes made to its stored values here (T, P and GA removed,
a GA that contradicts its parts, a T within the tolerance, soft deletions) are SYNTHETIC
test data, written straight into the table to reach every branch of the engine's rule.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.metric import scores as scores_module
from app.metric.scores import (
    index_columns,
    national_means,
    read_frame,
    round_ga_stats,
    state_means,
)
from app.metric.states import state_index_values, state_values_by_round
from app.models import Institution, MetricScore
from metrics import FEDERAL_KEY, INDICES, aggregate, rank_desc
from tests.app import metric_fixtures
from tests.app.metric_fixtures import import_file, write_synthetic_2019

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app

ALL = (*INDICES, "GAg", "GAc")


@pytest.fixture
def odd_app(metric_app):
    """2017 with SYNTHETIC oddities in the stored values (see the module's docstring)."""
    with metric_app.app_context():
        c = db.session.connection()
        c.execute(text("UPDATE metric_score SET t = NULL, p = NULL, ga = NULL WHERE id % 7 = 0"))
        c.execute(text("UPDATE metric_score SET ga = 0.999 WHERE id % 11 = 0 "
                       "AND t IS NOT NULL AND p IS NOT NULL"))
        c.execute(text("UPDATE metric_score SET t = (tg + tc) / 2 + 0.0003 WHERE id % 13 = 0 "
                       "AND tg IS NOT NULL AND tc IS NOT NULL AND (tg + tc) / 2 < 0.99"))
        c.execute(text("UPDATE metric_score SET deleted_at = '2024-01-01' WHERE id % 17 = 0"))
        c.execute(text("UPDATE institution SET deleted_at = '2024-01-01' WHERE id IN "
                       "(SELECT institution_id FROM metric_score WHERE id % 19 = 0)"))
        db.session.commit()
    return metric_app


def _same(a: float | None, b: float | None) -> bool:
    missing = (a is None or a != a, b is None or b != b)
    return missing[0] and missing[1] or (not any(missing) and a == b)


def test_sql_indices_are_the_engines_to_the_last_digit(odd_app):
    with odd_app.app_context():
        frame = read_frame(db.session, [2017]).set_index("id")
        columns = index_columns()
        rows = db.session.execute(
            select(MetricScore.institution_id, MetricScore.ga, MetricScore.t,
                   *(columns[i] for i in ALL))
            .join(Institution, Institution.id == MetricScore.institution_id)).all()
    assert len(rows) == len(frame) > 700  # soft-deleted scores and institutions left out
    seen = {"missing": 0, "contradicting": 0}
    for institution_id, stored_ga, _stored_t, *values in rows:
        engine = frame.loc[institution_id]
        for index, value in zip(ALL, values, strict=True):
            assert _same(value, float(engine[index])), (institution_id, index)
        derived = dict(zip(ALL, values, strict=True))
        if stored_ga is None and derived["T"] is not None and derived["P"] is not None:
            seen["missing"] += 1  # filled from its parts
            assert derived["GA"] == (derived["T"] + derived["P"]) / 2
        if stored_ga == 0.999:
            seen["contradicting"] += 1  # replaced by its parts
            assert derived["GA"] == (derived["T"] + derived["P"]) / 2 != 0.999
    assert seen["missing"] > 50 and seen["contradicting"] > 30


def test_sql_aggregates_match_the_engine(odd_app):
    with odd_app.app_context():
        frame = read_frame(db.session, [2017])
        groups = state_means(db.session, "GA", [2017])[2017]
        engine = aggregate(frame, "state", ["GA"]).set_index("key")
        assert set(groups) == set(engine.index)
        for key, group in groups.items():
            assert group.n == engine.loc[key, "n"] and group.known == engine.loc[key, "GA_n"]
            assert group.mean == pytest.approx(engine.loc[key, "GA"], rel=1e-12)
        # The state's GA rank among the states, ties sharing the best, as the engine ranks.
        states = [k for k in groups if k != FEDERAL_KEY and groups[k].mean is not None]
        for key in states:
            higher = sum(groups[k].mean > groups[key].mean for k in states)
            assert higher + 1 == engine.loc[key, "GA_rank"]
        # One round's GA figures: count, each type's mean, institutions above a value.
        ga = frame["GA"]
        values = [float(v) for v in ga.dropna().iloc[[0, 5, 50]]]
        stats = round_ga_stats(db.session, 2017, values)
        assert stats.ranked == ga.notna().sum()
        for kind, mean in stats.kind_means.items():
            assert mean == pytest.approx(frame[frame["kind"] == kind]["GA"].mean(), rel=1e-12)
        ranks = rank_desc(ga)
        for value in values:
            assert stats.above[value] + 1 == ranks[ga == value].iloc[0]


def test_full_precision_figures_are_the_engines_exactly(odd_app):
    """What downloads and the API print to the last digit comes from the engine itself."""
    with odd_app.app_context():
        frame = read_frame(db.session)
        means = national_means(db.session)
        expected = frame.groupby("year")[list(INDICES)].mean()
        assert list(means) == [2017]
        assert all(means[2017][i] == float(expected.loc[2017, i]) for i in INDICES)
        table = aggregate(frame, "state", ["T"])
        table = table[(table["key"] != FEDERAL_KEY) & table["T"].notna()]
        assert state_index_values(db.session, 2017, "T") == dict(
            zip(table["key"], table["T"], strict=True))
        assert state_values_by_round(db.session, "T") == {
            2017: state_index_values(db.session, 2017, "T")}


@pytest.fixture
def reads(monkeypatch):
    """Every read of scores: (years, narrowed) per call of ``read_frame``."""
    calls: list[tuple[tuple[int, ...] | None, bool]] = []
    original = scores_module.read_frame

    def spy(session, years=None, where=None):  # type: ignore[no-untyped-def]
        calls.append((None if years is None else tuple(years), where is not None))
        return original(session, years, where)

    monkeypatch.setattr(scores_module, "read_frame", spy)
    for module in ("rounds", "states"):
        monkeypatch.setattr(f"app.metric.{module}.read_frame", spy)
    return calls


@pytest.fixture
def two_rounds(metric_app, tmp_path):
    """2017 and a SYNTHETIC 2019 (tests/app/metric_fixtures.write_synthetic_2019)."""
    import_file(metric_app, write_synthetic_2019(tmp_path / "s.csv"), 2019)
    return metric_app


def test_the_state_page_reads_only_the_states_own_scores(two_rounds, reads):
    html = two_rounds.test_client().get("/states/22").get_data(as_text=True)
    assert "Sus instituciones por tipo, 2019" in html
    assert reads and all(narrowed for _years, narrowed in reads)  # never a whole round
    assert len(reads) == 1  # and once


def test_round_and_comparison_pages_read_each_round_once(two_rounds, reads):
    client = two_rounds.test_client()
    assert client.get("/metric/2017").status_code == 200
    assert reads == [((2017,), False)]
    reads.clear()
    assert client.get("/metric/compare?from=2017&to=2019&by=type").status_code == 200
    assert sorted(reads) == [((2017,), False), ((2019,), False)]
    reads.clear()
    assert client.get("/metric/compare?from=2017&to=2019&download=rises").status_code == 200
    assert sorted(reads) == [((2017,), False), ((2019,), False)]


def test_the_institution_page_ranks_against_its_round(two_rounds):
    with two_rounds.app_context():
        inst = db.session.scalars(select(Institution).where(
            Institution.key == "municipal:22:queretaro")).one()
    html = two_rounds.test_client().get(f"/institutions/{inst.id}").get_data(as_text=True)
    data = two_rounds.test_client().get(f"/api/v1/institutions/{inst.id}").get_json()
    with two_rounds.app_context():
        frame = read_frame(db.session, [2019])
    [later] = [r for r in data["rounds"] if r["year"] == 2019]
    assert later["GA"] == 1.0 and later["rank"] == 1  # the best of the synthetic round
    assert later["ranked"] == frame["GA"].notna().sum()
    assert later["national_GA"] == float(frame["GA"].mean())
    assert math.isclose(later["kind_GA"], frame[frame["kind"] == "municipality"]["GA"].mean())
    assert "2019" in html and "1.0000" in html
