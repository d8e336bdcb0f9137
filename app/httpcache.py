"""HTTP validators for every public page and API response: what only the app can know.

The copies are kept by nginx in front of the app hosts (``deploy/nginx.conf``: its
``proxy_cache`` keyed on the URL, the language and the encoding). The app keeps no copy of any
response; it gives each public response what a cache needs to keep and check it:

- a weak ``ETag``: a hash of the host, path, canonical query (every argument, sorted), the
  interface language, today's date (pages tell what is overdue), the release (a digest of the
  code, templates and translations, so a deploy is a change), which secret key is in use (the
  script nonces derive from it, see below) and the revisions of the datasets
  the view reads (``DataRevision``: a write through ``app.records`` bumps its dataset once per
  transaction). The revisions are read on **every** request (one query on the primary key of a
  table of six rows), so a write is seen by the next request that reaches any app host;
- ``Last-Modified``: the latest change among those datasets, today's midnight and the
  release, rounded up to the next whole second (HTTP dates have no fractions), sent once that
  change is more than 2 seconds old, so no copy bearing it can miss a later change in the
  same second (and hosts' clocks may differ by up to a second);
- ``304 Not Modified`` without rendering: when ``If-None-Match`` names the current ETag, or,
  without ``If-None-Match`` (RFC 9110 13.1.3), when ``If-Modified-Since`` is later than the
  latest change;
- ``Cache-Control: public, max-age=0, s-maxage=N`` (``SHARED_CACHE_SECONDS``): browsers ask
  again on every view (a 304 when nothing changed) and a shared cache such as nginx may answer
  for N seconds without asking; ``Vary: Accept-Language, Cookie, Accept-Encoding``.

What is public: GET and HEAD requests of any endpoint (except ``static`` and the views marked
``@private``) from an anonymous client (no session or remember cookie and not
``current_user.is_authenticated``), answered ``200`` without ``Set-Cookie`` and without
modifying the session. Everything else gets no validators; pages for a signed-in user, and
responses that set a cookie, get ``Cache-Control: private, no-cache``.

Public API (also for the JSON API):

- ``@cached_public("metric", ...)``: the view reads only these datasets (default: every public
  dataset, ``app.records.public_datasets()``), so writes to other datasets do not change its
  validators.
- ``@private``: never public (the view or something it reads is per user).
- ``etag_for(*datasets)``: the weak ETag of the current request over ``datasets``.
- ``revisions(*datasets)``: ``(numbers, last change)`` of ``datasets``, memoised per request.

CSP nonce: a stored page must carry the same script nonce as the header sent with it, also
when a browser or proxy revalidates it with a 304 (which updates the stored headers), so for a
public request ``g.csp_nonce`` is derived from the ETag with the secret key (HMAC): it changes
whenever the content changes and cannot be predicted without the key
(``app.accounts.security.csp_nonce`` uses ``g.csp_nonce``).

Compression: Flask-Compress (brotli, then gzip) compresses each response as it is rendered;
nginx keeps one copy per encoding. ``COMPRESS_REGISTER`` is off under TESTING.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_compress import Compress
from sqlalchemy import select

from app import records
from app.extensions import db
from app.models import DataRevision

# Endpoints never public whatever their decorators say.
_NEVER = frozenset({"static"})
# A change this recent gets no Last-Modified (see the module's docstring).
_SETTLE = timedelta(seconds=2)
# The code a page is made of: a change to any of these files is a new release.
_RELEASE_PACKAGES = ("app", "common", "metrics", "geodata")
_RELEASE_SKIPPED = frozenset({"static", "__pycache__", "migrations"})

F = TypeVar("F", bound=Callable[..., Any])
compress = Compress()


# --- Declaring a view's policy -------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    datasets: tuple[str, ...] = ()  # empty: every public dataset
    public: bool = True


def cached_public(*datasets: str) -> Callable[[F], F]:
    """Declare that a view is public and reads only ``datasets`` (default: all public ones).

    Every view is public with all public datasets without this decorator; use it to say
    which datasets a page reads (fewer invalidations).
    """

    def decorate(view: F) -> F:
        view._httpcache = Policy(tuple(datasets))  # type: ignore[attr-defined]  # a marker
        return view

    return decorate


def private(view: F) -> F:
    """Never public: no validators, never kept by a shared cache."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    wrapper._httpcache = Policy(public=False)  # type: ignore[attr-defined]  # a marker
    return wrapper  # type: ignore[return-value]  # same signature as ``view``


def view_datasets(view: Callable[..., Any]) -> tuple[str, ...]:
    """The datasets ``view`` declared with ``cached_public`` (empty: every public one)."""
    policy: Policy | None = getattr(view, "_httpcache", None)
    return policy.datasets if policy is not None else ()


def _policy() -> Policy | None:
    """The current request's policy, or None when it is not public."""
    if request.method not in ("GET", "HEAD"):
        return None
    endpoint = request.endpoint
    if endpoint is None or endpoint in _NEVER:
        return None
    view = current_app.view_functions.get(endpoint)
    policy = getattr(view, "_httpcache", None) or Policy()
    return policy if policy.public else None


# --- Revisions, the release, keys and ETags ------------------------------------------------


def revisions(*datasets: str) -> tuple[tuple[int, ...], datetime | None]:
    """Return the revisions of ``datasets`` (0 when never changed) and their latest change.

    One query per request and set of datasets (memoised in ``g``).
    """
    memo: dict[tuple[str, ...], Any] = g.setdefault("_httpcache_revisions", {})
    if datasets in memo:
        return memo[datasets]
    rows = {
        r.dataset: r
        for r in db.session.execute(
            select(DataRevision.dataset, DataRevision.revision, DataRevision.changed_at)
            .where(DataRevision.dataset.in_(datasets))
        )
    }
    numbers = tuple(rows[d].revision if d in rows else 0 for d in datasets)
    changed = [_utc(r.changed_at) for r in rows.values() if r.changed_at is not None]
    memo[datasets] = (numbers, max(changed) if changed else None)
    return memo[datasets]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Release:
    """What the running code is: a digest of its files and the newest file's time."""

    digest: str
    changed: datetime


def read_release(root: Path | None = None) -> Release:
    """Digest the code, templates, translations and bundled data pages are made of (the
    packages in ``_RELEASE_PACKAGES``, without static files and migrations). Hosts running the
    same code get the same digest, so their ETags agree; a deploy changes it."""
    root = root or Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=12)
    newest = 0.0
    for package in _RELEASE_PACKAGES:
        for folder, subfolders, files in os.walk(root / package):
            subfolders[:] = sorted(d for d in subfolders if d not in _RELEASE_SKIPPED)
            for name in sorted(files):
                path = Path(folder) / name
                if path.suffix in (".pyc", ".po", ".pot"):
                    continue
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
                newest = max(newest, path.stat().st_mtime)
    return Release(digest.hexdigest(), datetime.fromtimestamp(newest, UTC))


@functools.cache
def _running_release() -> Release:
    """The release of the code this process runs, read once: the code does not change under
    a running process (a deploy restarts it), and every app the process makes (one per test)
    then skips reading the files again."""
    return read_release()


def _canonical_query() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(request.args.items(multi=True)))


def _release() -> Release:
    return current_app.extensions["httpcache"]


def request_key(*datasets: str) -> tuple[Hashable, ...]:
    """What the current request's public response is made of, over ``datasets``."""
    numbers, _changed = revisions(*datasets)
    return (request.host, request.path, _canonical_query(), str(get_locale()),
            date.today().isoformat(), _release().digest, _key_id(), datasets, numbers)


def _key_id() -> str:
    """Which secret key signs the pages' script nonces: after a rotation every ETag changes,
    so no copy (nginx's, a browser's) keeps a nonce the new headers no longer name."""
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, b"app.httpcache key id", "sha256").hexdigest()[:12]


def _digest(key: tuple[Hashable, ...]) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()


def etag_for(*datasets: str) -> str:
    """The weak ETag (``W/"..."``) of the current request over ``datasets``."""
    return f'W/"{_digest(request_key(*(datasets or records.public_datasets())))}"'


def latest_change(changed: datetime | None) -> datetime:
    """The latest change a page depends on: its datasets' ``changed``, today's midnight
    (local time: pages depend on the date) and the release."""
    midnight = datetime.combine(date.today(), time()).astimezone(UTC)
    candidates = [midnight, _release().changed]
    if changed is not None:
        candidates.append(_utc(changed))
    return max(candidates)


def last_modified_header(changed: datetime, now: datetime | None = None) -> datetime | None:
    """``Last-Modified`` for content whose latest change is ``changed``: that moment rounded up
    to the next whole second, or None while it is less than ``_SETTLE`` old."""
    rounded = changed.replace(microsecond=0) + timedelta(seconds=1)
    now = now or datetime.now(UTC)
    return rounded if now >= changed.replace(microsecond=0) + _SETTLE else None


# --- The hooks -----------------------------------------------------------------------------


@dataclass
class _Context:
    digest: str
    changed: datetime
    public: bool = False


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


def _not_modified(ctx: _Context) -> bool:
    """Whether the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(ctx.digest)
    since = request.if_modified_since
    return since is not None and ctx.changed < since


def _before() -> Response | None:
    g.httpcache = None
    policy = _policy()
    if policy is None or not _anonymous():
        return None
    datasets = policy.datasets or records.public_datasets()
    _numbers, changed = revisions(*datasets)
    digest = _digest(request_key(*datasets))
    ctx = _Context(digest, latest_change(changed))
    g.httpcache = ctx
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    g.csp_nonce = hmac.new(secret, digest.encode(), "sha256").hexdigest()[:24]
    if _not_modified(ctx):
        return Response(status=304)
    return None


def _public_headers(response: Response, ctx: _Context) -> None:
    response.set_etag(ctx.digest, weak=True)
    last_modified = last_modified_header(ctx.changed)
    if last_modified is not None:
        response.last_modified = last_modified
    seconds = current_app.config["SHARED_CACHE_SECONDS"]
    response.headers["Cache-Control"] = f"public, max-age=0, s-maxage={seconds}"
    response.vary.update(("Accept-Language", "Cookie", "Accept-Encoding"))
    ctx.public = True


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
    if response.status_code in (200, 304):
        _public_headers(response, ctx)
    return response


COMPRESSED_TYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript",
    "application/json", "application/javascript", "application/geo+json",
    "application/atom+xml", "application/xml", "image/svg+xml",
]


def init_app(app: Flask) -> None:
    """Register the hooks. Call early in create_app: the after-request hook then runs after
    the others (Flask runs them in reverse order) and sees their cookies; compression runs
    last of all."""
    app.config.setdefault("SHARED_CACHE_SECONDS", 1)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    # Off under TESTING: test clients (Flask's, schemathesis's WSGI transport) send
    # Accept-Encoding but do not decode; tests of compression turn it on.
    app.config.setdefault("COMPRESS_REGISTER", not app.testing)
    # The release; its presence also tells app.api that the validators are registered.
    app.extensions["httpcache"] = _running_release()
    compress.init_app(app)  # registered first: runs last
    app.before_request(_before)
    app.after_request(_after)
