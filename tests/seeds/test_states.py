"""The states seed: 32 INEGI codes, idempotent, bad input refused with file, row and field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import DataRevision, State
from seeds import states as states_module
from seeds.base import SeedError


def test_loads_32_states_with_accents_and_iso_codes(app):
    with app.app_context():
        report = run_loaders(["states"])[0]
        assert report.created == 32
        rows = {s.cve_ent: s for s in db.session.scalars(select(State))}
    assert sorted(rows) == [f"{n:02d}" for n in range(1, 33)]
    assert rows["09"].name == "Ciudad de México"
    assert rows["16"].name == "Michoacán de Ocampo"
    assert rows["19"].iso_3166_2 == "MX-NLE"
    assert rows["15"].short_name == "Estado de México"
    assert all(s.source for s in rows.values())


def test_loading_twice_changes_nothing(app):
    with app.app_context():
        run_loaders(["states"])
        before = [(s.cve_ent, s.name, s.iso_3166_2) for s in db.session.scalars(select(State))]
        report = run_loaders(["states"])[0]
        after = [(s.cve_ent, s.name, s.iso_3166_2) for s in db.session.scalars(select(State))]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 32)
    assert before == after


def test_a_changed_source_row_updates_in_place(app, tmp_path, monkeypatch):
    data = states_module.STATES_CSV.read_text(encoding="utf-8")
    path = tmp_path / "states.csv"
    path.write_text(data.replace("Zacatecas,Zacatecas", "Zacatecas,Zacatecas (test)"), "utf-8")
    with app.app_context():
        run_loaders(["states"])
        before = DataRevision.current(db.session, "states")
        monkeypatch.setattr(states_module, "STATES_CSV", path)
        report = run_loaders(["states"])[0]
        assert report.updated == 1
        assert DataRevision.current(db.session, "states") == (before[0] + 1,)
        assert db.session.get(State, "32").short_name == "Zacatecas (test)"


SOURCE = states_module.STATES_CSV.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("line", "replacement", "where"),
    [
        (9, SOURCE[9].replace("09,", "99,", 1), "row 10, field 'cve_ent'"),
        (9, "09,Ciudad de México,Ciudad de México,MX-CMX,", "row 10, field 'source'"),
        (2, SOURCE[2].replace("02,", "01,", 1), "row 3, field 'cve_ent'"),
        (5, SOURCE[5] + ",extra", "row 6: the row has more fields"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_stored(
    app, tmp_path, monkeypatch, line, replacement, where
):
    lines = list(SOURCE)
    lines[line] = replacement
    path = tmp_path / "states.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.setattr(states_module, "STATES_CSV", path)
    with app.app_context():
        with pytest.raises(SeedError, match=f"states.csv, {where}"):
            run_loaders(["states"])
        assert db.session.scalar(select(func.count()).select_from(State)) == 0
