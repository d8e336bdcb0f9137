"""Fixtures of the metric tests: the real 2017 round imported into the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.metric.importer import import_round
from tests.conftest import SHARED

BSO = SHARED / "data/mga-2017/BSO.csv"


def import_file(app: Flask, path: Path, year: int, **options: object):  # type: ignore[no-untyped-def]
    """Import ``path`` as round ``year`` and commit, as the command does; return the report."""
    with app.app_context():
        report = import_round(db.session, path, year, **options)  # type: ignore[arg-type]
        db.session.commit()
        return report


@pytest.fixture
def metric_seeded(app: Flask) -> Flask:
    """The app with the states and the metric's published figures loaded (and nothing else)."""
    from app.cli import run_loaders

    with app.app_context():
        run_loaders(["states", "metric"])
    return app


@pytest.fixture
def metric_app(metric_seeded: Flask) -> Flask:
    """The seeded app with the real 2017 file (../shared/data/mga-2017/BSO.csv) imported."""
    import_file(metric_seeded, BSO, 2017)
    return metric_seeded
