"""Accounts: passwords (argon2), users, and the one rule of who may edit what.

Functions take a session and never commit. There is no default account: ``create_user``
(called by ``flask users create``) is the only way one comes to exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from app.models import State, User
from common.codes import ROLES

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
    user = find_user(session, email)
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
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
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no account for {normal_email(email)}")
    user.active = active
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not _verify(user.password_hash, current):
        raise AccountError("wrong current password")
    user.password_hash = hash_password(new)


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.role, User.state_cve, User.email)).all()


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
