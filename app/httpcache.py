"""HTTP caching of every public page and API response: one mechanism, two layers.

1. **Server-side response cache** (per process, an LRU of rendered bodies). The key is the
   request's host, path and canonical query (every argument, sorted), the interface language
   (``flask_babel.get_locale()``), today's date (pages tell what is overdue) and the data
   revisions of the datasets the page reads (``DataRevision``: a write through
   ``app.records`` bumps its dataset once per transaction). A worker therefore renders a page
   once per data change; the next request after a change renders afresh.
2. **HTTP caching a proxy or browser can use**: a weak ``ETag`` that is a hash of that key,
   ``Last-Modified`` from the datasets' ``changed_at``, ``Cache-Control: public, max-age=N,
   stale-while-revalidate=M`` and ``Vary: Accept-Language, Cookie, Accept-Encoding``. A
   request whose ``If-None-Match`` matches gets a ``304`` after one small query (no
   rendering).

What is cached: GET and HEAD requests of any endpoint (except ``static`` and the views marked
``@private``) from an anonymous client (no session or remember cookie and not
``current_user.is_authenticated``), answered ``200`` without ``Set-Cookie`` and without
modifying the session. Everything else is rendered as usual; pages for a signed-in user get
``Cache-Control: private, no-cache``. Nothing here needs a decorator for a page to be cached:
the hooks apply to every endpoint. The decorators narrow or refuse it.

Public API (also for the JSON API):

- ``@cached_public("metric", ...)``: the view reads only these datasets (default: every public
  dataset, ``PUBLIC_DATASETS``), so writes to other datasets do not invalidate it; optional
  ``max_age`` in seconds.
- ``@private``: never cache this view (the view or something it reads is per user).
- ``etag_for(*datasets)``: the weak ETag of the current request over ``datasets``.
- ``revisions(*datasets)``: ``(numbers, last change)`` of ``datasets``, memoised per request.
- ``LRUCache``: the thread-safe LRU every in-process cache of the site uses (the maps' parts).

CSP nonce: a cached body must carry the same script nonce as the header sent with it, also
when a browser or proxy revalidates with a 304, so for a cacheable request ``g.csp_nonce`` is
derived from the ETag with the secret key (HMAC): it changes whenever the content changes and
cannot be predicted without the key (``app.accounts.security.csp_nonce`` uses ``g.csp_nonce``).

Settings (Flask config, not in the settings table because they need no tuning):
``HTTPCACHE_ENABLED`` (default True), ``HTTPCACHE_SIZE`` (entries per process, 512),
``HTTPCACHE_MAX_AGE`` (10 s), ``HTTPCACHE_STALE`` (stale-while-revalidate, 30 s);
``HTTPCACHE_REVISION_TTL`` (seconds a worker trusts the revisions it read, 1 s; 0 under
TESTING: a write is then seen by other workers and hosts within a second, and the cached hot
path makes no query at all); Flask-Compress's ``COMPRESS_*`` (brotli then gzip;
``COMPRESS_REGISTER`` off under TESTING).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time as time_module
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_compress import Compress
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.http import parse_cookie, parse_etags

from app.extensions import db
from app.i18n import LANG_COOKIE
from app.models import DataRevision

# Every dataset a public page may read (app.records.DATASETS maps models to these).
PUBLIC_DATASETS = ("states", "local", "national", "metric", "geodata")

# Endpoints never cached whatever their decorators say.
_NEVER = frozenset({"static"})

F = TypeVar("F", bound=Callable[..., Any])
compress = Compress()


class LRUCache:
    """A small thread-safe LRU (least recently used entries go first) with hit counts."""

    def __init__(self, size: int = 256):
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, fresh: Callable[[Any], bool] | None = None) -> Any:
        """Return the value of ``key`` or None (counting a hit or a miss); a value that
        ``fresh`` finds stale counts as a miss and is not returned."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
        if value is not None and (fresh is None or fresh(value)):
            with self._lock:
                self.hits += 1
            return value
        with self._lock:
            self.misses += 1
        return None

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """Return the cached value of ``key``, building and storing it on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        value = build()  # outside the lock: a slow build must not block warm requests
        with self._lock:
            self.misses += 1
        self.set(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


# --- Declaring a view's policy -------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    datasets: tuple[str, ...] = PUBLIC_DATASETS
    max_age: int | None = None
    cache: bool = True


def cached_public(*datasets: str, max_age: int | None = None) -> Callable[[F], F]:
    """Declare that a view is public and reads only ``datasets`` (default: all public ones).

    Every view is cached with all public datasets without this decorator; use it to say
    which datasets a page reads (fewer invalidations) or to set its ``max_age``.
    """

    def decorate(view: F) -> F:
        view._httpcache = Policy(tuple(datasets) or PUBLIC_DATASETS, max_age)  # type: ignore[attr-defined]
        return view

    return decorate


def private(view: F) -> F:
    """Never cache this view, on the server or in any shared cache."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    wrapper._httpcache = Policy(cache=False)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _policy() -> Policy | None:
    """The current request's policy, or None when it must not be cached."""
    if request.method not in ("GET", "HEAD") or not current_app.config["HTTPCACHE_ENABLED"]:
        return None
    endpoint = request.endpoint
    if endpoint is None or endpoint in _NEVER:
        return None
    view = current_app.view_functions.get(endpoint)
    policy = getattr(view, "_httpcache", None) or Policy()
    return policy if policy.cache else None


# --- Revisions, keys and ETags -------------------------------------------------------------


def revisions(*datasets: str) -> tuple[tuple[int, ...], datetime | None]:
    """Return the revisions of ``datasets`` (0 when never changed) and their latest change.

    One query per request and set of datasets (memoised in ``g``), and none at all while the
    worker's last reading is younger than ``HTTPCACHE_REVISION_TTL`` seconds.
    """
    memo: dict[tuple[str, ...], Any] = g.setdefault("_httpcache_revisions", {})
    if datasets in memo:
        return memo[datasets]
    ttl = current_app.config["HTTPCACHE_REVISION_TTL"]
    shared: dict[tuple[str, ...], Any] = current_app.extensions["httpcache_revisions"]
    now = time_module.monotonic()
    if ttl and datasets in shared and shared[datasets][0] > now:
        memo[datasets] = shared[datasets][1]
        return memo[datasets]
    rows = {
        r.dataset: r
        for r in db.session.execute(
            select(DataRevision.dataset, DataRevision.revision, DataRevision.changed_at)
            .where(DataRevision.dataset.in_(datasets))
        )
    }
    numbers = tuple(rows[d].revision if d in rows else 0 for d in datasets)
    changed = [r.changed_at for r in rows.values() if r.changed_at is not None]
    memo[datasets] = (numbers, max(changed) if changed else None)
    if ttl:
        shared[datasets] = (now + ttl, memo[datasets])
    return memo[datasets]


def _canonical_query() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(request.args.items(multi=True)))


def request_key(*datasets: str) -> tuple[Hashable, ...]:
    """The cache key of the current request over ``datasets``."""
    numbers, _changed = revisions(*datasets)
    return (request.host, request.path, _canonical_query(), str(get_locale()),
            date.today().isoformat(), datasets, numbers)


def _digest(key: tuple[Hashable, ...]) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()


def etag_for(*datasets: str) -> str:
    """The weak ETag (``W/"..."``) of the current request over ``datasets``."""
    return f'W/"{_digest(request_key(*(datasets or PUBLIC_DATASETS)))}"'


def _last_modified(changed: datetime | None) -> datetime:
    """The latest change, but never before today's midnight (pages depend on the date)."""
    midnight = datetime.combine(date.today(), time(), tzinfo=UTC)
    if changed is None:
        return midnight
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    return max(changed.replace(microsecond=0), midnight)


# --- The hooks -----------------------------------------------------------------------------


@dataclass
class _Cached:
    """A stored response: body, status, content type and the headers that describe it."""

    body: bytes
    status: int
    mimetype: str | None
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Context:
    key: tuple[Hashable, ...]
    digest: str
    last_modified: datetime
    max_age: int
    datasets: tuple[str, ...]
    numbers: tuple[int, ...]
    hit: bool = False
    public: bool = False


_KEPT_HEADERS = ("Content-Disposition", "Content-Language")


def _anonymous() -> bool:
    """True when nothing about the request identifies a user (no session, no sign-in)."""
    config = current_app.config
    cookies = request.cookies
    if cookies.get(config.get("SESSION_COOKIE_NAME", "session")) or cookies.get(
        config.get("REMEMBER_COOKIE_NAME", "remember_token")
    ):
        return False
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover - Flask-Login is a dependency
        return True
    return not (current_user and current_user.is_authenticated)


def _cache() -> LRUCache:
    return current_app.extensions["httpcache"]


def _before() -> Response | None:
    g.httpcache = None
    policy = _policy()
    if policy is None or not _anonymous():
        return None
    key = request_key(*policy.datasets)
    numbers, changed = revisions(*policy.datasets)
    max_age = policy.max_age if policy.max_age is not None else current_app.config[
        "HTTPCACHE_MAX_AGE"]
    ctx = _Context(key, _digest(key), _last_modified(changed), max_age, policy.datasets,
                   numbers)
    g.httpcache = ctx
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    g.csp_nonce = hmac.new(secret, ctx.digest.encode(), "sha256").hexdigest()[:24]
    if request.if_none_match and request.if_none_match.contains_weak(ctx.digest):
        ctx.hit = True
        return Response(status=304)
    stored: _Cached | None = _cache().get(key)
    if stored is None:
        return None
    ctx.hit = True
    response = Response(stored.body, status=stored.status, content_type=stored.content_type)
    response.headers.update(stored.headers)
    return response


def _public_headers(response: Response, ctx: _Context) -> None:
    config = current_app.config
    response.set_etag(ctx.digest, weak=True)
    response.last_modified = ctx.last_modified
    response.headers["Cache-Control"] = (
        f"public, max-age={ctx.max_age}, stale-while-revalidate={config['HTTPCACHE_STALE']}"
    )
    response.vary.update(("Accept-Language", "Cookie", "Accept-Encoding"))
    ctx.public = True
    if response.status_code == 200 and not (response.is_streamed or response.direct_passthrough):
        # The front cache keeps the finished response (after compression) for the next one.
        request.environ[_FRONT_MARK] = (ctx.datasets, ctx.numbers, ctx.digest)


def _after(response: Response) -> Response:
    if "no-store" in response.headers.get("Cache-Control", ""):
        return response  # stricter than anything below (account and edit pages)
    ctx: _Context | None = g.get("httpcache")
    if ctx is None:
        page = request.method in ("GET", "HEAD") and request.endpoint not in _NEVER
        if page and not _anonymous():
            response.headers.setdefault("Cache-Control", "private, no-cache")
            response.vary.add("Cookie")
        return response
    if "Set-Cookie" in response.headers or session.modified:
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Cookie")
        return response
    if response.status_code == 304 or (response.status_code == 200 and ctx.hit):
        _public_headers(response, ctx)
        return response
    if response.status_code != 200:
        return response
    _public_headers(response, ctx)
    if not (response.is_streamed or response.direct_passthrough):
        headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
        _cache().set(ctx.key, _Cached(response.get_data(), response.status_code,
                                      response.mimetype, response.content_type, headers))
    return response


class _CompressedVariants:
    """Flask-Compress's cache: compressed bodies of public responses, by encoding and ETag."""

    def __init__(self) -> None:
        self._lru = LRUCache(1024)

    def get(self, key: str) -> bytes | None:
        return None if key.endswith(";") else self._lru.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):
            self._lru.set(key, value)


def _compress_key(req: Any) -> str:
    ctx: _Context | None = g.get("httpcache")
    return ctx.digest if ctx is not None and ctx.public else ""


COMPRESSED_TYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript",
    "application/json", "application/javascript", "application/geo+json",
    "application/atom+xml", "application/xml", "image/svg+xml",
]


# --- The front cache: finished responses answered before Flask ----------------------------

_FRONT_MARK = "estado_abierto.httpcache"
# Headers a 304 does not repeat (RFC 9110 15.4.5: it describes the stored 200, has no body).
_NOT_IN_304 = frozenset({"content-length", "content-type", "content-encoding"})


@dataclass(frozen=True)
class _Finished:
    """A finished public response as the client received it, and what it was built from."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    datasets: tuple[str, ...]
    numbers: tuple[int, ...]
    digest: str


class FrontCache:
    """WSGI middleware in front of the Flask app: the hot path of a results-day surge.

    The first anonymous GET of a page goes through Flask as usual (hooks above); when Flask
    marks the answer public, the finished response (headers, compressed body) is kept under
    the raw request: scheme, host, path, query, language cookie, ``Accept-Language`` and
    ``Accept-Encoding`` (the headers the response varies on) and today's date. A later request
    with the same key is answered from here while the revisions of the page's datasets are
    still those it was built from (read as ``revisions`` reads them: at most once per
    ``HTTPCACHE_REVISION_TTL`` per worker), with a 304 when ``If-None-Match`` matches; no
    request context, no routing, no template. Anything else (a cookie of a session or
    sign-in, another method, a stale entry) goes through Flask, which stays the one place
    that decides what is public.
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Any]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.lru = LRUCache(app.config["HTTPCACHE_SIZE"])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        key = self._key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        started = time_module.perf_counter()
        entry: _Finished | None = self.lru.get(
            key, lambda found: self._numbers(found.datasets) == found.numbers)
        if entry is not None:
            return self._answer(entry, environ, start_response, started)
        return self._render(key, environ, start_response)

    def _key(self, environ: dict[str, Any]) -> tuple[Hashable, ...] | None:
        config = self.app.config
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not config[
                "HTTPCACHE_ENABLED"]:
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        if cookies.get(config.get("SESSION_COOKIE_NAME", "session")) or cookies.get(
                config.get("REMEMBER_COOKIE_NAME", "remember_token")):
            return None
        return (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
                environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                tuple(sorted(environ.get("QUERY_STRING", "").split("&"))),
                cookies.get(LANG_COOKIE), environ.get("HTTP_ACCEPT_LANGUAGE"),
                environ.get("HTTP_ACCEPT_ENCODING"), date.today())

    def _numbers(self, datasets: tuple[str, ...]) -> tuple[int, ...] | None:
        shared = self.app.extensions["httpcache_revisions"]
        if self.app.config["HTTPCACHE_REVISION_TTL"] and datasets in shared:
            expires, (numbers, _changed) = shared[datasets]
            if expires > time_module.monotonic():
                return numbers
        try:
            with self.app.app_context():
                return revisions(*datasets)[0]
        except DBAPIError:
            return None  # not answered here: Flask gives the site's 503 page

    def _answer(self, entry: _Finished, environ: dict[str, Any],
                start_response: Callable[..., Any], started: float) -> list[bytes]:
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(entry.digest):
            status, cache = "304 NOT MODIFIED", "not-modified"
            headers = [(h, v) for h, v in entry.headers if h.lower() not in _NOT_IN_304]
            body = b""
        else:
            status, headers, cache = entry.status, entry.headers, "hit"
            body = b"" if environ["REQUEST_METHOD"] == "HEAD" else entry.body
        start_response(status, list(headers))
        from app import ops  # here, not at the top: app.ops imports this module

        ops.log_request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                        environ.get("QUERY_STRING", ""), int(status[:3]), started,
                        len(body) if cache == "hit" else None, cache)
        return [body]

    def _render(self, key: tuple[Hashable, ...], environ: dict[str, Any],
                start_response: Callable[..., Any]) -> Any:
        answered: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body_iter = self.wsgi_app(environ, capture)
        mark = environ.get(_FRONT_MARK)
        if (mark is None or environ["REQUEST_METHOD"] != "GET" or not answered
                or not answered[0].startswith("200")
                or any(h.lower() == "set-cookie" for h, _ in answered[1])):
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            if hasattr(body_iter, "close"):
                body_iter.close()
        datasets, numbers, digest = mark
        self.lru.set(key, _Finished(answered[0], list(answered[1]), body, datasets, numbers,
                                    digest))
        return [body]


def init_app(app: Flask) -> None:
    """Register the hooks. Call early in create_app: the after-request hook then runs after
    the others (Flask runs them in reverse order) and sees their cookies; compression runs
    last of all."""
    app.config.setdefault("HTTPCACHE_ENABLED", True)
    app.config.setdefault("HTTPCACHE_SIZE", 512)
    app.config.setdefault("HTTPCACHE_MAX_AGE", 10)
    app.config.setdefault("HTTPCACHE_STALE", 30)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", _CompressedVariants)
    app.config.setdefault("COMPRESS_CACHE_KEY", _compress_key)
    # Off under TESTING: test clients (Flask's, schemathesis's WSGI transport) send
    # Accept-Encoding but do not decode; tests of compression turn it on.
    app.config.setdefault("COMPRESS_REGISTER", not app.testing)
    # Revisions read at most once per TTL per worker (0: every request; the default under
    # TESTING, where a write must show at once).
    app.config.setdefault("HTTPCACHE_REVISION_TTL", 0 if app.testing else 1.0)
    app.extensions["httpcache"] = LRUCache(app.config["HTTPCACHE_SIZE"])
    app.extensions["httpcache_revisions"] = {}
    front = FrontCache(app, app.wsgi_app)
    app.wsgi_app = front  # type: ignore[method-assign]
    app.extensions["httpcache_front"] = front.lru
    compress.init_app(app)  # registered first: runs last
    app.before_request(_before)
    app.after_request(_after)
