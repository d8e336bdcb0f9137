"""The metric seeds: rounds, weight schemes and published figures, each with its source."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import MetricRound, PublishedFigure
from seeds import LOADERS, SeedError
from seeds import metric_published as module


def test_loader_is_registered_after_states():
    names = list(LOADERS)
    assert names.index("metric") > names.index("states")


def test_loads_rounds_schemes_and_figures_idempotently(app):
    with app.app_context():
        [states, first] = run_loaders(["states", "metric"])
        # 60 figures of the official reports (3 of them counted or averaged here), 132
        # sub-indices by state (2017), 47 press figures (20 + 27 of the later rounds), GA, T and P
        # of the best institution of 33 entities (2017).
        assert first.created == 4 + 60 + 132 + 47 + 99 and first.updated == 0
        [again] = run_loaders(["metric"])
        assert (again.created, again.updated, again.unchanged) == (0, 0, 342)
        rounds = {r.year: r for r in db.session.scalars(select(MetricRound))}
        assert sorted(rounds) == [2017, 2019, 2021, 2023]
        assert rounds[2017].weight_scheme["PG"] == {
            "mechanisms": 0.2, "actors": 0.1, "functioning": 0.3, "format": 0.1, "follow_up": 0.3
        }
        assert rounds[2019].weight_scheme == {}  # weights not publicly confirmed
        figures = db.session.scalars(select(PublishedFigure)).all()
        assert all(f.source for f in figures)
        national = {
            (f.round.year, f.index_name): f.value for f in figures if f.scope == "national"
        }
        assert national[(2017, "GA")] == 0.39 and national[(2023, "N")] == 2043
        assert national[(2019, "P")] == 0.41 and national[(2021, "T")] == 0.61
        states_2017 = db.session.scalar(
            select(func.count()).select_from(PublishedFigure).where(
                PublishedFigure.scope == "state", PublishedFigure.round_id == rounds[2017].id,
                PublishedFigure.index_name == "GA", PublishedFigure.publication == "",
            )
        )
        assert states_2017 == 33
        # Two publications that disagree are both kept (Baja California 2017: 0.41 and 0.40).
        bc_2017 = {
            (f.publication, f.basis, f.value) for f in figures
            if f.round.year == 2017 and f.scope_key == "02" and f.index_name == "GA"
        }
        assert bc_2017 == {("", "published", 0.41), ("zeta-2025-02", "press", 0.40)}
        computed = {
            f.index_name for f in figures
            if f.round.year == 2017 and f.scope == "national" and f.basis == "computed"
        }
        assert computed == {"TG", "TC", "PG", "PC"}
        best = {(f.scope_key, f.index_name): f for f in figures
                if f.scope == "institution" and f.round.year == 2017}
        assert len({key for key, _ in best}) == 33
        coyoacan = best[("09:municipality:Coyoacán", "GA")]
        assert (coyoacan.value, coyoacan.basis, coyoacan.round.year) == (0.90, "published", 2017)
        assert coyoacan.source.startswith("mga-2017-resumen")
        assert best[("federal:federal_executive:PGR", "P")].value == 0.95


def test_bad_rows_name_file_row_and_field(states_app, tmp_path, monkeypatch):
    app = states_app
    bad = tmp_path / "metric_published.csv"
    bad.write_text(
        "year,scope,scope_key,index,value,decimals,note,source\n"
        "2017,state,99,GA,0.4,2,,mga-2017-resumen\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(module, "PUBLISHED_CSV", bad)
    with app.app_context():
        with pytest.raises(SeedError, match="metric_published.csv, row 2, field 'scope_key'"):
            run_loaders(["metric"])
        assert db.session.scalar(select(func.count()).select_from(MetricRound)) == 0
    bad.write_text(
        "year,scope,scope_key,index,value,decimals,note,source\n"
        "2017,state,01,GA,0.4,2,,mga-2017-resumen\n"
        "2017,institution,09:alcaldia:Coyoacán,GA,0.9,2,,mga-2017-resumen\n",
        encoding="utf-8",
    )
    row3 = "metric_published.csv, row 3, field 'scope_key'"
    with app.app_context(), pytest.raises(SeedError, match=row3):
        run_loaders(["metric"])
    weights = tmp_path / "metric_weights.csv"
    weights.write_text(
        "year,subindex,component,label,weight,source\n2017,TG,a,A,0.5,mga-2017-resumen\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(module, "WEIGHTS_CSV", weights)
    with pytest.raises(SeedError, match="weights sum to 0.5"):
        module.load_weight_schemes()
