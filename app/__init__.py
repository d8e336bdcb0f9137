"""The Flask application: ``create_app`` reads as the table of contents."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .settings import load_settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the application: settings, extensions, blueprints and commands."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    app.config.update(load_settings(app.instance_path))
    if test_config:
        app.config.update(test_config)
    _check_secret_key(app)
    app.config["SQLALCHEMY_ENGINES"] = {"default": app.config["DATABASE_URL"]}

    from . import auth, i18n  # noqa: F401  (auth registers the user loader)
    from .extensions import alembic, babel, csrf, db, login_manager

    db.init_app(app)
    alembic.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)

    from . import main, maps, metric, plans, states

    app.register_blueprint(main.bp)
    app.register_blueprint(states.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(metric.bp)
    app.register_blueprint(maps.bp)

    from . import cli

    cli.init_app(app)
    return app


def _check_secret_key(app: Flask) -> None:
    """Refuse to start without a SECRET_KEY unless developing or testing."""
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("DEVELOPMENT") or app.config.get("TESTING"):
        app.config["SECRET_KEY"] = "development-only-not-secret"
        return
    raise RuntimeError(
        "SECRET_KEY is not set. Set FLASK_SECRET_KEY (or FLASK_DEVELOPMENT=1 for local work)."
    )
