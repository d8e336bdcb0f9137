"""Faults: a restarted PostgreSQL, a metric import and a spreadsheet upload killed half-way, a
cold start under load."""

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

from app.extensions import db
from app.models import Base
from seeds.states import load_states
from tests.databases import build_app, dispose
from tests.postgres import private_postgres

ROOT = Path(__file__).resolve().parents[2]
# Rows written so far and in all, as `flask metric import`'s progress bar shows them.
PROGRESS = re.compile(rb"\|\s*(\d+)/(\d+) \[")


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what "exactly as before" compares."""
    with engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(repr(v) for v in row) for row in connection.execute(sa.select(table))),
            )
            for table in Base.metadata.sorted_tables
        }


def test_a_restarted_postgresql_does_not_need_an_app_restart(database_url):
    """A server restarted under load costs at most a few 503s and no app restart.

    The server restarted is a private one started for this test (tests/postgres.py), never the
    suite's shared server, which other xdist workers are using at the same moment.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL test (scripts/with-postgres sets TEST_DATABASE_URL)")
    with private_postgres() as server:
        app = build_app(server.url, HTTPCACHE_ENABLED=False)  # every request reads the database
        try:
            with app.app_context():
                Base.metadata.create_all(db.engine)
                load_states(db.session)
                db.session.commit()
            _load_during(app, server.restart)
        finally:
            dispose(app)


def _load_during(app, fault) -> None:  # noqa: ANN001
    """Four clients request a page while ``fault`` runs; then the app must serve normally."""
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        client = app.test_client()
        while not stop.is_set():
            statuses.append(client.get("/states/10").status_code)

    with ThreadPoolExecutor(4) as pool:
        clients = [pool.submit(load) for _ in range(4)]
        time.sleep(0.5)
        fault()
        time.sleep(1.0)
        stop.set()
    for finished in clients:
        finished.result()  # a request that raised fails the test (not only a 500)
    assert set(statuses) <= {200, 503}, set(statuses)  # a clear 503 at worst, never a 500
    client = app.test_client()
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
    """The import runs in one transaction: killed while it writes, it leaves nothing behind.

    A SYNTHETIC round (test data, not real results) of 40,000 rows, written in chunks of 5,000:
    the import is killed as soon as its progress bar (standard error) shows a part of the
    rows written and not all, whatever the machine's speed; the database must then be
    exactly as it was before.
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
    with app.app_context():
        db.engine.dispose()
        before = _snapshot(db.engine)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "metric", "import", str(big),
         "--round", "2019", "--format", "standard"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    progress, killed = b"", False
    try:
        # tqdm redraws its bar with a carriage return: "round 2019: 12%|...| 5000/40000 [...".
        while not killed and (chunk := process.stderr.read1(65_536)):
            progress += chunk
            if any(0 < int(n) < int(total) for n, total in PROGRESS.findall(progress)):
                process.send_signal(signal.SIGKILL)
                killed = True
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    shown = progress.decode(errors="replace")[-2000:]
    assert killed, f"the import ended before any progress could be seen: {shown}"
    assert returncode == -signal.SIGKILL, shown
    with app.app_context():
        db.engine.dispose()
        assert _snapshot(db.engine) == before


@pytest.mark.own_database("sixteen threads ask the app at once")
def test_a_cold_start_under_load_serves_every_request(states_app):
    urls = ["/", "/states/", "/states/10", "/exercises", "/plans", "/map", "/metric/"]

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


# A spreadsheet upload as the upload page makes it (app/edit/views.py upload_sheets): read,
# validate and apply through app/edit/sheets.py, then commit. It prints "writing" once its
# transaction has sent its first UPDATE, and "committed" if it ever gets that far.
UPLOAD_DRIVER = """
import sys
import sqlalchemy as sa
from app import create_app
from app.edit import sheets
from app.extensions import db
from app.models import User

app = create_app({"SECRET_KEY": "test", "DATABASE_URL": sys.argv[1], "REQUEST_LOG": False})
with app.app_context():
    user = db.session.get(User, int(sys.argv[3]))
    data = sheets.read_file(open(sys.argv[2], "rb").read(), "hitos.csv")
    upload = sheets.validate(db.session, user, data)
    assert not upload.problems, upload.problems[:3]
    written = []

    @sa.event.listens_for(db.engine, "after_cursor_execute")
    def announce(conn, cursor, statement, *args):
        if not written and statement.lstrip().upper().startswith("UPDATE"):
            written.append(statement)
            print("writing", flush=True)

    changed = sheets.apply(db.session, user, upload, source="https://example.org/sintetico")
    db.session.commit()
    print("committed", changed, flush=True)
"""


def _synthetic_milestones(commitments: int, per_commitment: int) -> int:
    """A SYNTHETIC local plan of Durango (test data, not a real plan) with its milestones;
    returns the id of an editor of Durango who may upload them."""
    from sqlalchemy import insert

    from app.accounts.service import create_user
    from app.models import ActionPlan, Commitment, Milestone

    s = db.session
    synthetic = "Datos sintéticos de prueba (no es un plan real)"
    plan = ActionPlan(key="sintetico-10", scope="local", state_cve="10",
                      title="Plan SINTÉTICO de prueba", source=synthetic)
    plan.commitments = [Commitment(number=n, title=f"Compromiso sintético {n}", source=synthetic)
                        for n in range(1, commitments + 1)]
    s.add(plan)
    s.flush()
    s.execute(insert(Milestone), [
        {"commitment_id": c.id, "number": n, "title": f"Hito sintético {c.number}.{n}",
         "status": "not_started", "source": synthetic}
        for c in plan.commitments for n in range(1, per_commitment + 1)
    ])
    user = create_user(s, "editor-sintetico@example.org", "correct horse battery",
                       role="editor", state_cve="10", agency="Organismo sintético")
    s.commit()
    return user.id


def test_a_spreadsheet_upload_killed_half_way_leaves_the_database_as_before(
    states_app, database_url, tmp_path
):
    """The upload page's service, killed while its transaction writes, leaves every row,
    version, audit event and data revision as it was."""
    from app.edit import sheets

    with states_app.app_context():
        user_id = _synthetic_milestones(200, 50)  # 10,000 milestones
        rows = sheets.export(db.session, "10")["milestones"]
        title = rows[0].index("title")
        for row in rows[1:]:
            row[title] = f"{row[title]} (editado)"
        upload = tmp_path / "hitos.csv"
        upload.write_text(sheets.csv_text(rows), encoding="utf-8")
        db.session.close()
        db.engine.dispose()
        before = _snapshot(db.engine)
    env = {**os.environ, "FLASK_REQUEST_LOG": "0"}
    process = subprocess.Popen(
        [sys.executable, "-c", UPLOAD_DRIVER, database_url, str(upload), str(user_id)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()  # blocks until the transaction has written
        if line.strip() == "writing":
            process.send_signal(signal.SIGKILL)
        output = line + process.stdout.read()
        returncode = process.wait(timeout=60)
        errors = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert line.strip() == "writing", errors
    assert "committed" not in output, "the upload finished before it could be killed"
    assert returncode == -signal.SIGKILL
    with states_app.app_context():
        db.engine.dispose()
        after = _snapshot(db.engine)
    assert after == before
    assert len(before["milestone"]) == 10_000


def test_pages_are_served_throughout_a_long_import_on_sqlite(states_app, database_url,
                                                              tmp_path):
    """SQLite in write-ahead-log mode: readers are never refused while an import writes.

    A SYNTHETIC round (test data, not real results) is imported by `flask metric import` in
    another process (one long transaction) while this one asks for pages that read the
    tables it writes, without caches; every answer is a 200, before, during and after the
    import's commit (``/healthz`` too: a database another writer holds is writable, "busy").
    """
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locks: PostgreSQL's readers never wait for a writer")
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_SECRET_KEY": "test",
           "FLASK_REQUEST_LOG": "0"}
    seed = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "seed", "metric"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr
    rounds = _synthetic_round(tmp_path / "synthetic.csv", 25_000)
    states_app.config["HTTPCACHE_ENABLED"] = False  # every request reads the database
    with states_app.app_context():
        db.engine.dispose()
        mode = db.session.execute(sa.text("PRAGMA journal_mode")).scalar()
    assert mode == "wal"
    urls = ["/metric/", "/states/10", "/", "/map", "/metric/2019", "/healthz"]
    client = states_app.test_client()
    statuses: list[tuple[str, int]] = []
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "metric", "import", str(rounds),
         "--round", "2019", "--format", "standard"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    try:
        while process.poll() is None:
            for url in urls:
                statuses.append((url, client.get(url).status_code))
        output, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    duration = time.monotonic() - started
    assert process.returncode == 0, errors
    assert duration > 5, f"the import took {duration:.1f} s: too short to show anything"
    assert len(statuses) >= 50, len(statuses)
    refused = [s for s in statuses if s[1] != 200]
    assert refused == [], f"{len(refused)} of {len(statuses)} refused: {refused[:10]}"
    assert client.get("/metric/2019").status_code == 200
