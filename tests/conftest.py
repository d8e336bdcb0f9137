"""Fixtures shared by every test: app, client, runner, a database of its own per test, a browser.

Each test's database is a copy of a template prepared once per session (per xdist worker, see
``tests/databases.py``): a temporary SQLite file, or, when TEST_DATABASE_URL names a
PostgreSQL server, a database created from a template on that server and dropped afterwards.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.serving import make_server

from tests.databases import Databases, Isolation, build_app, dispose, kind_for, worker_id

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEST_OUTPUT = ROOT / "test-output"
CHROMIUM = "/usr/bin/chromium"


def shared_path(*parts: str) -> Path:
    """Return ``../shared/<parts>``, the real data beside the checkout, or skip the calling test.

    Call it inside a test or fixture, never at import time, so a clone without ``../shared``
    still collects. The last part may be a glob pattern (``"001_*.txt"``); it must match one
    file. With CI=true a missing ``../shared`` fails instead of skipping (CI always has it);
    a ``../shared`` that is there but lacks the file always fails.
    """
    path = SHARED.joinpath(*parts)
    shown = "../shared/" + "/".join(parts)
    if not SHARED.is_dir():
        reason = f"needs {shown} (the project's shared data folder), absent in this clone"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{reason}; CI must provide {SHARED}", pytrace=False)
        pytest.skip(reason)
    if any(ch in parts[-1] for ch in "*?["):
        matches = sorted(path.parent.glob(path.name))
        if len(matches) != 1:
            pytest.fail(f"{shown} matches {len(matches)} files in {SHARED}, not 1", pytrace=False)
        return matches[0]
    if not path.exists():
        pytest.fail(f"{shown} is missing although {SHARED} is there", pytrace=False)
    return path


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return [f"database: SQLite {sqlite3.sqlite_version} (temporary files)"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("select version()")).scalar_one()
    engine.dispose()
    return [f"database: {version}"]


# The longest tests (tens of seconds each: --durations lists them), run first so that
# pytest-xdist's workers do not end with one of them alone on one worker while the other
# waits. Only the order changes; the tests themselves do not depend on it (a run with -n 0
# gives the same results).
LONG_FIRST = ("test_hostile_signed_in.py", "test_api_schemathesis.py", "test_stack.py",
              "test_accessibility_browser.py", "test_faults.py", "test_fieldwork_hostile.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected


# Python's garbage collector, tuned for a process that makes thousands of apps: the objects
# alive once the tests are collected (every module, the app's code) are frozen out of the
# collections (``gc.freeze``), and the youngest generation is collected every 10,000 new
# objects rather than 700. In a whole SQLite run the collector took 33 s of the two workers'
# time, now 15 s (``gc.callbacks`` timing each collection). At the end the rest is frozen too:
# Python's shutdown then does not collect a worker's objects again and again while it empties
# each module (on a few test files, the last test's end to pytest's own went from 3.3 s to
# 1.2 s).
def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(10_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    gc.freeze()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The prepared databases of this session (of this xdist worker), built on first use."""
    prepared = Databases(tmp_path_factory.mktemp("templates"),
                         os.environ.get("TEST_DATABASE_URL"), worker_id())
    yield prepared
    prepared.close()


@dataclass(frozen=True)
class TestDatabase:
    """The test's database: its URL, and on PostgreSQL the share of a database kept between
    tests (``Isolation``) when the test may use one."""

    url: str
    isolation: Isolation | None = None


# Fixtures that use the database beyond the apps ``make_app`` makes in the test's own thread,
# so their tests get a copy of their own: ``database_url`` hands the URL to other processes
# (commands, gunicorn hosts, a second engine), and a live server or a browser's page reaches
# the app from other threads (a shared connection serves one thread).
OWN_DATABASE_FIXTURES = frozenset({"database_url", "live_server", "browser", "page"})


@pytest.fixture
def database(request: pytest.FixtureRequest, databases: Databases,
             tmp_path: Path) -> Iterator[TestDatabase]:
    """The test's own database: a copy of the template its fixtures ask for, or empty.

    ``kind_for`` reads the fixtures the test uses (``seeded_app``, ``local_app``...); a test
    with ``make_app`` alone gets an empty database (migrations, tables it creates itself).
    On PostgreSQL, a test that only uses apps from ``make_app`` in its own thread shares a
    copy kept between tests, in a transaction rolled back after it (``Databases.isolated``:
    no database to create and drop, no new connection); the others, the tests marked
    ``own_database`` and those starting from an empty database (migrations) get a copy of
    their own, dropped afterwards.
    """
    kind = kind_for(request.fixturenames)
    if (databases.server_url is not None and kind is not None
            and not OWN_DATABASE_FIXTURES & set(request.fixturenames)
            and request.node.get_closest_marker("own_database") is None):
        isolation = databases.isolated(kind)
        yield TestDatabase(isolation.url.render_as_string(hide_password=False), isolation)
        if not isolation.end():
            databases.forget_shared(kind)
            pytest.fail("the test's transaction was committed (a session or connection of "
                        "its own on the engine?): mark the test "
                        "@pytest.mark.own_database(reason)", pytrace=False)
        return
    url = databases.fresh(kind, tmp_path)
    yield TestDatabase(url)
    databases.drop(url)


@pytest.fixture
def database_url(database: TestDatabase) -> str:
    """The URL of the test's own database, for what runs beyond this process's apps
    (commands, app hosts): a test that asks for it never shares its database."""
    return database.url


@pytest.fixture
def make_app(database: TestDatabase, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Return a factory of apps on the test's database (uploaded files kept under the
    test's tmp_path)."""
    apps: list[Flask] = []

    def factory(**overrides: object) -> Flask:
        overrides = {"EVIDENCE_FILES_DIR": str(tmp_path / "evidence-files"), **overrides}
        app = build_app(database.url, **overrides)
        apps.append(app)
        if database.isolation is not None:
            database.isolation.adopt(app)
        return app

    yield factory
    for app in apps:
        dispose(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app on a database with every table created from the models (a template's copy)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def states_app(app: Flask) -> Flask:
    """The app with the 32 states loaded (what every public page needs)."""
    return app


@pytest.fixture
def seeded_app(app: Flask) -> Flask:
    """The app with every seed dataset loaded (as `flask seed all` does)."""
    return app


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class Remote:
    """A Playwright object whose every attribute read and call runs in its owner thread.

    Playwright's sync API runs an event loop in the thread that starts it, and there
    Flask-SQLAlchemy-Lite's async app-context teardown (asgiref) refuses to run; so one worker
    thread owns Playwright and the tests talk to it through this proxy.
    """

    def __init__(self, target: Any, pool: ThreadPoolExecutor):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_pool", pool)

    def _run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        value = self._pool.submit(function, *args, **kwargs).result()
        plain = isinstance(value, str | bytes | int | float | bool | list | dict | tuple)
        return value if value is None or plain else Remote(value, self._pool)

    def __getattr__(self, name: str) -> Any:
        return self._run(getattr, self._target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._pool.submit(setattr, self._target, name, value).result()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._target, *args, **kwargs)

    def __enter__(self) -> Any:
        return self._run(self._target.__enter__)

    def __exit__(self, *exc: Any) -> Any:
        return self._pool.submit(self._target.__exit__, *exc).result()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[tuple[Any, ThreadPoolExecutor]]:
    """Debian's headless Chromium driven by Playwright, owned by one worker thread."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing; run `make test` to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    pool = ThreadPoolExecutor(max_workers=1)
    playwright = pool.submit(lambda: sync_playwright().start()).result()
    chromium = pool.submit(
        playwright.chromium.launch, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    ).result()
    yield chromium, pool
    pool.submit(chromium.close).result()
    pool.submit(playwright.stop).result()
    pool.shutdown()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A fresh page; requests leaving loopback are refused and listed in ``blocked_requests``."""
    chromium, pool = browser
    blocked: list[str] = []

    def open_page() -> tuple[Any, Any]:
        context = chromium.new_context(locale="es-MX")

        def guard(route) -> None:  # type: ignore[no-untyped-def]
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        context.route("**/*", guard)
        return context, context.new_page()

    context, raw_page = pool.submit(open_page).result()
    remote = Remote(raw_page, pool)
    object.__setattr__(remote, "blocked_requests", blocked)
    yield remote
    pool.submit(context.close).result()


@pytest.fixture
def screenshot_dir() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
