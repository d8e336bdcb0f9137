"""Security around every response: rate limits, session cookies, headers and the CSP nonce.

- Failed sign-in attempts are limited per client address, per account from one address and,
  more slowly, per account from every address (Flask-Limiter, counted in
  RATELIMIT_STORAGE_URI; the limits are on the login view); only failed attempts count, so
  a stranger's failures from another address never block the owner's right password.
- Session and remember cookies are HttpOnly and SameSite=Lax, and Secure unless DEVELOPMENT or
  TESTING is on (the site is then served over plain http on loopback).
- Every response carries a Content-Security-Policy whose scripts are the site's own files and
  the inline scripts that bear this request's nonce (``csp_nonce()`` in templates; the maps'
  inline script gets it), plus X-Content-Type-Options, X-Frame-Options and Referrer-Policy.
  Views marked ``@frameable`` (the embeddable map) may be framed by any site: their policy
  says ``frame-ancestors *`` and they send no X-Frame-Options (which would forbid it).
- Account and edit pages are ``Cache-Control: no-store``.
- Routing's own redirects (``/states`` to ``/states/``) point to a path of this site, never
  to the host the request's Host header names.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import Markup
from werkzeug import Response
from werkzeug.routing import RequestRedirect

limiter = Limiter(key_func=get_remote_address, default_limits=[])
F = TypeVar("F", bound=Callable[..., Any])


def frameable(view: F) -> F:
    """Let any site frame this view (``frame-ancestors *``, no X-Frame-Options)."""
    view.frameable = True  # type: ignore[attr-defined]  # a mark on the function object
    return view


def _frameable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "frameable", False))

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)", re.IGNORECASE)


def csp_nonce() -> str:
    """This request's nonce for inline scripts."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def with_nonce(html: str) -> Markup:
    """Give every inline ``<script>`` of trusted ``html`` (e.g. folium's head) the nonce."""
    return Markup(_INLINE_SCRIPT.sub(f'<script nonce="{csp_nonce()}"', str(html)))


def _tile_origin() -> str:
    url = current_app.config.get("MAP_TILE_URL") or ""
    parts = urlsplit(url.replace("{s}", "a"))
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in url else parts.netloc
        return f" {parts.scheme}://{host}"
    return ""


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self' 'unsafe-inline'",  # Leaflet positions its layers with inline styles
        f"img-src 'self' data:{_tile_origin()}",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def _headers(response: Response) -> Response:
    headers = response.headers
    framed = _frameable()
    headers.setdefault("Content-Security-Policy",
                       content_security_policy("*" if framed else "'none'"))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not framed:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.endpoint and request.endpoint.startswith(("accounts.", "edit.")):
        headers.setdefault("Cache-Control", "no-store")
    return response


def _relative_redirect() -> Response | None:
    """Routing's redirect (a missing trailing slash) as a path of this site: Werkzeug builds
    an absolute address from the Host header, which anyone can set."""
    exc = request.routing_exception
    if not isinstance(exc, RequestRedirect):
        return None
    parts = urlsplit(exc.new_url)
    location = "/" + parts.path.lstrip("/\\") + (f"?{parts.query}" if parts.query else "")
    return redirect(location, code=exc.code)


def init_app(app: Flask) -> None:
    plain_http = bool(app.config.get("DEVELOPMENT") or app.config.get("TESTING"))
    for prefix in ("SESSION", "REMEMBER"):
        app.config[f"{prefix}_COOKIE_SECURE"] = not plain_http
        app.config[f"{prefix}_COOKIE_HTTPONLY"] = True
        app.config[f"{prefix}_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    app.after_request(_headers)
    app.before_request(_relative_redirect)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce
