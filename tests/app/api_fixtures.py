"""A module-scoped app for the API tests: every seed plus two SYNTHETIC metric rounds and a
SYNTHETIC milestone with evidence (the "api" template of tests/databases.py).

The API tests (and schemathesis' many operations) only read, so they share one copy of the
template per module instead of one per test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from app.extensions import db
from app.models import ActionPlan, Commitment, Evidence, Milestone
from tests.databases import Databases, build_app, dispose


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


@pytest.fixture(scope="module")
def api_app(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = databases.fresh("api", tmp_path_factory.mktemp("api"))
    app = build_app(url)
    yield app
    dispose(app)
    databases.drop(url)


@pytest.fixture(scope="module")
def api_url(api_app: Flask) -> Iterator[str]:
    """``api_app`` served on a free loopback port (for clients run as programs)."""
    server = make_server("127.0.0.1", 0, api_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
