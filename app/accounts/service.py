"""Accounts: passwords (argon2), users, and the one rule of who may edit what.

Functions take a session and never commit. There is no default account: ``create_user``
(called by ``flask users create``) is the only way one comes to exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from app.models import SignInAttempt, State, User
from app.models.accounts import new_session_token
from common.codes import ROLES, SIGN_IN_OUTCOMES

MIN_PASSWORD = 12
# argon2id with the library's recommended parameters; the test suite (TESTING) uses the
# cheapest ones so that hundreds of sign-ins stay fast. A hash made with other parameters is
# redone at the next sign-in.
_HASHERS = {
    False: PasswordHasher(),
    True: PasswordHasher.from_parameters(profiles.CHEAPEST),
}
_DUMMY_HASHES: dict[bool, str] = {}


def _hasher() -> PasswordHasher:
    return _HASHERS[has_app_context() and bool(current_app.testing)]


def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both cases take the same time."""
    key = has_app_context() and bool(current_app.testing)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = _HASHERS[key].hash("no account has this password")
    return _DUMMY_HASHES[key]


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    return _hasher().hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normal_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.email) == normal_email(email))
    ).one_or_none()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (same work either way)."""
    return _check_credentials(session, email, password)[0]


def _check_credentials(session: Session, email: str, password: str,
                       ) -> tuple[User | None, User | None, str]:
    """(the active user signed in or None, the account the email names or None, outcome)."""
    user = find_user(session, email)
    if user is None:
        _verify(_dummy_hash(), password)
        return None, None, "unknown_account"
    if not _verify(user.password_hash, password):
        return None, user, "wrong_password"
    if not user.active:
        return None, user, "disabled"
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return user, user, "success"


@dataclass(frozen=True)
class SignIn:
    """What came of a sign-in attempt: the user to sign in (None when refused) and why."""

    user: User | None
    outcome: str  # a code of SIGN_IN_OUTCOMES


def sign_in(session: Session, email: str, password: str, address: str | None) -> SignIn:
    """Check the credentials and record the attempt (time, client address, outcome).

    The caller commits, whatever the outcome: failed attempts are recorded too.
    """
    user, account, outcome = _check_credentials(session, email, password)
    record_attempt(session, account, address, outcome)
    return SignIn(user, outcome)


def record_attempt(session: Session, user: User | None, address: str | None,
                   outcome: str) -> SignInAttempt:
    if outcome not in SIGN_IN_OUTCOMES:
        raise ValueError(f"unknown sign-in outcome {outcome!r}")
    attempt = SignInAttempt(user_id=user.id if user is not None else None,
                            address=(address or "")[:45] or None, outcome=outcome)
    session.add(attempt)
    return attempt


# --- Sessions that end ----------------------------------------------------------------------


def end_sessions(user: User) -> None:
    """End every session of ``user``: their cookies carry the old session token."""
    user.session_token = new_session_token()


def sign_out_everywhere(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no account for {normal_email(email)}")
    end_sessions(user)
    return user


def create_user(
    session: Session, email: str, password: str, *, role: str, state_cve: str | None = None,
    agency: str | None = None,
) -> User:
    """Add an account; an editor needs a known state and an agency."""
    email = normal_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (allowed: {', '.join(ROLES.codes)})")
    agency = (agency or "").strip() or None
    if role == "editor":
        if not state_cve or session.get(State, state_cve) is None:
            raise AccountError("an editor needs --state, the INEGI code of a loaded state")
        if not agency:
            raise AccountError("an editor needs --agency, the agency it acts for")
    elif state_cve:
        raise AccountError("an admin belongs to no state; leave --state out")
    if find_user(session, email) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(
        email=email, name=agency or email.split("@")[0], password_hash=hash_password(password),
        role=role, state_cve=state_cve, agency=agency, active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_active(session: Session, email: str, active: bool) -> User:
    """Disable (ending every session) or enable an account."""
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no account for {normal_email(email)}")
    user.active = active
    if not active:
        end_sessions(user)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """A new password ends every session of the account (the caller signs the current one in
    again) and every reset link issued before."""
    if not _verify(user.password_hash, current):
        raise AccountError("wrong current password")
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    end_sessions(user)


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.role, User.state_cve, User.email)).all()


def attempts(session: Session, user: User | None = None, limit: int = 50,
             ) -> Sequence[SignInAttempt]:
    """The latest sign-in attempts, newest first: of ``user``, or of every account."""
    stmt = select(SignInAttempt).order_by(SignInAttempt.at.desc(), SignInAttempt.id.desc())
    if user is not None:
        stmt = stmt.where(SignInAttempt.user_id == user.id)
    return session.scalars(stmt.limit(limit)).all()


@dataclass(frozen=True)
class AccountPage:
    """The account page: who the user is and their latest sign-ins and failed attempts."""

    user: User
    attempts: Sequence[SignInAttempt]


def account_page(session: Session, user: User) -> AccountPage:
    return AccountPage(user, attempts(session, user, limit=30))


@dataclass
class UserRow:
    user: User
    last_sign_in: datetime | None = None
    failed_since: int = 0  # failed attempts since the last sign-in (or ever)


@dataclass
class UsersPage:
    """The admin's users page: every account with its last sign-in, and the latest attempts
    on every account (and on addresses that have none)."""

    rows: list[UserRow] = field(default_factory=list)
    attempts: Sequence[SignInAttempt] = ()
    emails: dict[int, str] = field(default_factory=dict)


def users_page(session: Session) -> UsersPage:
    rows = [UserRow(u) for u in users(session)]
    by_id = {r.user.id: r for r in rows}
    last = dict(session.execute(
        select(SignInAttempt.user_id, func.max(SignInAttempt.at))
        .where(SignInAttempt.outcome == "success").group_by(SignInAttempt.user_id)).all())
    for row in rows:
        row.last_sign_in = last.get(row.user.id)
    failed = select(SignInAttempt.user_id, SignInAttempt.at).where(
        SignInAttempt.outcome.in_(("wrong_password", "disabled")),
        SignInAttempt.user_id.is_not(None))
    for user_id, at in session.execute(failed):
        failed_row = by_id.get(user_id) if user_id is not None else None
        if failed_row is not None and (failed_row.last_sign_in is None
                                       or at > failed_row.last_sign_in):
            failed_row.failed_since += 1
    return UsersPage(rows, attempts(session, limit=100),
                     {r.user.id: r.user.email for r in rows})


# --- Password reset links ---------------------------------------------------------------------

_RESET_SALT = "password-reset"


def _serializer() -> URLSafeTimedSerializer:
    """Signs with SECRET_KEY; also accepts links signed with SECRET_KEY_FALLBACKS (itsdangerous
    signs with the last key of the list and verifies with each)."""
    keys = [*current_app.config.get("SECRET_KEY_FALLBACKS", ()), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=_RESET_SALT)


def _fingerprint(user: User) -> str:
    """Changes with the password: a link made before a password change no longer works."""
    return hashlib.sha256(f"{user.id}:{user.password_hash}".encode()).hexdigest()[:20]


def reset_token(session: Session, email: str) -> tuple[User, str]:
    """A signed reset token for the account of ``email``: valid for PASSWORD_RESET_HOURS and
    once (setting a password changes the fingerprint it carries)."""
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no account for {normal_email(email)}")
    return user, str(_serializer().dumps([user.id, _fingerprint(user)]))


def user_for_reset(session: Session, token: str) -> User | None:
    """The account a reset token is for, or None when the token is forged, expired or used."""
    max_age = int(current_app.config["PASSWORD_RESET_HOURS"] * 3600)
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=max_age)
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    user = session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or _fingerprint(user) != fingerprint:
        return None
    return user


def reset_password(session: Session, token: str, new: str, address: str | None) -> User:
    """Set the password a reset link allows (once), ending every session; recorded as an
    attempt with outcome ``password_reset``."""
    user = user_for_reset(session, token)
    if user is None:
        raise AccountError("the reset link is invalid, expired or already used")
    set_password(user, new)
    record_attempt(session, user, address, "password_reset")
    return user


# --- Who may edit what -----------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """What the audit trail records of a signed-in user: the public name and the account."""

    name: str
    user: User


def actor_of(user: User) -> Actor:
    """The public name of a user's changes: the agency, never the email."""
    return Actor(user.agency or str(ROLES["admin"] if user.role == "admin" else user.name), user)


def can_edit_state(user: object, state_cve: str | None) -> bool:
    """An admin edits everything; an editor only their own state's records."""
    # Anonymous visitors are not Users; current_user's proxy passes isinstance as its user.
    if not isinstance(user, User) or not user.is_authenticated or not user.active:
        return False
    if user.role == "admin":
        return True
    return state_cve is not None and user.state_cve == state_cve


def require_state(user: object, state_cve: str | None) -> None:
    """403 unless ``user`` may edit the records of ``state_cve``."""
    if not can_edit_state(user, state_cve):
        raise Forbidden()


def is_admin(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "active", False)
                and getattr(user, "role", None) == "admin")


def require_admin(user: object) -> None:
    if not is_admin(user):
        raise Forbidden()
