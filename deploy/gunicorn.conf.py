"""gunicorn settings of an app host (`make serve` starts several: deploy/stack.py; in
production `gunicorn -c deploy/gunicorn.conf.py wsgi:app` on each host, behind nginx).

Every value can be overridden from the environment (GUNICORN_CMD_ARGS also works).

- workers: WEB_CONCURRENCY, default 2 x CPU cores + 1 (sync workers: one request at a time
  each; nginx answers the repeated public pages from its cache, so the workers render only
  what changed, what nobody asked for yet, and every signed-in page).
- bind: BIND, default 127.0.0.1:8000 (nginx in front: deploy/nginx.conf); deploy/stack.py
  passes a listening socket instead (--bind fd://N).
- timeout: a worker silent for 30 s is killed and replaced (nginx waits 35 s, then tries the
  next host); graceful_timeout: 30 s to finish requests on restart or reload; keepalive: 5 s
  behind a proxy.
- control_socket_disable: gunicorn 25+ opens a control socket for ``gunicornc`` (workers,
  reload, shutdown) at one path per user ($HOME/.gunicorn/gunicorn.ctl), shared by every host
  of the machine; the hosts are managed by signals and the process supervisor, so none is
  opened.
- access log: the app writes one JSON line per request itself (app/ops.py, REQUEST_LOG), so
  gunicorn's own access log is off unless ACCESS_LOG names a file ("-" = stdout); the error
  log goes to standard error.
- preload_app: the app is imported and made once, in gunicorn's master process, and each worker
  is a fork of it: a host starts in the time of one import (about two seconds of a core)
  instead of one per worker, a worker that is recycled or killed is replaced at once, and the
  workers share the master's memory pages. The master's objects are frozen before each fork
  (``pre_fork``: ``gc.freeze``), so the workers' garbage collections leave those pages
  shared. No database connection is open before the fork (``create_app`` opens none;
  ``post_fork`` drops any pooled one anyway, without closing the parent's). A new release is
  deployed by restarting the host (a HUP reload re-forks the same code).
- max_requests (+ jitter): MAX_REQUESTS, default 1,000,000 per worker: recycles workers now and
  then, bounding any slow memory growth.
- limit_request_line: 8190 bytes (gunicorn's largest). The app answers request targets over
  4096 bytes with the site's own 414 page (app/params.py, MAX_REQUEST_TARGET); lines longer
  than 8190 bytes are refused by gunicorn's bare 414, or, behind nginx, by nginx first (its
  large_client_header_buffers, 8 KB by default): the proxy's job.
- one write per response: gunicorn writes a response's headers and its body in two writes; a
  host killed between them (a crash, an out-of-memory kill) leaves nginx with a header and no
  body, which it has already passed to the client and cannot retry elsewhere. Here the headers
  are held and leave with the first body bytes (``_one_write_responses``), so a host that dies
  has either sent a whole small response or nothing, and nginx then retries the request on the
  next host (``proxy_next_upstream`` in deploy/nginx.conf). ``sendfile`` is off so that every
  body goes through that one path (nginx serves the static files it caches anyway).
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
control_socket_disable = True
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
max_requests = int(os.environ.get("MAX_REQUESTS", 1_000_000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Behind a proxy on the same host or network: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
sendfile = False


def _one_write_responses() -> None:
    """Make gunicorn send a response's headers together with its first body bytes."""
    from gunicorn.http import wsgi

    class HoldFirst:
        """A socket whose first ``sendall`` (the headers) waits for the next one."""

        def __init__(self, sock):  # noqa: ANN001 (gunicorn's socket)
            self._sock, self._held, self._first = sock, b"", True

        def sendall(self, data: bytes) -> None:
            if self._first:
                self._first, self._held = False, data
                return
            data, self._held = self._held + data, b""
            self._sock.sendall(data)

        def flush(self) -> None:
            if self._held:
                held, self._held = self._held, b""
                self._sock.sendall(held)

        def __getattr__(self, name: str):  # noqa: ANN204 (everything else: the socket's)
            return getattr(self._sock, name)

    class OneWriteResponse(wsgi.Response):
        def __init__(self, req, sock, cfg, *args):  # noqa: ANN001 (gunicorn's own signature)
            super().__init__(req, HoldFirst(sock), cfg, *args)

        def close(self) -> None:
            super().close()
            self.sock.flush()  # a response without a body: its headers alone

    wsgi.Response = OneWriteResponse


_one_write_responses()


def post_fork(server, worker) -> None:  # noqa: ANN001, ARG001 (gunicorn's hook signature)
    """A new worker: forget any connection pooled in the master before the fork (SQLAlchemy's
    advice for forked processes: ``dispose(close=False)`` leaves the parent's sockets alone)."""
    from app.extensions import db

    flask_app = server.app.wsgi()
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def pre_fork(server, worker) -> None:  # noqa: ANN001, ARG001 (gunicorn's hook signature)
    """Freeze the master's objects (the imported app) right before each fork, as Python's
    ``gc.freeze`` documentation advises for a process that forks without exec: a worker's
    collections then never touch them, so their memory pages stay shared with the master, and
    a worker's exit collects only its own objects."""
    import gc

    gc.freeze()
