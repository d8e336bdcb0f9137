"""The flask CLI: seed commands."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import State


def test_seed_all_then_again_changes_nothing(app, runner):
    first = runner.invoke(args=["seed", "all"])
    assert first.exit_code == 0, first.output
    assert "states: 32 created" in first.output
    second = runner.invoke(args=["seed", "all"])
    assert "states: 0 created, 0 updated, 32 unchanged" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(State)) == 32


def test_seed_all_if_empty_skips_a_loaded_database(runner):
    runner.invoke(args=["seed", "states"])
    result = runner.invoke(args=["seed", "all", "--if-empty"])
    assert result.exit_code == 0
    assert "nothing loaded" in result.output


def test_each_dataset_has_its_own_command(runner):
    from seeds import LOADERS

    listing = runner.invoke(args=["seed", "--help"]).output
    for name in LOADERS:
        assert name in listing
