"""The read-only JSON API, ``/api/v1``: the same services and lists as the pages.

flask-smorest generates the OpenAPI 3 description (``/api/openapi.json``) from the
marshmallow schemas and the declared arguments, and serves ReDoc (vendored, no CDN) at
``/api/docs``. Arguments are parsed by the site's input policy (``app.params``) against the
same declarations the description is built from: a bad value is a JSON 400 naming the
argument, an unknown id a JSON 404 (``app.errors``). ``HttpPlugin`` adds to every operation
what the site's HTTP layer does for it (``app.httpcache``: ETag, Last-Modified,
Cache-Control, 304 on If-None-Match or If-Modified-Since) and checks that each has an
``operationId``.

Cross-origin reads (CORS, read-only, no credentials) are open on the API, the open data
(``/data/*``), the GeoJSON layers and the Atom feeds (``init_app``).
"""

from __future__ import annotations

import threading
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask, Response
from flask_cors import CORS
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, fields

from app import params
from common.codes import STATE_CODES

PREFIX = "/api/v1"
REDOC = "/static/vendor/redoc-2.5.4/redoc.standalone.js"
NOT_FOUND = "NOT_FOUND"  # flask-smorest's response of that status (the Error schema)
CORS_MAX_AGE = 86400  # seconds a browser may keep a preflight's answer (browsers cap it)


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
    """flask-smorest's Api, leaving errors to the site's handlers (app.errors), that describes
    its blueprints' views in the OpenAPI document when the document is first read (the
    description, its page, schemathesis) instead of when the app is made.

    Describing them is most of the cost of making an app (a third of it: every schema is
    resolved, every operation deep-copied), and most apps never serve the description: a
    gunicorn worker until a client asks for it, a command, the app of each test. The document
    is the same: the views are described in the order the blueprints were registered, once,
    under a lock. ``register_blueprint`` does what flask-smorest's does, the description
    aside.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Flask | None = None, **kwargs: Any):
        self._spec: APISpec | None = None
        self._undescribed: list[tuple[SmorestBlueprint, str, Any]] = []
        self._describing = threading.RLock()
        self._busy = False
        super().__init__(app, **kwargs)

    @property
    def spec(self) -> APISpec | None:
        with self._describing:
            if not self._busy and self._undescribed:
                self._busy = True  # flask-smorest's callbacks may read the spec meanwhile
                try:
                    spec = self._spec
                    assert spec is not None  # blueprints are registered after init_app
                    for blueprint, name, parameters in self._undescribed:
                        blueprint.register_views_in_doc(self, self._app, spec, name=name,
                                                        parameters=parameters)
                        spec.tag({"name": name, "description": blueprint.description})
                    self._undescribed.clear()
                finally:
                    self._busy = False
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp: SmorestBlueprint, *, parameters: Any = None,
                           **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undescribed.append((blp, name, parameters))

    def _register_error_handlers(self) -> None:
        """Keep app.errors' JSON bodies: the same for the API as for ``?format=json``."""


class Blueprint(SmorestBlueprint):
    """A blueprint of the API whose arguments go through the site's input policy (400)."""

    ARGUMENTS_PARSER = params.parser


# --- What every operation gets from the HTTP layer ------------------------------------------

_STRING = {"type": "string"}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "Weak validator of the response; send it back in If-None-Match.",
             "schema": _STRING},
    "Last-Modified": {"description": "Last change of the data the response rests on; send it "
                                     "back in If-Modified-Since.", "schema": _STRING},
    "Cache-Control": {"description": "How long shared caches may keep the response.",
                      "schema": _STRING},
    "Link": {"description": "The page's links (RFC 8288): first, last, and prev and next "
                            "when there are such pages (no next on the last page).",
             "schema": _STRING},
}
def header_refs(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


class HttpPlugin(BasePlugin):
    """Documents what the HTTP layer adds to every GET (validators, 304, caching headers) and
    the input policy's empty values, and refuses an operation without an ``operationId``.

    The request's validators (If-None-Match, If-Modified-Since) are described in words (the
    API's description, the 304 response) rather than as parameters of every operation: they
    are the HTTP layer's, not the operation's.
    """

    def init_spec(self, spec: APISpec) -> None:
        for name, header in HEADERS.items():
            spec.components.header(name, header)

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if "operationId" not in operation:
                raise ValueError(f"{method.upper()} {path}: no operationId")
            if method != "get":
                continue
            for parameter in operation.get("parameters", []):
                # The input policy takes an empty value as no value (app.params._Parser), so an
                # optional query argument may be sent empty: say so.
                if isinstance(parameter, dict) and parameter.get("in") == "query" and not (
                        parameter.get("required")):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            ok = responses.get(200) or responses.setdefault("200", {"description": "OK"})
            ok.setdefault("headers", {}).update(header_refs("ETag", "Last-Modified",
                                                            "Cache-Control"))
            responses["304"] = {
                "description": "Not Modified: the representation that If-None-Match or "
                               "If-Modified-Since names is still current (no body).",
                "headers": header_refs("ETag", "Last-Modified", "Cache-Control"),
            }


DESCRIPTION = """\
Read-only open data of Estado Abierto: Mexico's local open-government exercises, action plans
and the Open Government Metric.

**Arguments.** Every argument is declared here exactly as the server checks it: a choice is an
`enum`, a number has its bounds, a text its length and pattern. A value of the declared form is
valid; a valid filter that matches nothing answers an empty list (200), whether or not a record
with that value exists (a state without plans, a plan id nobody has, a year without a round).
A value not of the declared form is a 400 whose `problems` name the argument, the value and
what is allowed. An id in the path that names no record is a 404.

**Pages.** Lists answer `{items, page, per_page, total, pages, links}`; `links.next` is null on
the last page, and the same links come in an HTTP `Link` header (no `rel="next"` on the last
page). A page past the last one is empty (200, no next). So a client may follow `next` until
there is none, or ask for pages until one is empty: both stop.

**Caching.** Responses carry a weak `ETag`, `Last-Modified` and `Cache-Control`; send
`If-None-Match` (or `If-Modified-Since`) for a `304`.

**Cross-origin reads** are open to every origin (CORS, no credentials), as are the data
package (`/data/datapackage.json` and `/data/*`), the GeoJSON layers and the Atom feeds.
"""


def _docs_page_policy(app: Flask) -> None:
    """ReDoc's search runs in a Web Worker made from a blob: the docs page alone may start one
    (``worker-src 'self' blob:``); the rest of the site's policy is unchanged."""
    endpoint = "api-docs.openapi_redoc"
    view = app.view_functions.get(endpoint)
    if view is None:
        return

    def docs_page() -> Response:
        from app.accounts.security import content_security_policy

        response = app.make_response(view())  # type: ignore[arg-type]  # flask-smorest's view returns a response
        response.headers["Content-Security-Policy"] = (
            content_security_policy() + "; worker-src 'self' blob:")
        return response

    app.view_functions[endpoint] = docs_page


def _cors(app: Flask) -> None:
    """Read-only cross-origin access, without credentials, to the API and the open data."""
    read_only = {
        "origins": "*",
        "methods": ["GET", "HEAD", "OPTIONS"],
        "expose_headers": ["ETag", "Last-Modified", "Link", "Content-Disposition"],
        "max_age": CORS_MAX_AGE,
        "supports_credentials": False,
        "send_wildcard": True,
    }
    CORS(app, resources={
        rf"^{path}": read_only for path in (
            r"/api/",
            r"/data/",
            r"/map\.geojson$",
            r"/map/exercises\.geojson$",
            r"/states/\d{2}/feed\.atom$",
            r"/commitments/\d+/feed\.atom$",
        )
    })


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
            "description": DESCRIPTION,
            "license": {"name": "Code: MIT; data: the licences of its sources (see /data)"},
        },
    })
    api = Api(app, spec_kwargs={"extra_plugins": [HttpPlugin()]})
    api.register_converter(params.StateCodeConverter,
                           lambda _converter: {"type": "string", "enum": list(STATE_CODES)})
    from . import views

    for blueprint in views.BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    _docs_page_policy(app)
    _cors(app)
