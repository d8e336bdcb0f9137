"""Fixtures for accounts and editing: the states and local plans loaded, and a few accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.accounts.service import create_user
from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, Milestone, User

PASSWORD = "correct horse battery"
DURANGO, VERACRUZ = "10", "30"


def add_accounts(app: Flask) -> None:
    """An editor of Durango, an editor of Veracruz, a disabled Durango editor, an admin."""
    with app.app_context():
        s = db.session
        create_user(s, "durango@example.org", PASSWORD, role="editor", state_cve=DURANGO,
                    agency="IDAIP Durango")
        create_user(s, "veracruz@example.org", PASSWORD, role="editor", state_cve=VERACRUZ,
                    agency="IVAI Veracruz")
        create_user(s, "off@example.org", PASSWORD, role="editor", state_cve=DURANGO,
                    agency="IDAIP Durango").active = False
        create_user(s, "admin@example.org", PASSWORD, role="admin", agency="SESNA")
        s.commit()


@pytest.fixture
def local_app(app: Flask) -> Flask:
    """The app with the states and the local plans loaded, and the accounts of
    ``add_accounts`` (the "local" template of tests/databases.py)."""
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


# Who may not edit Durango's records, and the answer: anonymous and an editor disabled while
# signed in go to sign in (302), the Veracruz editor is refused (403).
REFUSED = [(None, 302), ("off@example.org", 302), ("veracruz@example.org", 403)]


def refused_client(app: Flask, as_user: Callable[[str | None], FlaskClient],
                   who: str | None) -> FlaskClient:
    """A client for one of ``REFUSED``: "off@example.org" stands for the Durango editor signed
    in, then disabled (a session that must end)."""
    if who != "off@example.org":
        return as_user(who)
    client = as_user("durango@example.org")
    with app.app_context():
        db.session.scalars(select(User).where(User.email == "durango@example.org")).one() \
            .active = False
        db.session.commit()
    return client


def last_event_id(app: Flask) -> int | None:
    """The newest audit event's id: the events of a test are those after it."""
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.id)))


def responses(client: FlaskClient, actions: list) -> Iterator[tuple[str, str, TestResponse]]:
    """Send each (method, url, form) of ``actions``; yield its method, url and response."""
    for method, url, data in actions:
        yield method, url, getattr(client, method)(url, data=data)


def assert_refused(client: FlaskClient, actions: list, expected: int) -> None:
    """Every (method, url, form) of ``actions`` answers ``expected``; a 302 goes to sign in."""
    for method, url, response in responses(client, actions):
        assert response.status_code == expected, (method, url)
        if expected == 302:
            assert response.headers["Location"].startswith("/login"), url


def add_milestone(session: Session, user: User, commitment: Commitment,
                  values: dict[str, Any], *, source: str,
                  evidence: dict[str, Any] | None = None) -> Milestone:
    """Add a milestone as the milestone form does (the edit service, next number), with an
    evidence item given as its source when ``evidence``."""
    from app.edit import kinds, service

    kind = kinds.KINDS["milestone"]
    full = kind.new_values(session, user, commitment, values)
    milestone: Milestone = service.create_record(
        session, user, kind.schema, full, state_cve=commitment.plan.state_cve, source=source,
        evidence=evidence)
    return milestone
