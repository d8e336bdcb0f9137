"""Faults: a restarted PostgreSQL, a metric import killed half-way, a cold start under load."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Base
from seeds.states import load_states

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what "exactly as before" compares."""
    with engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(repr(v) for v in row) for row in connection.execute(sa.select(table))),
            )
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def states_app(app: Flask) -> Flask:
    with app.app_context():
        load_states(db.session)
        db.session.commit()
    return app


def test_a_restarted_postgresql_does_not_need_an_app_restart(states_app, database_url):
    pgdata, pg_ctl = os.environ.get("TEST_PGDATA"), os.environ.get("TEST_PG_CTL")
    if not (database_url.startswith("postgresql") and pgdata and pg_ctl):
        pytest.skip("needs the throwaway server of scripts/with-postgres (TEST_PGDATA)")
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    states_app.config["HTTPCACHE_ENABLED"] = False  # every request reads the database
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        client = states_app.test_client()
        while not stop.is_set():
            statuses.append(client.get("/states/10").status_code)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(load)
        time.sleep(0.5)
        # The server's output goes to its log file: a pipe would be held open by it.
        log = os.path.join(os.path.dirname(pgdata), "server.log")
        subprocess.run([*as_owner, pg_ctl, "restart", "-D", pgdata, "-m", "fast", "-w",
                        "-l", log], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        time.sleep(1.0)
        stop.set()
    assert set(statuses) <= {200, 503}, set(statuses)  # a clear 503 at worst, never a 500
    client = states_app.test_client()
    after = [client.get("/states/10").status_code for _ in range(20)]
    assert after == [200] * 20
    assert client.get("/healthz").status_code == 200


def _synthetic_round(path: Path, rows: int) -> Path:
    """A SYNTHETIC standard-format round (test data, not real results) of ``rows`` rows."""
    lines = ["institution,level,state,type,TG,TC,PG,PC"]
    for i in range(rows):
        value = f"{(i % 97) / 100:.2f}"
        lines.append(f"Institucion sintetica {i},municipal,{i % 32 + 1:02d},municipality,"
                     f"{value},{value},{value},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_metric_import_killed_half_way_leaves_the_database_as_before(
    app, database_url, tmp_path
):
    """The import runs in one transaction: killed at any moment, it leaves nothing behind.

    A synthetic round large enough to be killed while it writes; each attempt is compared
    with the database just before it (an attempt that finished is not a kill, and the next
    one imports another round).
    """
    with app.app_context():
        load_states(db.session)
        db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_SECRET_KEY": "test",
           "FLASK_REQUEST_LOG": "0"}
    seed = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "seed", "metric"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr
    big = _synthetic_round(tmp_path / "synthetic.csv", 40_000)
    for year, delay in (("2019", 6.0), ("2021", 4.0), ("2023", 9.0)):
        with app.app_context():
            db.engine.dispose()
            before = _snapshot(db.engine)
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "metric", "import", str(big),
             "--round", year, "--format", "standard"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        if process.wait() == -signal.SIGKILL:
            break
    else:
        pytest.fail("the import always finished before it could be killed")
    with app.app_context():
        db.engine.dispose()
        assert _snapshot(db.engine) == before


def test_a_cold_start_under_load_serves_every_request(states_app):
    urls = ["/", "/states/", "/states/10", "/exercises", "/plans", "/map", "/metric/"]
    assert len(states_app.extensions["httpcache"]) == 0

    def get(url: str) -> tuple[str, int, bytes]:
        response = states_app.test_client().get(url)
        return url, response.status_code, response.get_data()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(get, urls * 8))
    assert all(status == 200 for _url, status, _body in results)
    bodies: dict[str, set[bytes]] = {}
    for url, _status, body in results:
        # folium names a map's elements with a random id per render: compare the rest.
        bodies.setdefault(url, set()).add(re.sub(rb"[0-9a-f]{32}", b"", body))
    assert {url: len(v) for url, v in bodies.items()} == dict.fromkeys(urls, 1)  # same page
    assert len(states_app.extensions["httpcache"]) == len(urls)
