"""Security around every response: rate limits, session cookies, headers and the CSP nonce.

- Sign-in attempts are limited per account and per client address (Flask-Limiter, counted in
  RATELIMIT_STORAGE_URI); only failed attempts count.
- Session and remember cookies are HttpOnly and SameSite=Lax, and Secure unless DEVELOPMENT or
  TESTING is on (the site is then served over plain http on loopback).
- Every response carries a Content-Security-Policy whose scripts are the site's own files and
  the inline scripts that bear this request's nonce (``csp_nonce()`` in templates; the maps'
  inline script gets it), plus X-Content-Type-Options, X-Frame-Options and Referrer-Policy.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import Markup
from werkzeug import Response

limiter = Limiter(key_func=get_remote_address, default_limits=[])

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


def content_security_policy() -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self' 'unsafe-inline'",  # Leaflet positions its layers with inline styles
        f"img-src 'self' data:{_tile_origin()}",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.endpoint and request.endpoint.startswith(("accounts.", "edit.")):
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    plain_http = bool(app.config.get("DEVELOPMENT") or app.config.get("TESTING"))
    for prefix in ("SESSION", "REMEMBER"):
        app.config[f"{prefix}_COOKIE_SECURE"] = not plain_http
        app.config[f"{prefix}_COOKIE_HTTPONLY"] = True
        app.config[f"{prefix}_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce
