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
    _template_bytecode_cache(app)

    app.config.update(load_settings(app.instance_path))
    if test_config:
        app.config.update(test_config)
    _check_secret_key(app)
    app.config["SQLALCHEMY_ENGINES"] = {"default": app.config["DATABASE_URL"]}

    # auth registers the user loader; records hides soft-deleted rows from every query.
    from . import auth, errors, i18n, params, records  # noqa: F401
    from .accounts import security
    from .extensions import alembic, babel, csrf, db, login_manager

    db.init_app(app)
    # HTTP validators (ETag, Last-Modified, 304) and compression: first, so its after-request
    # hook runs after every other one (Flask runs them in reverse) and sees their cookies.
    from . import httpcache

    httpcache.init_app(app)
    alembic.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    security.init_app(app)
    i18n.init_app(app)
    params.init_app(app)
    errors.init_app(app)
    from . import ops  # /healthz, the JSON request log, database failures as 503

    ops.init_app(app)
    _register_sql_functions(app)

    # Each area's routes (and commands) live in its views (and cli) module.
    from .accounts import cli as _accounts_cli  # noqa: F401
    from .accounts import views as accounts_views
    from .edit import views as edit_views
    from .main import views as main_views
    from .maps import cli as _maps_cli  # noqa: F401
    from .maps import views as maps_views
    from .metric import cli as _metric_cli  # noqa: F401
    from .metric import views as metric_views
    from .metric.fieldwork import views as fieldwork_views
    from .plans import views as plans_views
    from .sources import views as sources_views
    from .states import views as states_views

    for area in (main_views, states_views, plans_views, metric_views, fieldwork_views,
                 maps_views, accounts_views, edit_views, sources_views):
        app.register_blueprint(area.bp)

    from . import api, cli
    from .opendata import cli as opendata_cli
    from .opendata import views as opendata_views

    app.register_blueprint(opendata_views.bp)
    api.init_app(app)
    cli.init_app(app)
    opendata_cli.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # Outermost: every hook and the rate limiter see the client's address and host.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's way to add middleware
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    return app


# How long an SQLite statement waits for another connection's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _configure_sqlite(dbapi_connection: Any, record: Any = None) -> None:
    """Every SQLite connection: the SQL function ``fold`` (see common.text), write-ahead
    logging (readers are never blocked by a writer, e.g. pages during a long import) and a
    busy timeout (a second writer waits for the first instead of failing at once)."""
    from common.text import register_sqlite

    register_sqlite(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # kept by the file; "memory" in memory
    finally:
        cursor.close()


def _register_sql_functions(app: Flask) -> None:
    """Configure every SQLite connection as it opens (``_configure_sqlite``)."""
    from sqlalchemy import event

    from .extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _configure_sqlite)


def _template_bytecode_cache(app: Flask) -> None:
    """Keep the templates' compiled code in instance/template-cache (Jinja's own
    FileSystemBytecodeCache): each process, each gunicorn worker and each app made after the
    first (the tests make one per test) loads it instead of compiling every template again.
    Jinja checks each entry against its template's source and its own version, so an edited
    template is compiled anew; entries are written to a temporary file and renamed."""
    from jinja2 import FileSystemBytecodeCache

    folder = os.path.join(app.instance_path, "template-cache")
    os.makedirs(folder, exist_ok=True)
    app.jinja_options = {**app.jinja_options,
                         "bytecode_cache": FileSystemBytecodeCache(folder)}


def _check_secret_key(app: Flask) -> None:
    """Refuse to start without a SECRET_KEY unless developing or testing."""
    if isinstance(app.config.get("SECRET_KEY_FALLBACKS"), str | bytes):
        # Flask would take each character of a string for a key.
        raise RuntimeError("SECRET_KEY_FALLBACKS must be a list of keys, not one string.")
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("DEVELOPMENT") or app.config.get("TESTING"):
        app.config["SECRET_KEY"] = "development-only-not-secret"
        return
    raise RuntimeError(
        "SECRET_KEY is not set. Set FLASK_SECRET_KEY (or FLASK_DEVELOPMENT=1 for local work)."
    )
