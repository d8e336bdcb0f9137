"""The metric service other areas use: loaded years, state values for maps, state results."""

from __future__ import annotations

import pytest
from flask import render_template

from app.extensions import db
from app.metric.scores import round_years
from app.metric.states import state_index_values, state_results
from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app

# Official 2017 per-state GA (executive summary, annex 2), by INEGI code.
PUBLISHED_2017_GA = {
    "01": 0.43, "02": 0.41, "03": 0.35, "04": 0.37, "05": 0.41, "06": 0.35, "07": 0.35,
    "08": 0.38, "09": 0.51, "10": 0.38, "11": 0.48, "12": 0.37, "13": 0.36, "14": 0.45,
    "15": 0.44, "16": 0.41, "17": 0.38, "18": 0.33, "19": 0.38, "20": 0.33, "21": 0.34,
    "22": 0.27, "23": 0.40, "24": 0.36, "25": 0.42, "26": 0.42, "27": 0.40, "28": 0.34,
    "29": 0.29, "30": 0.41, "31": 0.38, "32": 0.43,
}


def test_nothing_loaded(metric_seeded):
    with metric_seeded.app_context():
        # The seeds know the four rounds, but none has institution scores yet.
        assert round_years(db.session) == []
        assert state_index_values(db.session, 2017, "GA") == {}
        assert state_results(db.session, "09") == []
    with metric_seeded.test_request_context("/states/09"):
        html = render_template("metric/_state_results.html", metric_results=[])
    assert "flask metric import" in html


def test_round_years_lists_loaded_rounds(metric_app):
    with metric_app.app_context():
        assert round_years(db.session) == [2017]


def test_state_index_values_match_the_published_state_table(metric_app):
    with metric_app.app_context():
        values = state_index_values(db.session, 2017, "GA")
        assert sorted(values) == sorted(PUBLISHED_2017_GA)  # 32 states, no Federation
        for cve, published in PUBLISHED_2017_GA.items():
            assert round(values[cve], 2) == pytest.approx(published), cve
        assert values["09"] == pytest.approx(0.5106, abs=5e-5)
        t_values = state_index_values(db.session, 2017, "T")
        assert set(t_values) == set(values)
        assert state_index_values(db.session, 2019, "GA") == {}
        with pytest.raises(ValueError):
            state_index_values(db.session, 2017, "XX")


def test_state_results_give_rank_national_and_published(metric_app):
    with metric_app.app_context():
        [queretaro] = state_results(db.session, "22")
        [cdmx] = state_results(db.session, "09")
        [tlaxcala] = state_results(db.session, "29")
    assert queretaro.year == 2017
    assert queretaro.rank == 32 and queretaro.ranked == 32  # worst state in 2017
    assert cdmx.rank == 1 and cdmx.institutions == 26
    assert tlaxcala.institutions == 26 and tlaxcala.rank == 31
    # Annex 2 of the 2017 executive summary: GA and the four sub-indices of the state.
    assert queretaro.published == {"GA": 0.27, "PG": 0.09, "PC": 0.37, "TG": 0.32, "TC": 0.32}
    assert queretaro.values["GA"] == pytest.approx(0.2742, abs=5e-5)
    assert queretaro.difference == pytest.approx(queretaro.values["GA"] - 0.27)
    assert queretaro.national["GA"] == pytest.approx(0.3887, abs=5e-5)
    assert set(queretaro.values) == {"GA", "T", "P", "TG", "TC", "PG", "PC"}


def test_state_results_partial_renders_an_accessible_table(metric_app):
    with metric_app.test_request_context("/states/22"):
        html = render_template(
            "metric/_state_results.html", metric_results=state_results(db.session, "22")
        )
    assert "<caption>" in html and 'scope="col"' in html
    assert "0.2742" in html and "0.27" in html and "32 de 32" in html
    assert "/metric/2017" in html
