"""Accounts: how Flask-Login finds the signed-in user, and when a session ends.

The session cookie (signed with SECRET_KEY) holds the account's id and its session token
(``User.get_id``: Flask-Login's "alternative token"), the time of the sign-in and the time the
session was last used. On every request the user is loaded only if:

- the account exists, is active and still has that session token: a new token (sign-out,
  password change or reset, disable, an admin's "sign out everywhere") ends every session
  signed in before, also a cookie copied elsewhere;
- the session was used within ``SESSION_IDLE_MINUTES`` and began within
  ``SESSION_LIFETIME_MINUTES``.

Otherwise the request is anonymous and the session's sign-in is forgotten. A signed-out reader
who opens a page for accounts goes to the sign-in form with Flask-Login's flash, which is the
site's own text translated when flashed (``localize_callback``), never Flask-Login's English.
"""

from __future__ import annotations

import hmac
import time

from flask import current_app, session
from flask_babel import gettext
from flask_login import login_user, logout_user

from app.extensions import db, login_manager
from app.models import User
from app.params import MAX_ID
from common.codes import N_

# Flask-Login flashes these through ``localize_callback`` (a lazy string could not be kept in
# the session cookie): the reader's language at the moment of the redirect.
login_manager.login_message = N_("Inicie sesión para abrir esta página.")
login_manager.login_message_category = "info"
login_manager.needs_refresh_message = N_("Vuelva a iniciar sesión para continuar.")
login_manager.needs_refresh_message_category = "info"
login_manager.localize_callback = gettext

SIGNED_IN_AT = "_signed_in_at"
SEEN_AT = "_seen_at"
# The last-use time is rewritten at most this often (each rewrite sends a new cookie).
SEEN_RESOLUTION = 60


def _session_current(now: float) -> bool:
    config = current_app.config
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int | float) or not isinstance(seen, int | float):
        return False
    return (now - seen <= config["SESSION_IDLE_MINUTES"] * 60
            and now - signed_in <= config["SESSION_LIFETIME_MINUTES"] * 60)


def _forget() -> None:
    for key in ("_user_id", "_fresh", "_id", SIGNED_IN_AT, SEEN_AT):
        session.pop(key, None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the active user whose id and session token the session holds, while the
    session is neither idle too long nor too old."""
    ident, _sep, token = user_id.partition(":")
    now = time.time()
    user = None
    if ident.isascii() and ident.isdigit() and len(ident) <= 10 and int(ident) <= MAX_ID \
            and token and _session_current(now):
        user = db.session.get(User, int(ident))
    if user is None or not user.active or not hmac.compare_digest(
            user.session_token.encode(), token.encode()):
        _forget()
        return None
    if now - session[SEEN_AT] >= SEEN_RESOLUTION:
        session[SEEN_AT] = int(now)
    return user


def start_session(user: User, *, keep_start: bool = False) -> None:
    """Sign ``user`` in on this session (again, after a password change: ``keep_start``
    keeps the time of the sign-in, so the lifetime is not extended)."""
    started = session.get(SIGNED_IN_AT) if keep_start else None
    login_user(user)
    now = int(time.time())
    session[SIGNED_IN_AT] = started if isinstance(started, int) else now
    session[SEEN_AT] = now


def end_session() -> None:
    """Forget this session's sign-in (the caller has ended the account's sessions)."""
    logout_user()
    _forget()
