"""Rotating the secret key: SECRET_KEY_FALLBACKS keeps sessions signed with a former key.

Each app below is a deploy of the same site on the same database with other keys: a session
cookie taken from one is presented to another, as a browser would after a restart.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app import create_app
from app.accounts.service import create_user
from app.extensions import db
from app.settings import load_settings

PASSWORD = "correct horse battery"
SIGNED_IN_ONLY = "/account/password"  # 200 when signed in, a redirect to /login otherwise


@pytest.fixture
def deploy(app: Flask, make_app):  # noqa: ANN201
    """A factory of apps on the test database (with one admin) signed with the given keys."""
    with app.app_context():
        create_user(db.session, "admin@example.org", PASSWORD, role="admin", agency="SESNA")
        db.session.commit()

    def factory(key: str, fallbacks: tuple[str, ...] = ()) -> Flask:
        return make_app(SECRET_KEY=key, SECRET_KEY_FALLBACKS=fallbacks)

    return factory


def _session_cookie(app: Flask) -> str:
    """Sign in on ``app``; the session cookie it sets."""
    client = app.test_client()
    response = client.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(SIGNED_IN_ONLY).status_code == 200
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def _status_with(app: Flask, cookie: str) -> int:
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client.get(SIGNED_IN_ONLY).status_code


def test_a_session_signed_with_the_former_key_stays_signed_in_after_rotation(deploy):
    cookie = _session_cookie(deploy("old-key"))
    assert _status_with(deploy("new-key", ("old-key",)), cookie) == 200
    # Without the fallback the same cookie is refused: the setting is what keeps the user in.
    assert _status_with(deploy("new-key"), cookie) == 302


def test_a_session_signed_with_an_unknown_key_is_not_signed_in(deploy):
    cookie = _session_cookie(deploy("someone-elses-key"))
    assert _status_with(deploy("new-key", ("old-key",)), cookie) == 302


def test_new_sessions_are_signed_with_the_current_key(deploy):
    cookie = _session_cookie(deploy("new-key", ("old-key",)))
    assert _status_with(deploy("new-key"), cookie) == 200  # no fallback needed
    assert _status_with(deploy("old-key"), cookie) == 302


def test_fallbacks_come_from_the_environment_as_a_list(tmp_path):
    values = load_settings(str(tmp_path), environ={"FLASK_SECRET_KEY_FALLBACKS": "old-1, old-2"})
    assert values["SECRET_KEY_FALLBACKS"] == ("old-1", "old-2")
    assert load_settings(str(tmp_path), environ={})["SECRET_KEY_FALLBACKS"] == ()


def test_one_string_as_fallbacks_is_refused(tmp_path):
    """Flask would take each character for a key (a one-letter key signs any cookie)."""
    with pytest.raises(RuntimeError, match="SECRET_KEY_FALLBACKS"):
        create_app({"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": "old-key",
                    "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
