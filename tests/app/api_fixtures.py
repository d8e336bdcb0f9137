"""A module-scoped app for the API tests: every seed plus two SYNTHETIC metric rounds.

Seeding takes seconds, so the API tests (and schemathesis' many operations) share one
database per module instead of one per test; on PostgreSQL (TEST_DATABASE_URL) it is emptied
before and after, as the per-test fixtures do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.extensions import db
from app.models import Base
from tests.app.metric_fixtures import import_file, write_synthetic_2019
from tests.conftest import reset_database


def seeded_api_app(folder: Path) -> Iterator[Flask]:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{folder / 'api.sqlite3'}"
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        reset_database(engine)
        engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
                      "WTF_CSRF_ENABLED": False})
    from app.cli import run_loaders
    from seeds import LOADERS

    with app.app_context():
        Base.metadata.create_all(db.engine)
        run_loaders(list(LOADERS))
    synthetic = write_synthetic_2019(folder / "synthetic.csv")
    import_file(app, synthetic, 2019)  # SYNTHETIC test data, not real results
    import_file(app, synthetic, 2021)
    yield app
    with app.app_context():
        db.session.close()
        if url.startswith("postgresql"):
            reset_database(db.engine)
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield from seeded_api_app(tmp_path_factory.mktemp("api"))
