"""The production stack on one machine: nginx in front of several gunicorn app hosts.

    python deploy/stack.py serve          # what `make serve` runs (Ctrl-C stops everything)
    python deploy/stack.py nginx-conf ... # deploy/nginx.conf filled in for real hosts

``serve`` starts, on loopback:

- a throwaway ``redis-server`` for the sign-in rate limiter when more than one host runs and
  ``RATELIMIT_STORAGE_URI`` is not set (data in the stack's folder, nothing saved);
- ``HOSTS`` (default 2) gunicorn app hosts with ``deploy/gunicorn.conf.py`` (``WEB_CONCURRENCY``
  workers each), on free ports, each told that one proxy stands in front
  (``TRUSTED_PROXIES=1``); ``DATABASE_URL`` as set (PostgreSQL when it names it; the SQLite
  file in instance/ otherwise);
- Debian's nginx with ``deploy/nginx.conf`` (ports and paths filled in) on ``PORT`` (default
  8000), from its own folder (``STACK_DIR``, default instance/stack): no system service, no
  privileged port. Started as root (CI), nginx runs as ``nobody``.

The same ``Stack`` class runs the stack tests (tests/app/stack_fixtures.py) and the load
benchmark (bench/load.py). It needs only the standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX = "/usr/sbin/nginx"
REDIS_SERVER = "/usr/bin/redis-server"
MIME_TYPES = "/etc/nginx/mime.types"
# The user nginx runs as when started by root (it needs no privilege: ports above 1024).
UNPRIVILEGED = "nobody"


class StackError(RuntimeError):
    """A part of the stack did not start; the message names it and quotes its log."""


def render_nginx_conf(*, listen: str, upstreams: Sequence[str], prefix: Path,
                      app_dir: Path = ROOT / "app", errors: Path | None = None,
                      mime_types: str = MIME_TYPES) -> str:
    """deploy/nginx.conf with its placeholders filled in (ports and paths only)."""
    if not upstreams:
        raise ValueError("at least one app host (upstream) is needed")
    values = {
        "LISTEN": listen,
        "UPSTREAM_SERVERS": "\n        ".join(
            f"server {address} max_fails=1 fail_timeout=5s;" for address in upstreams),
        "PREFIX": str(prefix),
        "APP": str(app_dir),
        "ERRORS": str(errors or prefix / "errors"),
        "MIME_TYPES": mime_types,
    }
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    code = [i for i, line in enumerate(lines) if not line.lstrip().startswith("#")]
    missing = {name for i in code for name in re.findall(r"@([A-Z_]+)@", lines[i])} - set(values)
    if missing:
        raise KeyError(f"deploy/nginx.conf has placeholders nobody fills: {sorted(missing)}")
    for i in code:  # comments keep the placeholders' names
        lines[i] = re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], lines[i])
    return "".join(lines)


def free_port() -> int:
    """A port free on loopback now (the caller retries if another process takes it first)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_socket() -> socket.socket:
    """A bound, listening loopback socket on a free port, to hand to gunicorn (fd://): no race
    for the port with anything else starting at the same time."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def get(url: str, timeout: float = 5, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers and body (an HTTP error is an answer, not an exception)."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(*processes: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM each process group, all at once, then SIGKILL whatever is left ``timeout``
    seconds later (each gunicorn host takes about a second to stop gracefully: stopped
    together, the hosts take one second, not one each)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        process.wait()


@dataclass
class Host:
    """One gunicorn app host on loopback."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass
class Stack:
    """nginx in front of ``hosts`` gunicorn app hosts (and redis when more than one), all on
    loopback, everything written under ``folder``.

    ``env`` is the app hosts' environment (DATABASE_URL, FLASK_SECRET_KEY...); ``port`` 0
    picks a free one. ``server_conf`` is added inside nginx's ``server { }`` (server.d/).
    ``error_pages``: a folder of the site's error pages already rendered by
    ``render_error_pages`` (of a stack of the same code and settings), copied instead of
    rendering them again at start (which imports the app once more: the tests start many
    stacks).
    """

    folder: Path
    env: dict[str, str]
    hosts_count: int = 2
    workers: int = 2
    port: int = 0
    server_conf: str = ""
    error_pages: Path | None = None
    hosts: list[Host] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    redis: subprocess.Popen | None = None
    redis_uri: str | None = None

    # --- folders -------------------------------------------------------------------------

    @property
    def nginx_dir(self) -> Path:
        return self.folder / "nginx"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.nginx_dir / "logs" / "access.log"

    def _prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # nginx (as nobody when started by root) must reach its folder.
        self.folder.chmod(0o755)
        for sub in ("logs", "cache", "tmp", "server.d", "errors"):
            (self.nginx_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "hosts").mkdir(exist_ok=True)
        (self.nginx_dir / "server.d" / "extra.conf").write_text(self.server_conf + "\n")

    # --- the parts -----------------------------------------------------------------------

    def _app_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONDONTWRITEBYTECODE": "1",
               "FLASK_TRUSTED_PROXIES": "1", "WEB_CONCURRENCY": str(self.workers)}
        if self.redis_uri and not self.env.get("FLASK_RATELIMIT_STORAGE_URI"):
            env["FLASK_RATELIMIT_STORAGE_URI"] = self.redis_uri
        return env

    def _error_pages(self) -> subprocess.Popen:
        """The site's error pages as static files, rendered by the app (`flask error-pages`)."""
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "error-pages",
             str(self.nginx_dir / "errors")],
            cwd=ROOT, env={**self._app_env(), "FLASK_REQUEST_LOG": "0"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def _rendered(pages: subprocess.Popen) -> None:
        _out, errors = pages.communicate(timeout=120)
        if pages.returncode:
            raise StackError(f"flask error-pages failed:\n{errors}")

    def render_error_pages(self) -> Path:
        """Render the site's error pages alone (nothing is started); return their folder,
        to give other stacks as ``error_pages``."""
        self._prepare()
        self._rendered(self._error_pages())
        return self.nginx_dir / "errors"

    def _start_redis(self) -> None:
        folder = self.folder / "redis"
        folder.mkdir(exist_ok=True)
        for _attempt in range(5):
            port = free_port()
            self.redis = subprocess.Popen(
                [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
                 "--save", "", "--appendonly", "no", "--logfile", str(folder / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.redis.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            self.redis_uri = f"redis://127.0.0.1:{port}"
                            return
                except OSError:
                    time.sleep(0.05)
            _stop(self.redis, timeout=5)
        raise StackError(f"redis-server did not start:\n{_tail(folder / 'redis.log')}")

    def start_host(self, index: int | None = None) -> Host:
        """Start one gunicorn host (or restart host ``index``) and wait until it answers."""
        sock = _listening_socket()
        port = sock.getsockname()[1]
        log = self.folder / "hosts" / f"host-{port}.log"
        try:
            with log.open("ab") as output:  # the host has its own copy
                process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                     "--bind", f"fd://{sock.fileno()}", "wsgi:app"],
                    cwd=ROOT, env=self._app_env(), pass_fds=(sock.fileno(),),
                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    start_new_session=True)
        finally:
            sock.close()  # gunicorn has its own copy; a dead host then refuses connections
        host = Host(port, process, log)
        if index is None:
            self.hosts.append(host)
        else:
            self.hosts[index] = host
        return host

    def wait_for_host(self, host: Host, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.process.poll() is not None:
                raise StackError(f"app host {host.address} exited:\n{_tail(host.log)}")
            try:
                if get(host.url + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise StackError(f"app host {host.address} did not answer /healthz:\n{_tail(host.log)}")

    def _nginx_user(self) -> dict[str, Any]:
        """Started by root, nginx runs as an unprivileged user that owns its folder."""
        if os.geteuid() != 0:
            return {}
        user = pwd.getpwnam(UNPRIVILEGED)
        for path in [self.nginx_dir, *self.nginx_dir.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def write_nginx_conf(self) -> Path:
        conf = self.nginx_dir / "nginx.conf"
        conf.write_text(render_nginx_conf(
            listen=f"127.0.0.1:{self.port}", upstreams=[h.address for h in self.hosts],
            prefix=self.nginx_dir), encoding="utf-8")
        return conf

    def _start_nginx(self) -> None:
        if not os.path.exists(NGINX):
            raise StackError(f"{NGINX} is missing: scripts/ensure-debian-packages nginx")
        chosen = self.port
        error_log = self.nginx_dir / "logs" / "error.log"
        for _attempt in range(5):
            self.port = chosen or free_port()
            conf = self.write_nginx_conf()
            self.nginx = subprocess.Popen(
                [NGINX, "-p", str(self.nginx_dir), "-c", str(conf), "-e", str(error_log)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, **self._nginx_user())
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.nginx.poll() is None:
                try:
                    if get(self.url + "/healthz", timeout=2)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            _stop(self.nginx, timeout=5)
            if "Address already in use" not in _tail(error_log) or chosen:
                break
        raise StackError(f"nginx did not start on port {self.port}:\n{_tail(error_log)}")

    # --- the whole ----------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every part and wait until nginx answers /healthz through the hosts."""
        self._prepare()
        try:
            if self.hosts_count > 1 and not self.env.get("FLASK_RATELIMIT_STORAGE_URI"):
                self._start_redis()
            pages = self._error_pages() if self.error_pages is None else None
            for _ in range(self.hosts_count):
                self.start_host()
            if pages is not None:
                self._rendered(pages)
            elif self.error_pages is not None:
                for page in sorted(self.error_pages.iterdir()):
                    shutil.copy2(page, self.nginx_dir / "errors" / page.name)
            for host in self.hosts:
                self.wait_for_host(host)
            self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def kill_host(self, index: int, sig: signal.Signals = signal.SIGKILL) -> Host:
        """Kill host ``index`` (its gunicorn master and workers) at once."""
        host = self.hosts[index]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(host.process.pid, sig)
        host.process.wait(timeout=30)
        return host

    def stop(self) -> None:
        """Stop nginx, the hosts and redis (in that order); safe to call twice."""
        if self.nginx is not None:
            _stop(self.nginx)
        _stop(*(host.process for host in self.hosts))
        if self.redis is not None:
            _stop(self.redis, timeout=10)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- Command line ------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> None:
    folder = Path(args.dir).resolve()
    env = {}
    if not os.environ.get("FLASK_SITE_URL"):
        env["FLASK_SITE_URL"] = f"http://127.0.0.1:{args.port}"
    stack = Stack(folder, env, hosts_count=args.hosts, workers=args.workers, port=args.port)
    stopping = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack.start()
    print(f"Estado Abierto on {stack.url} (nginx) in front of "
          f"{', '.join(h.address for h in stack.hosts)} ({args.workers} gunicorn workers "
          f"each){'; rate limits in ' + stack.redis_uri if stack.redis_uri else ''}. "
          f"Logs: {folder}/nginx/logs, {folder}/hosts. Ctrl-C stops.", flush=True)
    reported: set[int] = set()
    try:
        while not stopping:
            for host in stack.hosts:
                if host.process.poll() is not None and host.port not in reported:
                    reported.add(host.port)
                    print(f"app host {host.address} exited (see {host.log}); nginx sends its "
                          "requests to the others", file=sys.stderr, flush=True)
            if stack.nginx is not None and stack.nginx.poll() is not None:
                print("nginx exited: stopping", file=sys.stderr, flush=True)
                break
            time.sleep(0.5)
    finally:
        stack.stop()


def _nginx_conf(args: argparse.Namespace) -> None:
    sys.stdout.write(render_nginx_conf(
        listen=args.listen, upstreams=args.upstream, prefix=Path(args.prefix),
        app_dir=Path(args.app), errors=Path(args.errors) if args.errors else None,
        mime_types=args.mime_types))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run nginx, the app hosts and redis here")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)),
                       help="nginx's port on 127.0.0.1 (PORT, default 8000)")
    serve.add_argument("--hosts", type=int, default=int(os.environ.get("HOSTS", 2)),
                       help="gunicorn app hosts (HOSTS, default 2)")
    serve.add_argument("--workers", type=int, default=int(
        os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1)),
        help="gunicorn workers per host (WEB_CONCURRENCY, default cores + 1)")
    serve.add_argument("--dir", default=os.environ.get("STACK_DIR", str(ROOT / "instance" /
                                                                      "stack")),
                       help="folder for logs, nginx's cache and redis (STACK_DIR)")
    serve.set_defaults(run=_serve)
    conf = commands.add_parser("nginx-conf", help="print deploy/nginx.conf filled in")
    conf.add_argument("--listen", required=True, help="e.g. 80 or 10.0.0.10:80")
    conf.add_argument("--upstream", action="append", required=True,
                      help="an app host, host:port (repeat for each)")
    conf.add_argument("--prefix", required=True,
                      help="nginx's own folder (logs, cache, temporary files; writable by the "
                           "user nginx runs as)")
    conf.add_argument("--app", default=str(ROOT / "app"),
                      help="the app package (its static files)")
    conf.add_argument("--errors", help="the folder `flask error-pages` wrote (default "
                                       "PREFIX/errors)")
    conf.add_argument("--mime-types", default=MIME_TYPES)
    conf.set_defaults(run=_nginx_conf)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
