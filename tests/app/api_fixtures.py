"""A module-scoped app for the API tests: every seed plus two SYNTHETIC metric rounds.

Seeding takes seconds, so the API tests (and schemathesis' many operations) share one
database per module instead of one per test; on PostgreSQL (TEST_DATABASE_URL) it is emptied
before and after, as the per-test fixtures do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import ActionPlan, Base, Commitment, Evidence, Milestone
from tests.app.metric_fixtures import import_file, write_synthetic_2019
from tests.conftest import reset_database


def add_synthetic_milestone() -> None:
    """A SYNTHETIC milestone with evidence on the first national commitment (the seeds have
    none), so the milestone and evidence endpoints have something to answer."""
    commitment = db.session.scalars(
        sa.select(Commitment).join(ActionPlan).where(ActionPlan.scope == "national")
        .order_by(Commitment.id)).first()
    milestone = Milestone(commitment_id=commitment.id, number=1, status="complete",
                          title="SYNTHETIC milestone (test data)", weight=1.0,
                          due_date=date(2024, 6, 30), completed_on=date(2024, 6, 1))
    db.session.add(milestone)
    db.session.flush()
    db.session.add(Evidence(milestone_id=milestone.id, commitment_id=commitment.id,
                            title="SYNTHETIC evidence (test data)",
                            url="https://example.org/synthetic", added_by_label="test"))


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
    with app.app_context():
        add_synthetic_milestone()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.close()
        if url.startswith("postgresql"):
            reset_database(db.engine)
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield from seeded_api_app(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def api_url(api_app: Flask) -> Iterator[str]:
    """``api_app`` served on a free loopback port (for clients run as programs)."""
    server = make_server("127.0.0.1", 0, api_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
