"""The read-only JSON API, ``/api/v1``: the same services and lists as the pages.

flask-smorest generates the OpenAPI 3 description (``/api/openapi.json``) from the
marshmallow schemas and the declared arguments, and serves ReDoc (vendored, no CDN) at
``/api/docs``. Arguments are parsed by the site's input policy (``app.params``): a bad value
is a JSON 400 naming the argument, an unknown id a JSON 404 (``app.errors``). Reads are open
to every origin (CORS). Responses carry an ETag and Last-Modified from the data revisions, and
a matching ``If-None-Match`` gets a 304: ``app.httpcache`` does that for every endpoint once it
is registered; until then ``conditional`` below does it for the API alone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_cors import CORS
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from app import params

PREFIX = "/api/v1"
REDOC = "/static/vendor/redoc-2.5.4/redoc.standalone.js"


class ProblemSchema(Schema):
    """One bad argument: its name, the value given and what is allowed."""

    argument = fields.String(required=True)
    value = fields.String(required=True)
    allowed = fields.String(required=True)
    message = fields.String(required=True)


class ErrorSchema(Schema):
    """The body of every error (app.errors renders it for /api/)."""

    status = fields.Integer(required=True)
    error = fields.String(required=True)
    message = fields.String(required=True)
    problems = fields.List(fields.Nested(ProblemSchema))


class Api(SmorestApi):
    """flask-smorest's Api, leaving errors to the site's handlers (app.errors)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Keep app.errors' JSON bodies: the same for the API as for ``?format=json``."""


class Blueprint(SmorestBlueprint):
    """A blueprint of the API whose arguments go through the site's input policy (400)."""

    ARGUMENTS_PARSER = params.parser


# --- Conditional requests (until app.httpcache is registered) ----------------------------


def _revision_state() -> tuple[str, Any]:
    """A digest of every dataset's revision and the latest change."""
    from app.extensions import db
    from app.models import DataRevision

    rows = db.session.execute(
        select(DataRevision.dataset, DataRevision.revision, DataRevision.changed_at)
        .order_by(DataRevision.dataset)
    ).all()
    changed = max((r.changed_at for r in rows if r.changed_at is not None), default=None)
    key = repr([(r.dataset, r.revision) for r in rows]) + request.full_path
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest(), changed


def conditional() -> Response | None:
    """ETag and Last-Modified from the data revisions; 304 when If-None-Match matches."""
    if "httpcache" in current_app.extensions or request.method not in ("GET", "HEAD"):
        return None
    digest, changed = _revision_state()
    g.api_etag = (digest, changed)
    if request.if_none_match and request.if_none_match.contains_weak(digest):
        return _validators(Response(status=304))
    return None


def _validators(response: Response) -> Response:
    digest, changed = g.api_etag
    response.set_etag(digest, weak=True)
    if changed is not None:
        response.last_modified = changed.replace(tzinfo=UTC, microsecond=0)
    response.headers.setdefault("Cache-Control", "public, max-age=0, must-revalidate")
    return response


def add_validators(response: Response) -> Response:
    if g.get("api_etag") and response.status_code == 200:
        _validators(response)
    return response


def init_app(app: Flask) -> None:
    """Register the API, its description and documentation page, and CORS for reads."""
    app.config.setdefault("API_TITLE", "Estado Abierto")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_REDOC_PATH", "docs")
    app.config.setdefault("OPENAPI_REDOC_URL", REDOC)
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {
            "description": (
                "Read-only open data of Estado Abierto: Mexico's local open-government "
                "exercises, action plans and the Open Government Metric. Every list is "
                "paginated (page, per_page) with links; a bad argument is a 400 naming it; "
                "responses carry an ETag (send If-None-Match for a 304)."
            ),
            "license": {"name": "Code: MIT; data: the licences of its sources (see /data)"},
        },
    })
    api = Api(app)  # one per app: the description is built from this app's routes
    from . import views

    for blueprint in views.BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    CORS(app, resources={r"/api/*": {"origins": "*", "methods": ["GET", "HEAD", "OPTIONS"]}},
         expose_headers=["ETag", "Last-Modified"], send_wildcard=True, supports_credentials=False)
