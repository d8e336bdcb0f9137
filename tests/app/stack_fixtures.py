"""The production stack on loopback for a test: nginx (deploy/nginx.conf) in front of two
gunicorn app hosts and redis, started and stopped by the test (deploy/stack.py), like the
throwaway PostgreSQL of scripts/with-postgres.

Each test gets its own free ports and its own folder, so the tests run in parallel
(pytest-xdist). The folder is under ``tmp_path``, except when the tests run as root: nginx then
runs as ``nobody``, who cannot enter pytest's private temporary folders, so the stack gets a
folder of its own in the system's temporary directory, removed afterwards (unless
``KEEP_STACK=1``: then its logs are left to read).

The hosts serve the test's database (``database_url``: SQLite in tmp_path, or the
PostgreSQL of TEST_DATABASE_URL), with the production settings (CSRF on, secure cookies, no
TESTING).
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "stack-test-secret"


def _load_stack_module() -> ModuleType:
    """deploy/stack.py (a script, not a package) as a module."""
    spec = importlib.util.spec_from_file_location("estado_stack", ROOT / "deploy" / "stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("estado_stack", module)
    spec.loader.exec_module(module)
    return module


stack_module = _load_stack_module()


def _need(path: str, package: str) -> None:
    if not os.path.exists(path):
        reason = f"{path} is missing; `make test` installs Debian's {package}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def stack_folder(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        yield tmp_path / "stack"
        return
    folder = Path(tempfile.mkdtemp(prefix="estado-stack-"))
    folder.chmod(0o755)  # nobody must reach nginx's folder inside
    try:
        yield folder
    finally:
        if not os.environ.get("KEEP_STACK"):  # KEEP_STACK=1 keeps the logs to read
            shutil.rmtree(folder, ignore_errors=True)


def _settings(url: str) -> dict[str, str]:
    """The app hosts' environment in the tests' stacks."""
    return {"DATABASE_URL": url, "FLASK_SECRET_KEY": SECRET, "FLASK_REQUEST_LOG": "1",
            "FLASK_SITE_URL": "http://127.0.0.1"}


@pytest.fixture(scope="session")
def error_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site's error pages, rendered once per session (per xdist worker) the way a stack
    renders them at start (``flask error-pages`` with the same settings; the page does not
    read the database), for the stacks to copy: rendering them imports the app, a couple of
    seconds of a core per stack otherwise."""
    folder = tmp_path_factory.mktemp("error-pages")
    renderer = stack_module.Stack(folder, _settings(f"sqlite:///{folder / 'unused.sqlite3'}"))
    return renderer.render_error_pages()


@pytest.fixture
def make_stack(database_url: str, stack_folder: Path, error_pages: Path) -> Iterator:
    """A factory of started stacks on the test's database; every one is stopped afterwards.
    The stacks copy the error pages rendered once (``error_pages``) unless ``render_pages``
    asks for the production way, each stack rendering its own."""
    _need(stack_module.NGINX, "nginx")
    _need(stack_module.REDIS_SERVER, "redis-server")
    started = []

    def factory(hosts: int = 2, workers: int = 2, url: str | None = None,
                render_pages: bool = False) -> object:
        stack = stack_module.Stack(
            stack_folder / f"stack-{len(started)}", _settings(url or database_url),
            hosts_count=hosts, workers=workers,
            error_pages=None if render_pages else error_pages)
        started.append(stack)
        return stack.start()

    yield factory
    for stack in started:
        stack.stop()


@dataclass
class Answer:
    """One response as a test looks at it."""

    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    started: float  # time.monotonic() when the request was sent

    @property
    def cache(self) -> str | None:
        return self.headers.get("X-Cache-Status")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(base: str, path: str, headers: dict[str, str] | None = None, method: str = "GET",
          body: bytes | None = None, timeout: float = 30) -> Answer:
    """One request on a new connection; redirects are not followed."""
    parts = urlsplit(base)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(path, response.status, dict(response.getheaders()), response.read(),
                      started)
    finally:
        connection.close()


def session_cookie(answer: Answer, previous: str = "") -> str:
    """The ``session`` cookie an answer sets (the site's cookies are Secure, so a client on
    plain http on loopback keeps it by hand), or ``previous``."""
    match = re.search(r"(?:^|, )session=([^;]*)", answer.headers.get("Set-Cookie", ""))
    return match.group(1) if match else previous


def sign_in(base: str, email: str, password: str) -> str:
    """Sign in through ``base`` as a browser would (the form and its CSRF token); return the
    signed-in session cookie."""
    form = fetch(base, "/login")
    assert form.status == 200, form.text[:500]
    cookie = session_cookie(form)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    answer = fetch(base, "/login", {"Content-Type": "application/x-www-form-urlencoded",
                                    "Cookie": f"session={cookie}"}, "POST",
                   urlencode({"csrf_token": token, "email": email, "password": password})
                   .encode())
    assert answer.status == 302, (answer.status, answer.text[:500])
    return session_cookie(answer, cookie)
