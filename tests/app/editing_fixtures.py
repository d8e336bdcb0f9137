"""Fixtures for accounts and editing: the states and local plans loaded, and a few accounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.service import create_user
from app.extensions import db
from app.models import ActionPlan, Commitment

PASSWORD = "correct horse battery"
DURANGO, VERACRUZ = "10", "30"


@pytest.fixture
def local_app(app: Flask) -> Flask:
    """The app with the states and the local plans loaded, and these accounts:
    an editor of Durango, an editor of Veracruz, a disabled Durango editor, an admin."""
    from app.cli import run_loaders

    with app.app_context():
        run_loaders(["states", "local"])
        s = db.session
        create_user(s, "durango@example.org", PASSWORD, role="editor", state_cve=DURANGO,
                    agency="IDAIP Durango")
        create_user(s, "veracruz@example.org", PASSWORD, role="editor", state_cve=VERACRUZ,
                    agency="IVAI Veracruz")
        create_user(s, "off@example.org", PASSWORD, role="editor", state_cve=DURANGO,
                    agency="IDAIP Durango").active = False
        create_user(s, "admin@example.org", PASSWORD, role="admin", agency="SESNA")
        s.commit()
    return app


def commitment_of(state_cve: str) -> int:
    """The id of the first commitment of a state's first local plan (in an app context)."""
    return db.session.scalars(
        select(Commitment.id).join(ActionPlan).where(ActionPlan.state_cve == state_cve)
        .order_by(Commitment.id)
    ).first()


def login(client: FlaskClient, email: str, password: str = PASSWORD):  # noqa: ANN201
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def as_user(local_app: Flask) -> Iterator:
    """A factory of test clients signed in as the given email (None: anonymous)."""

    def factory(email: str | None) -> FlaskClient:
        client = local_app.test_client()
        if email:
            assert login(client, email).status_code == 302
        return client

    yield factory
