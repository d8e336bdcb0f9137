"""Prepared test databases: each kind is built once per session (per xdist worker), then copied.

A test's database is a copy of a template built once per worker: on SQLite the template file
is copied with SQLite's backup API (a millisecond). On PostgreSQL most tests share one copy
per kind, kept between tests, each in a transaction rolled back after it (``Isolation``: the
apps' sessions join it with savepoints; the sequences are set back before each test, so ids
are those of a new copy). Tests that reach the database beyond their own thread's apps
(commands and app hosts given its URL, live servers, browsers, threads, a second session that
commits on its own) get a copy of their own, created with ``CREATE DATABASE ... TEMPLATE`` and
dropped after the test; while a test runs, the worker already creates the next copy of the
same kind and drops the last test's database in a background thread (the server does that
work while the test's Python runs). The kinds build on each other (``parent``): the seeds are
loaded once per worker instead of once per test.

Which kind a test starts from is read from the fixtures it uses (``FIXTURE_KINDS``, most
specific first): ``seeded_app`` gives every seed dataset, ``local_app`` the states, the local
plans and four accounts, and so on; a test that uses ``app`` alone gets the empty tables, and
one that uses only ``make_app``/``database_url`` gets an empty database (migrations, the
factory's own table creation). The fixtures themselves live in ``tests/conftest.py`` and the
helpers modules; this module only builds and copies databases.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import types
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from app import create_app
from app.extensions import db
from app.models import Base


class ReusedBuilderRule(Rule):
    """A URL rule that reuses, within this process, the URL builder Werkzeug generated for
    the same rule of an earlier app.

    Werkzeug compiles two Python functions per rule as it is added to an app's URL map (the
    URL builders of ``url_for``; ``Rule._compile_builder`` generates their source tree and
    calls ``compile``): about 45 ms of the 70 ms it takes to make the app, and the suite makes
    an app per test, with the same hundred rules every time. The generated function depends
    only on the rule's parsed parts (``_trace``) and whether it appends unknown arguments; it
    reads the rule's converters through its first argument, so one function serves every
    rule with the same parts. Rules with defaults (constants folded into the function) are
    compiled as usual. The tests' apps are otherwise unchanged; the app itself (gunicorn, the
    CLI) keeps Werkzeug's own Rule: it makes one app per process.
    ``tests/app/test_factory.py`` builds every URL of an app both ways and compares them.
    """

    _builders: ClassVar[dict[tuple[object, ...], Callable[..., tuple[str, str]]]] = {}

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        if self.defaults:
            return super()._compile_builder(append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


if hasattr(Rule, "_compile_builder"):  # Werkzeug's private method: else Werkzeug's own way
    Flask.url_rule_class = ReusedBuilderRule


class SharedStatementCache(sa.util.LRUCache[Any, Any]):
    """SQLAlchemy's cache of compiled statements, shared by every engine the tests make.

    An engine keeps the SQL it compiled for each statement (``compiled_cache``), so a page
    compiles its queries once per process; but the suite makes an app, hence an engine, per
    test, and compiling the queries again for each one was most of the extra cost of a test's
    first requests (about 80 ms a test). SQLAlchemy keys each entry on the dialect object, so
    entries of one engine are never found by another; this cache keys them on what the
    dialect's state holds instead (its class, the server's version, its parameter style and
    every other plain setting), so engines of the same kind of database share them. It is
    given to each test app's engines as their ``compiled_cache`` execution option
    (``build_app``); the app itself (gunicorn, the CLI) keeps an engine's own cache.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        super().__init__(capacity)
        self._signatures: weakref.WeakKeyDictionary[sa.Dialect, tuple[object, ...]] = \
            weakref.WeakKeyDictionary()

    def _shared(self, key: object) -> object:
        if type(key) is not tuple or not key or not isinstance(key[0], sa.Dialect):
            return key  # not SQLAlchemy's usual key: an entry of this engine only
        dialect = key[0]
        signature = self._signatures.get(dialect)
        if signature is None:
            plain = sorted((name, value) for name, value in vars(dialect).items()
                           if isinstance(value, str | int | float | bool | tuple | type
                                         | types.ModuleType | types.FunctionType)
                           or value is None)
            signature = self._signatures[dialect] = (type(dialect), tuple(plain))
        return (signature, *key[1:])

    def get(self, key: object, default: object = None) -> object:
        return super().get(self._shared(key), default)

    def __setitem__(self, key: object, value: object) -> None:
        super().__setitem__(self._shared(key), value)

    def __getitem__(self, key: object) -> object:
        return super().__getitem__(self._shared(key))


STATEMENTS = SharedStatementCache()

TEST_CONFIG = {"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False}


def build_app(url: str, **overrides: object) -> Flask:
    """An app on ``url`` with the test settings (CSRF off unless overridden), whose engines
    share the compiled statements of the other test apps (``SharedStatementCache``)."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, **overrides})
    with app.app_context():
        for engine in db.engines.values():
            engine.update_execution_options(compiled_cache=STATEMENTS)
    return app


def dispose(app: Flask) -> None:
    """Close every pooled connection of ``app`` (a template must have none when copied)."""
    with app.app_context():
        db.session.close()
        for engine in db.engines.values():
            engine.dispose()


def _sequence_reset(connection: sa.Connection) -> str | None:
    """One statement that sets every sequence of the database back to where it is now."""
    rows = connection.exec_driver_sql(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), start_value, "
        "last_value "
        "FROM pg_sequences ORDER BY 1").all()
    connection.rollback()
    if not rows:
        return None
    calls = [f"setval('{name}', {start}, false)" if last is None
             else f"setval('{name}', {last}, true)" for name, start, last in rows]
    return "SELECT " + ", ".join(calls)


def _refuse() -> None:
    raise AssertionError(
        "this test shares its database (tests/databases.py, Isolation): it cannot commit or "
        "roll back the connection itself; mark it @pytest.mark.own_database(reason)")


class Isolation:
    """One test's share of a database kept between tests (PostgreSQL): every app the test
    makes on it uses one connection, in a transaction rolled back when the test ends, and the
    apps' sessions join it with savepoints, so a commit is seen by the test and its other apps
    and by nobody after it.

    It is what Flask-SQLAlchemy-Lite's ``db.test_isolation()`` does, with two differences: that
    one opens a connection for every app alive in the process (the suite makes one per test,
    and old ones linger until Python collects them, their databases dropped), and a new one
    each time (a new server process: about 8 ms of the server's CPU); this one takes the apps
    it is given and a connection that stays open from one test to the next.
    """

    def __init__(self, connection: sa.Connection, sequences: str | None):
        self.connection = connection
        self.url = connection.engine.url
        self._patches = contextlib.ExitStack()
        self._transaction = connection.begin()
        if sequences:
            # Sequences are not rolled back: each test starts them where the copy had them,
            # so its rows get the ids they would get in a new copy.
            connection.exec_driver_sql(sequences)
        # Code under test cannot close the connection or end the transaction: its "begin"
        # is a savepoint, and a commit or rollback of the connection itself (which would end
        # the test's transaction, or commit into the database the next tests share) fails.
        self._patches.enter_context(mock.patch.object(connection, "close", lambda: None))
        self._patches.enter_context(
            mock.patch.object(connection, "begin", connection.begin_nested))
        for name in ("commit", "rollback"):
            self._patches.enter_context(mock.patch.object(connection, name, _refuse))

    def adopt(self, app: Flask) -> None:
        """Make ``app``'s engines on this database hand out the test's connection (the app
        lives for this test only: its engines and sessionmaker stay so)."""
        with app.app_context():
            if db.engine.url == self.url:
                # SQLAlchemy's recipe ("Joining a Session into an External Transaction"): the
                # sessions are bound to the connection and begin a savepoint on it.
                db.sessionmaker.configure(bind=self.connection,
                                          join_transaction_mode="create_savepoint")
            for engine in db.engines.values():
                if engine.url == self.url:  # what uses the engine itself gets it too
                    engine.connect = lambda _c=self.connection: _c  # type: ignore[method-assign]  # the test's connection, as test_isolation() does

    def end(self) -> bool:
        """Roll back everything the test wrote; False if the test's transaction had already
        ended (something committed it: the shared database is no longer the template's)."""
        self._patches.close()
        if not self._transaction.is_active:
            return False
        self._transaction.rollback()
        return True


def reset_database(engine: sa.Engine) -> None:
    """Drop every table of the database behind ``engine``, including Alembic's version table."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # one statement instead of table by table: much faster
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


# --- What each kind holds ------------------------------------------------------------------


def _tables(app: Flask) -> None:
    with app.app_context():
        Base.metadata.create_all(db.engine)


def _loaders(*names: str) -> Callable[[Flask], None]:
    def build(app: Flask) -> None:
        from app.cli import run_loaders
        from seeds import LOADERS

        with app.app_context():
            run_loaders(list(names or LOADERS))

    return build


def _states(app: Flask) -> None:
    from seeds.states import load_states

    with app.app_context():
        load_states(db.session)
        db.session.commit()


def _local(app: Flask) -> None:
    from tests.app.editing_fixtures import add_accounts

    _loaders("states", "local")(app)
    add_accounts(app)


def _metric_2017(app: Flask) -> None:
    from tests.app.metric_fixtures import bso_path, import_file

    import_file(app, bso_path(), 2017)


def _api(app: Flask) -> None:
    """Two SYNTHETIC rounds and a SYNTHETIC milestone with evidence (test data, not real
    results) on top of every seed."""
    import tempfile

    from tests.app.api_fixtures import add_synthetic_milestone
    from tests.app.metric_fixtures import import_file, write_synthetic_2019

    with tempfile.TemporaryDirectory() as folder:
        synthetic = write_synthetic_2019(Path(folder) / "synthetic.csv")
        import_file(app, synthetic, 2019)
        import_file(app, synthetic, 2021)
    with app.app_context():
        add_synthetic_milestone()
        db.session.commit()


@dataclass(frozen=True)
class Kind:
    """A prepared database: its parent's copy plus what ``build`` adds."""

    name: str
    parent: str | None
    build: Callable[[Flask], None]


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("tables", None, _tables),
    Kind("states", "tables", _states),
    Kind("seeded", "tables", _loaders()),
    Kind("local", "tables", _local),
    Kind("metric", "tables", _loaders("states", "metric")),
    Kind("metric2017", "metric", _metric_2017),
    Kind("api", "seeded", _api),
)}

# The fixture that decides a test's database, most specific first: a test using
# ``metric_app`` also uses ``metric_seeded`` and ``app``, and starts from "metric2017".
FIXTURE_KINDS: tuple[tuple[str, str], ...] = (
    ("metric_app", "metric2017"),
    ("metric_seeded", "metric"),
    ("local_app", "local"),
    ("seeded_app", "seeded"),
    ("states_app", "states"),
    ("app", "tables"),
)


def kind_for(fixturenames: Iterable[str]) -> str | None:
    """The kind of database a test using ``fixturenames`` starts from (None: empty)."""
    names = set(fixturenames)
    for fixture, kind in FIXTURE_KINDS:
        if fixture in names:
            return kind
    return None


# --- Templates and copies ------------------------------------------------------------------


class Databases:
    """The templates of one session (one xdist worker) and the copies made from them."""

    def __init__(self, folder: Path, server_url: str | None, worker: str):
        self.folder = folder
        self.server_url = server_url
        self.worker = worker
        self._built: dict[str, str] = {}
        self._failed: dict[str, BaseException] = {}
        self._counter = itertools.count()
        self._admin: sa.Engine | None = None
        # PostgreSQL: one thread that makes the next copy of the kind last asked for, and
        # drops the copies tests are done with, in the order asked (FIFO).
        self._background: ThreadPoolExecutor | None = None
        self._spare: dict[str | None, Future[str]] = {}
        # PostgreSQL: per kind, a copy kept for the tests that share it (``isolated``) and the
        # connection they use in turn.
        self._shared: dict[str, sa.Connection] = {}
        self._sequences: dict[str, str | None] = {}

    # PostgreSQL: CREATE and DROP DATABASE run outside a transaction, on the server's own
    # database of the URL given (scripts/with-postgres creates it). The connections stay
    # open between copies (two: the test's thread and the background one): a new connection
    # is a new server process, about 8 ms of the server's CPU, twice per test.
    def _server(self) -> sa.Engine:
        if self._admin is None:
            assert self.server_url is not None
            self._admin = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT",
                                           pool_size=2, pool_pre_ping=True)
        return self._admin

    def _pg_url(self, name: str) -> str:
        return sa.make_url(self.server_url).set(database=name).render_as_string(
            hide_password=False)

    def _create_pg(self, name: str, template: str | None) -> str:
        with self._server().connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # PostgreSQL 15 copies a template through its write-ahead log by default;
            # FILE_COPY copies the files (a checkpoint, cheap with the test server's fsync=off):
            # about half the time for these small databases.
            version = conn.dialect.server_version_info or (0,)
            strategy = " STRATEGY FILE_COPY" if version >= (15,) else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                                 + (f' TEMPLATE "{template}"{strategy}' if template else ""))
        return self._pg_url(name)

    def _drop_pg(self, name: str) -> None:
        with self._server().connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def template(self, kind: str) -> str:
        """The URL of the template of ``kind``, built on first use (its parents first)."""
        if kind in self._failed:
            raise self._failed[kind]
        if kind in self._built:
            return self._built[kind]
        spec = KINDS[kind]
        try:
            url = self._new(f"tpl_{self.worker}_{kind}",
                            self.template(spec.parent) if spec.parent else None)
            app = build_app(url)
            try:
                spec.build(app)
            finally:
                dispose(app)
        except BaseException as error:  # a skip (no ../shared) or a failure: remember it
            self._failed[kind] = error
            raise
        self._built[kind] = url
        return url

    def _new(self, name: str, template_url: str | None) -> str:
        """A new database called ``name``: empty, or a copy of the template at that URL."""
        if self.server_url is None:
            path = self.folder / f"{name}.sqlite3"
            path.unlink(missing_ok=True)
            if template_url is not None:
                copy_sqlite(Path(template_url.removeprefix("sqlite:///")), path)
            return f"sqlite:///{path}"
        template = sa.make_url(template_url).database if template_url else None
        return self._create_pg(name, template)

    def fresh(self, kind: str | None, folder: Path) -> str:
        """A database of its own for one test: a copy of ``kind``'s template, or empty."""
        template = self.template(kind) if kind else None
        if self.server_url is None:
            path = folder / "test.sqlite3"
            if template is not None:
                copy_sqlite(Path(template.removeprefix("sqlite:///")), path)
            return f"sqlite:///{path}"
        if self._background is None:
            self._background = ThreadPoolExecutor(1, thread_name_prefix=f"db-{self.worker}")
        url = None
        spare = self._spare.pop(kind, None)
        if spare is not None:
            try:
                url = spare.result()
            except Exception:  # noqa: BLE001  (the server restarted meanwhile...): make it now
                url = None
        if url is None:
            url = self._new(self._copy_name(), template)
        # The next test is likely to start from the same kind (tests run file by file).
        self._spare[kind] = self._background.submit(self._new, self._copy_name(), template)
        return url

    def isolated(self, kind: str) -> Isolation:
        """PostgreSQL: the test's share of the copy of ``kind`` kept between tests, in a
        transaction rolled back when the test ends (``Isolation.end``)."""
        connection = self._shared.get(kind)
        if connection is not None and (connection.closed or connection.invalidated
                                       or connection.in_transaction()):
            # A test broke it (or the server restarted): a new connection, same database.
            with contextlib.suppress(Exception):
                connection.engine.dispose()
            connection = None
        if connection is None:
            made = kind in self._sequences  # the copy exists: only its connection is new
            url = self._pg_url(self._shared_name(kind)) if made else \
                self._new(self._shared_name(kind), self.template(kind))
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            engine.update_execution_options(compiled_cache=STATEMENTS)
            connection = self._shared[kind] = engine.connect()
            if not made:  # read once, from the new copy: later tests may have moved them
                self._sequences[kind] = _sequence_reset(connection)
        return Isolation(connection, self._sequences[kind])

    def _shared_name(self, kind: str) -> str:
        return f"s_{self.worker}_{kind}"

    def forget_shared(self, kind: str) -> None:
        """Drop the shared copy of ``kind`` (a test committed into it): the next test that
        shares one gets a new copy."""
        connection = self._shared.pop(kind, None)
        self._sequences.pop(kind, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
                connection.engine.dispose()
        self._drop_pg(self._shared_name(kind))

    def _copy_name(self) -> str:
        return f"t_{self.worker}_{next(self._counter)}"

    def drop(self, url: str) -> None:
        """Drop a test's database (PostgreSQL, in the background; SQLite files go with the
        test's tmp_path)."""
        if self.server_url is not None:
            name = sa.make_url(url).database or ""
            if self._background is not None:
                self._background.submit(self._drop_pg, name)
            else:
                self._drop_pg(name)

    def close(self) -> None:
        for connection in self._shared.values():
            with contextlib.suppress(Exception):
                connection.close()
                connection.engine.dispose()
        if self.server_url is not None:
            for kind in self._sequences:
                self._drop_pg(self._shared_name(kind))
            if self._background is not None:
                for spare in self._spare.values():
                    with contextlib.suppress(Exception):  # a copy that was never made
                        self._drop_pg(sa.make_url(spare.result()).database or "")
                self._background.shutdown(wait=True)
            for url in self._built.values():
                self._drop_pg(sa.make_url(url).database or "")
        if self._admin is not None:
            self._admin.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy an SQLite database with the backup API (consistent even in WAL mode)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def worker_id() -> str:
    """The xdist worker's name ("gw0"...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")
