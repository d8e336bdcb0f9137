"""The production stack on loopback: nginx's cache in front of two gunicorn app hosts.

What a reader sees through nginx (deploy/nginx.conf): a public page is answered from the
cache, a signed-in one never is; a write shows within the documented bound; a host killed
during a load run costs no request; with every host down the cached pages still answer and
the others get the site's 503 page; a restarted PostgreSQL needs no restart of the stack.
Select them with ``-m stack``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from app import records
from app.accounts.service import create_user
from app.extensions import db
from app.models import Base, DataRevision, State
from seeds.states import load_states
from tests.app import stack_fixtures
from tests.app.stack_fixtures import Answer, fetch, sign_in
from tests.databases import build_app, dispose
from tests.postgres import private_postgres

# The fixtures of tests/app/stack_fixtures.py.
make_stack = stack_fixtures.make_stack
error_pages = stack_fixtures.error_pages
stack_folder = stack_fixtures.stack_folder

pytestmark = [pytest.mark.stack, pytest.mark.slow]

# The documented bound (README, "Caches"): a copy made before a write is answered as fresh
# (HIT) for at most SHARED_CACHE_SECONDS + 1 s after it (nginx keeps time in whole seconds).
SHARED_CACHE_SECONDS = 1
BOUND = SHARED_CACHE_SECONDS + 1
PASSWORD = "correct horse battery"


def _rename(app: Flask, cve: str, short_name: str) -> None:
    """A write through the audited path (app.records): one state's short name."""
    with app.app_context():
        state = db.session.get(State, cve)
        records.update(db.session, state, {"short_name": short_name}, actor="test",
                       source="https://example.org/prueba")
        db.session.commit()


def _until(base: str, path: str, accept, timeout: float = 15, **headers: str) -> Answer:
    """Ask until ``accept(answer)`` (every 50 ms, at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch(base, path, headers)
        if accept(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def _upstreams(stack) -> list[tuple[str, str, str, str]]:  # noqa: ANN001
    """(request, status, upstream addresses, cache status) of every line of nginx's log."""
    time.sleep(1.2)  # the access log is flushed every second
    rows = []
    for line in stack.access_log.read_text().splitlines():
        request = line.split('"')[1]
        upstream = line.split('"')[3]
        status = line.split('"')[2].split()[0]
        rows.append((request, status, upstream, line.rsplit(" ", 1)[1]))
    return rows


def test_a_public_page_is_a_cache_hit_and_a_signed_in_page_never_is(states_app, make_stack):
    with states_app.app_context():
        create_user(db.session, "garante@example.org", PASSWORD, role="editor",
                    state_cve="10", agency="Órgano Garante de Durango")
        db.session.commit()
    stack = make_stack()
    base = stack.url
    first = fetch(base, "/states/")
    assert (first.status, first.cache) == (200, "MISS")
    second = fetch(base, "/states/")
    assert (second.status, second.cache) == (200, "HIT")
    assert second.body == first.body and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == "public, max-age=0, s-maxage=1"
    # The key holds the language and the encoding: one copy each, never another's.
    english = fetch(base, "/states/", {"Accept-Language": "en-US,en;q=0.9,es;q=0.5"})
    assert english.cache == "MISS" and 'lang="en"' in english.text
    assert fetch(base, "/states/", {"Accept-Language": "en-GB"}).cache == "HIT"
    spanish = fetch(base, "/states/", {"Accept-Language": "fr-FR,es-MX;q=0.8"})
    assert spanish.cache == "HIT" and spanish.body == first.body
    brotli = fetch(base, "/states/", {"Accept-Encoding": "gzip, deflate, br"})
    assert brotli.headers["Content-Encoding"] == "br" and brotli.cache == "MISS"
    assert fetch(base, "/states/", {"Accept-Encoding": "br"}).cache == "HIT"
    assert "Content-Encoding" not in fetch(base, "/states/").headers
    # Conditional requests are answered by nginx from its copy.
    etag = second.headers["ETag"]
    not_modified = fetch(base, "/states/", {"If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""
    # Signed in: every page comes from a host (BYPASS) and none is kept.
    cookie = sign_in(base, "garante@example.org", PASSWORD)
    for path in ("/states/", "/states/", "/exercises", "/exercises"):
        mine = fetch(base, path, {"Cookie": f"session={cookie}"})
        assert (mine.status, mine.cache) == (200, "BYPASS"), path
        assert "Órgano Garante de Durango" in mine.text
        assert "private" in mine.headers["Cache-Control"]
    anonymous = fetch(base, "/exercises")
    assert anonymous.cache == "MISS"  # the signed-in copies were not kept
    assert "Órgano Garante de Durango" not in anonymous.text
    assert fetch(base, "/exercises").cache == "HIT"
    # A response that sets a cookie is never kept (the language switch sets one).
    for _ in range(2):
        chosen = fetch(base, "/states/?lang=en")
        assert "Set-Cookie" in chosen.headers and chosen.cache == "MISS"
    # Static files come from nginx itself, also with every host down (see below).
    css = fetch(base, "/static/css/site.css")
    assert css.status == 200 and "X-Cache-Status" not in css.headers


def test_if_modified_since_is_answered_through_nginx(states_app, make_stack):
    with states_app.app_context():  # Last-Modified is sent once the change is 2 s old
        db.session.execute(sa.update(DataRevision).values(
            changed_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
    stack = make_stack(hosts=1)
    for path in ("/states/10", "/api/v1/states", "/states/10/feed.atom"):
        first = fetch(stack.url, path)
        stamp = first.headers["Last-Modified"]
        assert parsedate_to_datetime(stamp) < datetime.now(UTC)
        assert fetch(stack.url, path, {"If-Modified-Since": stamp}).status == 304, path
        in_2100 = fetch(stack.url, path, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
        assert in_2100.status == 304, path
        old = fetch(stack.url, path, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert old.status == 200 and old.body == first.body, path


def test_a_write_shows_through_nginx_within_the_documented_bound(states_app, make_stack):
    stack = make_stack()
    base = stack.url
    page = "/states/10?copy=fresh"  # a URL of its own: its copy is made just before the write
    before = fetch(base, page)
    assert (before.status, before.cache) == (200, "MISS") and "Durango" in before.text
    _rename(states_app, "10", "Durango EDITADO")
    written = time.monotonic()
    answers = []
    while time.monotonic() < written + BOUND + 5:
        answer = fetch(base, page)
        answers.append(answer)
        if "Durango EDITADO" in answer.text:
            break
        time.sleep(0.02)
    timeline = [(round(a.started - written, 2), a.cache, "EDITADO" in a.text) for a in answers]
    old = [a for a in answers if "Durango EDITADO" not in a.text]
    new = [a for a in answers if "Durango EDITADO" in a.text]
    # The bound is real: right after the write nginx still answers its copy as fresh...
    assert old and old[0].cache == "HIT", timeline
    # ...never later than the bound; after it only while the copy is being refreshed...
    late = [a for a in old if a.started - written > BOUND]
    assert all(a.cache in ("STALE", "UPDATING") for a in late), timeline
    assert all(a.started - written <= BOUND for a in old if a.cache == "HIT"), timeline
    # ...and then the new page, to every reader.
    assert new, timeline
    assert all("Durango EDITADO" in fetch(base, page).text for _ in range(5))


def _load(base: str, paths: list[str], seconds: float, threads: int = 8,
          done: Callable[[list[Answer]], bool] | None = None) -> list[Answer]:
    """Bounded load: ``threads`` clients asking ``paths`` in turn for ``seconds`` at most,
    or until ``done(answers so far)``."""
    answers: list[Answer] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    finished = threading.Event()

    def client(offset: int) -> None:
        n = offset
        while time.monotonic() < stop and not finished.is_set():
            path = paths[n % len(paths)].format(n=n)
            n += threads
            try:
                answer = fetch(base, path, timeout=40)
            except OSError as error:
                answer = Answer(path, 0, {}, repr(error).encode(), time.monotonic())
            with lock:
                answers.append(answer)
                if done is not None and done(answers):
                    finished.set()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))
    return answers


def _settled_after(event: list[float]) -> Callable[[list[Answer]], bool]:
    """For ``_load``: done once ``event`` (a time.monotonic() appended when the fault is over)
    is a second old and 40 requests began after it."""
    def done(answers: list[Answer]) -> bool:
        return bool(event) and time.monotonic() > event[0] + 1.0 and sum(
            a.started > event[0] for a in answers) >= 40

    return done


def test_one_host_killed_during_a_load_run_fails_no_request(states_app, make_stack):
    stack = make_stack()
    base = stack.url
    # Cached pages, and pages nobody asked for yet (a new query each time): those reach a
    # host every time, so the killed one is busy when it dies.
    paths = ["/states/", "/states/10?n={n}", "/states/", "/states/14?n={n}", "/states/10"]
    killed = stack.hosts[0]
    died: list[float] = []  # when the kill had finished (the host's processes are gone)

    def kill() -> None:
        stack.kill_host(0)
        died.append(time.monotonic())

    killer = threading.Timer(2.0, kill)
    started = time.monotonic()
    killer.start()

    answers = _load(base, paths, seconds=6.0, done=_settled_after(died))
    killer.join()
    assert killed.process.returncode is not None  # it did die
    failed = [(a.status, a.text[:200]) for a in answers if a.status != 200]
    assert not failed, failed
    assert len(answers) > 30  # a load, even on a busy machine (a quiet one does hundreds)
    log = _upstreams(stack)
    by_host = {host.address: 0 for host in stack.hosts}
    for _request, _status, upstream, _cache in log:
        for address in upstream.split(", "):
            if address in by_host:
                by_host[address] += 1
    assert all(count > 0 for count in by_host.values()), by_host  # both served
    after = [a for a in answers if a.started > started + 2.5]
    assert len(after) > 10 and all(a.status == 200 for a in after)


def test_every_host_down_cached_pages_answer_and_others_get_the_sites_503(
    states_app, make_stack, stack_folder
):
    stack = make_stack(render_pages=True)  # its own error pages, as in production
    base = stack.url
    kept = {}
    for path in ("/states/", "/states/10"):
        kept[path] = fetch(base, path)
        assert _until(base, path, lambda a: a.cache == "HIT").cache == "HIT"
    for index in range(len(stack.hosts)):
        stack.kill_host(index)
    time.sleep(BOUND + 0.2)  # every copy has expired: nginx must ask a host, and none answers
    for path, answer in kept.items():
        again = fetch(base, path)
        assert (again.status, again.cache) == (200, "STALE"), path
        assert again.body == answer.body
    unknown = fetch(base, "/exercises")
    assert unknown.status == 503 and unknown.headers["Retry-After"] == "30"
    page = (stack.nginx_dir / "errors" / "503.es.html").read_bytes()
    assert unknown.body == page
    assert "Servicio no disponible" in unknown.text and 'lang="es"' in unknown.text
    english = fetch(base, "/exercises", {"Accept-Language": "en"})
    assert english.status == 503 and "Service unavailable" in english.text
    assert fetch(base, "/healthz").status == 503
    assert fetch(base, "/static/css/site.css").status == 200


def test_a_restarted_postgresql_needs_no_restart_of_the_stack(make_stack, database_url):
    """The server restarted is a private one (tests/postgres.py), never the suite's shared
    server, which other xdist workers use at the same moment."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL test (scripts/with-postgres sets TEST_DATABASE_URL)")
    with private_postgres() as server:
        app = build_app(server.url)
        try:
            with app.app_context():
                Base.metadata.create_all(db.engine)
                load_states(db.session)
                db.session.commit()
        finally:
            dispose(app)
        _restart_under_load(make_stack(url=server.url), server.restart)


def _restart_under_load(stack, restart) -> None:  # noqa: ANN001
    base = stack.url
    for path in ("/states/", "/states/10"):
        assert _until(base, path, lambda a: a.cache == "HIT").cache == "HIT"
    paths = ["/states/", "/states/14?n={n}", "/states/10"]
    results: list[list[Answer]] = []
    restarted: list[float] = []  # when the server was back
    loader = threading.Thread(target=lambda: results.append(
        _load(base, paths, 6.0, 4, _settled_after(restarted))))
    loader.start()
    time.sleep(1.0)
    restart()
    restarted.append(time.monotonic())
    loader.join()
    answers = results[0]
    assert {a.status for a in answers} <= {200, 503}, {a.status for a in answers}
    # Pages nginx keeps were answered throughout (a stale copy while the app said 503).
    kept = [a.status for a in answers if "?n=" not in a.path]
    assert kept and set(kept) == {200}
    # ...and afterwards every page comes from the hosts again, without restarting anything.
    after = [fetch(base, f"/states/10?after={n}") for n in range(20)]
    assert [a.status for a in after] == [200] * 20
    assert fetch(base, "/healthz").status == 200
