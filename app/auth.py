"""Accounts: how Flask-Login finds the signed-in user."""

from __future__ import annotations

from app.extensions import db, login_manager
from app.models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the active user with this id, if any."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None
