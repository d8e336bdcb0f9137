"""Fixtures of the fieldwork tests: a SYNTHETIC round set up with accounts in every role.

All of it is made up (tests/metrics/fieldwork_data.py): two synthetic institutions, coded by
two coders each, whose answers give known component scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import records
from app.accounts.service import create_user
from app.extensions import db
from app.metric.fieldwork import service
from app.models import FieldworkRound, Institution, User
from metrics.fieldwork import Answer, load_instruments
from tests.metrics.fieldwork_data import TEMPLATE, institutions

PASSWORD = "correct horse battery"
YEAR = 2026
A_KEY, B_KEY = "state:01:synthetic-a", "municipal:22:synthetic-b"
EMAILS = ("admin", "coord", "coder1", "coder2", "reviewer", "outsider")


def user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == f"{email}@example.org")).one()


def institution(key: str) -> Institution:
    return db.session.scalars(select(Institution).where(Institution.key == key)).one()


def fw() -> FieldworkRound:
    return service.get_round(db.session, YEAR)


def enter(coder: str, key: str, answers: Mapping[tuple[str, int], Answer]) -> None:
    """Record ``answers`` as ``coder`` for the institution ``key`` (in an app context)."""
    who, where, round_ = user(coder), institution(key), fw()
    for (item, occasion), answer in answers.items():
        service.record_observation(
            db.session, who, round_, where, item,
            service.ObservationInput(answer.value, answer.sent_on, answer.acknowledged_on,
                                     answer.answered_on, folio="330000000001" if
                                     answer.sent_on else None),
            occasion=occasion)


def make_accounts() -> None:
    s = db.session
    create_user(s, "admin@example.org", PASSWORD, role="admin", agency="SYNTHETIC admin")
    for name in EMAILS[1:]:
        create_user(s, f"{name}@example.org", PASSWORD, role="editor", state_cve="01",
                    agency=f"SYNTHETIC {name}")


def make_institutions(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        records.create(db.session, Institution, {
            "key": row["key"], "name": row["name"], "level": row["level"], "kind": row["kind"],
            "state_cve": row["state"]}, actor="test", source="SYNTHETIC")


@pytest.fixture
def fieldwork_app(metric_seeded: Flask) -> Flask:
    """States and metric seeds, six accounts, two SYNTHETIC institutions, and round 2026 set up
    from the shipped template (two requests, one proposal), both institutions sampled and
    assigned to both coders (double coding of the whole sample)."""
    with metric_seeded.app_context():
        s = db.session
        make_accounts()
        make_institutions(institutions().to_dict("records"))
        admin = user("admin")
        template = load_instruments(TEMPLATE)
        service.create_round(
            s, admin, year=YEAR, label="SYNTHETIC fieldwork round 2026",
            source="SYNTHETIC test round", instruments=dict(template.raw), requests=2,
            proposals=1, double_share=1.0, seed=7, coordinators=[user("coord")])
        round_ = fw()
        coord = user("coord")
        for name, role in (("coder1", "coder"), ("coder2", "coder"), ("reviewer", "reviewer")):
            service.add_member(s, coord, round_, user(name), role)
        service.draw_sample(s, coord, round_, listed=[A_KEY, B_KEY])
        service.assign_coders(s, coord, round_, [user("coder1"), user("coder2")])
        s.commit()
    return metric_seeded
