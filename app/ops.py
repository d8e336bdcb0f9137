"""Running the site: ``/healthz``, one JSON log line per request, database failures as 503.

- ``GET /healthz`` checks that the database answers and accepts a write (an insert rolled
  back at once): ``200 {"status": "ok"}`` or ``503 {"status": "unavailable", ...}`` when the
  server is down, the database is read-only or full. It is never cached.
- Every request writes one JSON line to the ``app.requests`` logger (stderr under gunicorn):
  time, method, path, query, status, duration in milliseconds, bytes sent, what a cache may
  do with the response (``public``: rendered, a shared cache may keep it; ``not-modified``: a
  304 answered without rendering; ``private``: never kept, e.g. signed in, an error or a
  cookie) and the worker's pid. ``REQUEST_LOG`` turns it off.
- A database that cannot answer or cannot write (connection lost, read-only, disk full) gives
  the site's own 503 page (JSON for API clients), never a stack trace; the error is logged.
- ``flask error-pages DIR`` writes the site's 503 page in each interface language as static
  files (``503.es.html``, ``503.en.html``): nginx answers them when no app host does
  (deploy/nginx.conf).
- A process that serves or runs commands (``wsgi.py``: gunicorn's hosts, ``flask ...``) exits
  quickly: ``exit_quickly`` closes its database connections and collects what is garbage,
  then spares Python's own collections during shutdown (half a second for this app).
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import click
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    request,
    request_finished,
    request_started,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError
from werkzeug.exceptions import ServiceUnavailable

from app.errors import render_error
from app.extensions import db
from app.httpcache import private
from app.models import DataRevision

bp = Blueprint("ops", __name__)
log = logging.getLogger("app.requests")
PROBE = "~healthz-probe"
PROBE_WAIT_MS = 250  # how long /healthz waits for another writer on SQLite


@bp.get("/healthz")
@private
def healthz() -> Response:
    """Check the database: a read, then a write rolled back.

    On SQLite a write waits while another process writes (an import holds the write lock for
    its whole transaction): the probe waits at most ``PROBE_WAIT_MS`` and then answers 200
    with ``"database": "busy"``, since a database that another writer holds is writable.
    """
    session = db.session
    sqlite = session.get_bind().dialect.name == "sqlite"
    state, problem = "ok", None
    try:
        session.execute(select(DataRevision.dataset).limit(1)).all()
        if sqlite:
            _sqlite_wait(PROBE_WAIT_MS)
        session.execute(delete(DataRevision).where(DataRevision.dataset == PROBE))
        session.execute(insert(DataRevision).values(dataset=PROBE, revision=0,
                                                    changed_at=datetime.now(UTC)))
        session.rollback()
    except DBAPIError as error:
        session.rollback()
        if sqlite and "locked" in str(error.orig).lower():
            state = "busy"
        else:
            current_app.logger.warning("healthz: database unavailable: %s", error.orig)
            problem = _database_problem(error)
    finally:
        if sqlite:
            _sqlite_wait(None)
    if problem is None:
        response = jsonify(status="ok", database=state)
    else:
        response = jsonify(status="unavailable", database=problem)
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _sqlite_wait(milliseconds: int | None) -> None:
    """Set the busy timeout of the session's SQLite connection (None: the usual one)."""
    from app import SQLITE_BUSY_TIMEOUT_MS

    wait = SQLITE_BUSY_TIMEOUT_MS if milliseconds is None else milliseconds
    try:
        db.session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {int(wait)}")
        if milliseconds is None:
            db.session.rollback()
    except DBAPIError:
        db.session.rollback()


def _database_problem(error: DBAPIError) -> str:
    text = str(error.orig).lower()
    if "read-only" in text or "readonly" in text or "read only" in text:
        return "read-only"
    if "full" in text or "no space" in text:
        return "full"
    return "unreachable"


def database_unavailable(error: DBAPIError) -> Any:
    """The site's 503 page for a database that cannot answer or cannot write."""
    current_app.logger.error("database error on %s %s: %s", request.method, request.path,
                             error.orig)
    db.session.rollback()
    problem = _database_problem(error)
    if problem == "read-only":
        detail = _("La base de datos está en modo de solo lectura: los cambios no pueden "
                   "guardarse por ahora.")
    elif problem == "full":
        detail = _("La base de datos no tiene espacio libre: los cambios no pueden guardarse "
                   "por ahora.")
    else:
        detail = _("La base de datos no responde por el momento.")
    return render_error(ServiceUnavailable(), detail)


# --- The request log -----------------------------------------------------------------------


def _started(sender: Flask, **extra: Any) -> None:
    g._ops_started = time.perf_counter()


def _finished(sender: Flask, response: Response, **extra: Any) -> None:
    ctx = g.get("httpcache")
    if ctx is None or not ctx.public:
        cache = "private"
    elif response.status_code == 304:
        cache = "not-modified"
    else:
        cache = "public"
    log_request(request.method, request.path, request.query_string.decode("latin-1"),
                response.status_code, g.get("_ops_started"), response.content_length, cache)


def log_request(method: str, path: str, query: str, status: int, started: float | None,
                size: int | None, cache: str) -> None:
    """Write the request's JSON line."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(json.dumps({
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        "bytes": size,
        "cache": cache,
        "pid": os.getpid(),
    }, ensure_ascii=False))


def _configure_log(app: Flask) -> None:
    if not app.config.get("REQUEST_LOG", True) or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _drop_async_session_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy-Lite closes async sessions in an ``async`` teardown, which Flask runs
    through asgiref on every request (a thread and an event loop: milliseconds each time).
    The site has no async engine, so that teardown has nothing to do: drop it."""
    if app.config.get("SQLALCHEMY_ASYNC_ENGINES"):
        return
    app.teardown_appcontext_funcs[:] = [
        f for f in app.teardown_appcontext_funcs
        if getattr(f, "__name__", "") != "_close_async_sessions"
    ]


@click.command("error-pages")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def error_pages(folder: Path) -> None:
    """Write the site's 503 page in each language (503.LANG.html) into FOLDER, for the proxy
    to answer when no app host does."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug proxy
    folder.mkdir(parents=True, exist_ok=True)
    for lang in app.config["LANGUAGES"]:
        # A fresh app context each time: Flask-Babel keeps the language in it.
        with app.app_context(), app.test_request_context(
                "/", query_string={"lang": lang}, headers={"Accept": "text/html"}):
            response = render_error(ServiceUnavailable())
            path = folder / f"503.{lang}.html"
            path.write_bytes(response.get_data())
        path.chmod(0o644)
        click.echo(str(path))


def _quiet_session_teardown(app: Flask) -> None:
    """Closing a request's session rolls its transaction back; when the database has just gone
    away (restarted, connection cut) that rollback fails after the response is made, and Flask
    would turn it into a bare 500 instead of the answer already built. SQLAlchemy drops the
    broken connection anyway (the pool pings the next one): log the failure and go on."""
    for index, func in enumerate(app.teardown_appcontext_funcs):
        if getattr(func, "__name__", "") == "_close_sessions":
            # Flask-SQLAlchemy-Lite's is a plain function (its async one is not registered).
            app.teardown_appcontext_funcs[index] = _closing_quietly(
                cast(Callable[[BaseException | None], None], func))


def _closing_quietly(
    close: Callable[[BaseException | None], None],
) -> Callable[[BaseException | None], None]:
    def _close_sessions_quietly(error: BaseException | None) -> None:
        try:
            close(error)
        except DBAPIError as failure:
            logging.getLogger(__name__).warning(
                "closing the request's database session failed: %s", failure.orig)

    return _close_sessions_quietly


def exit_quickly(app: Flask) -> None:
    """At the exit of this process, close ``app``'s database connections and collect what is
    garbage once, then freeze the rest (``gc.freeze``) so that Python's shutdown does not
    collect the same objects again and again while it empties each module: for the app's
    ~200,000 objects that took 0.4-0.7 s of a core at each exit, about 0.1 s with this. Nothing is
    left unwritten: connections are closed (a PostgreSQL server sees a clean goodbye, SQLite
    ends its write-ahead log), every file and log handler that is garbage is finalized by the
    collection, and the logging module closes its handlers after this (atexit runs in reverse
    order, and logging registered first). For the process that is the site or a command
    (``wsgi.py``), not for apps made inside another program (the tests make thousands)."""

    def close_then_freeze() -> None:
        with app.app_context():
            db.session.close()
            for engine in db.engines.values():
                engine.dispose()
        gc.collect()
        gc.freeze()

    atexit.register(close_then_freeze)


def init_app(app: Flask) -> None:
    _drop_async_session_teardown(app)
    _quiet_session_teardown(app)
    app.register_blueprint(bp)
    app.cli.add_command(error_pages)
    for error in (OperationalError, InternalError):
        app.register_error_handler(error, database_unavailable)
    if app.config.get("REQUEST_LOG", True):
        _configure_log(app)
        request_started.connect(_started, app)
        request_finished.connect(_finished, app)
