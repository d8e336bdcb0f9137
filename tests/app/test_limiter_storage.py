"""The sign-in rate limit is counted where every worker sees it (RATELIMIT_STORAGE_URI).

Each "worker" is its own process serving the app on loopback, as gunicorn's workers are:
within one process Flask-Limiter's module-level limiter keeps one storage, so two apps in the
test process would share counts whatever the URI and the test could not fail. With Debian's
``redis-server`` (a throwaway one on a free loopback port, data in a temporary folder) the
failed sign-ins counted by one worker are refused by the other; with ``memory://`` they are
not, which shows the test can tell the two apart.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.accounts.service import create_user
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
PASSWORD = "correct horse battery"
LIMIT = 3

# One worker: the app as make_app builds it (CSRF off), served on a free loopback port that
# it prints first.
WORKER = """
import sys
from werkzeug.serving import make_server
from app import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                  "DATABASE_URL": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "LOGIN_RATE_LIMIT": sys.argv[3], "REQUEST_LOG": False})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_uri(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on loopback (no persistence, data in tmp_path); its URI."""
    if not os.path.exists(REDIS_SERVER):
        reason = f"{REDIS_SERVER} is missing; `make test` installs Debian's redis-server"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    import redis

    port = _free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    server = subprocess.Popen(
        [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--protected-mode", "yes",
         "--logfile", str(folder / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    uri = f"redis://127.0.0.1:{port}"
    client = redis.Redis.from_url(uri)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None:
                    pytest.fail(f"redis-server exited: {(folder / 'redis.log').read_text()}")
                time.sleep(0.1)
        else:
            pytest.fail("redis-server did not answer within 10 s")
        yield uri
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _start_workers(database_url: str, storage_uri: str, count: int = 2) -> list:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, database_url, storage_uri,
                          f"{LIMIT} per 15 minutes"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(count)
    ]
    return workers


def _sign_in(port: int, password: str) -> int:
    """POST /login as the admin with ``password``; the status (302 is a successful sign-in)."""
    body = urllib.parse.urlencode({"email": "admin@example.org", "password": password}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}/login", data=body, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def _fail_on_one_then_sign_in_on_the_other(database_url: str, storage_uri: str) -> list[int]:
    """LIMIT wrong passwords then a wrong and a right one on worker A; the right one on B."""
    workers = _start_workers(database_url, storage_uri)
    try:
        first, second = (int(worker.stdout.readline()) for worker in workers)
        on_first = [_sign_in(first, "wrong password") for _ in range(LIMIT + 1)]
        on_first.append(_sign_in(first, PASSWORD))
        return [*on_first, _sign_in(second, PASSWORD)]
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=10)
            worker.stdout.close()


@pytest.fixture
def admin_app(app: Flask) -> Flask:
    with app.app_context():
        create_user(db.session, "admin@example.org", PASSWORD, role="admin", agency="SESNA")
        db.session.commit()
    return app


@pytest.mark.slow
def test_failed_sign_ins_on_one_worker_are_refused_on_another_with_redis(
    admin_app, database_url, redis_uri
):
    codes = _fail_on_one_then_sign_in_on_the_other(database_url, redis_uri)
    # A counts LIMIT failures and then refuses even the right password; so does B.
    assert codes == [200] * LIMIT + [429, 429, 429]


@pytest.mark.slow
def test_with_memory_storage_each_worker_counts_alone(admin_app, database_url):
    """The control: memory:// is per process, so B still lets the right password in."""
    codes = _fail_on_one_then_sign_in_on_the_other(database_url, "memory://")
    assert codes == [200] * LIMIT + [429, 429, 302]
