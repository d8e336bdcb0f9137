"""Error pages: 400, 403, 404, 405, 413, 414, 429, 500 and 503 as the site's own page (or JSON
for JSON clients).

A 400 from the input policy (``app.params.BadArguments``) names each bad argument, its value
and what is allowed; a form sent without its valid CSRF token (Flask-WTF's ``CSRFError``) is a
400 that says so; a 429 says how long to wait. Every text is the site's own, in the reader's
language: the libraries' descriptions (Werkzeug's, Flask-WTF's CSRF reasons, Flask-Limiter's
"10 per 15 minute") are English and never shown. Nothing here shows a stack trace; a 500 is
logged with its traceback. The error page itself never fails: the request's transaction is
rolled back before an unexpected error is rendered (a failed statement leaves PostgreSQL's
transaction unusable, and the page reads the signed-in user), and if rendering the page still
fails, a plain page in both languages is sent instead.
"""

from __future__ import annotations

import math
import re
import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug import Response
from werkzeug.exceptions import HTTPException, InternalServerError

from .params import BadArguments

HANDLED = (400, 403, 404, 405, 413, 414, 429, 500, 503)

# What is sent when even the error page fails (no template, no database, no translation).
BARE_PAGE = (
    '<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Error {code}</title>'
    '</head><body><h1>Error {code}</h1><p>Algo falló de nuestro lado; vuelva a intentarlo más '
    'tarde.</p><p lang="en">Something failed on our side; please try again later.</p>'
    '<p><a href="/">Inicio / Home</a></p></body></html>'
)


def wants_json() -> bool:
    """JSON for the API, ``?format=json`` and clients that prefer JSON to HTML."""
    if request.path.startswith("/api/") or request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    accept = request.accept_mimetypes
    return best == "application/json" and accept[best] > accept["text/html"]


# Each status's title and explanation, translated when a page shows one (lazily: an error
# page translates its own two texts, not every status's).
TITLES = {
    400: _l("Petición incorrecta"),
    403: _l("Acceso denegado"),
    404: _l("Página no encontrada"),
    405: _l("Método no permitido"),
    413: _l("Archivo demasiado grande"),
    414: _l("Dirección demasiado larga"),
    429: _l("Demasiados intentos"),
    500: _l("Error interno"),
    503: _l("Servicio no disponible"),
}
EXPLANATIONS = {
    400: _l("La dirección lleva un argumento con un valor que esta página no admite."),
    403: _l("Su cuenta no tiene permiso para esta acción."),
    404: _l("No existe lo que busca en esta dirección. Puede que el enlace esté mal escrito "
           "o que el registro no exista."),
    405: _l("Esta dirección no admite ese método."),
    413: _l("El archivo enviado supera el tamaño permitido."),
    414: _l("La dirección pedida es demasiado larga; acórtela (por ejemplo, con menos "
           "argumentos o una búsqueda más breve)."),
    429: _l("Hubo demasiados intentos en poco tiempo; espere unos minutos y vuelva a "
           "intentarlo."),
    500: _l("Algo falló de nuestro lado. El error quedó registrado; vuelva a intentarlo más "
           "tarde."),
    503: _l("El servicio no está disponible por el momento; vuelva a intentarlo más tarde."),
}


_CODE = re.compile(r"-?[A-Za-z0-9_.:]+")


def problem_html(problem: dict[str, str]) -> Markup:
    """A bad argument's message with what is typed in an address shown as code: the
    argument's name, the value given, and the values allowed when they are codes (a sort's
    keys, a choice's values: identifiers, not words of the reader's language)."""
    message = str(escape(problem["message"]))
    for typed in (problem["argument"], problem["value"]):
        if typed:
            for quoted in (f"«{escape(typed)}»", f"“{escape(typed)}”"):
                message = message.replace(quoted, f"{quoted[0]}<code>{escape(typed)}</code>"
                                                  f"{quoted[-1]}")
    listed = problem["allowed"].split(" (")[0]
    codes = [c.strip() for c in listed.split(",")]
    if listed and all(_CODE.fullmatch(c) for c in codes):
        message = message.replace(str(escape(listed)), ", ".join(
            f"<code>{escape(c)}</code>" for c in codes), 1)
    return Markup(message)  # every piece above is escaped


def _csrf_text() -> tuple[str, str]:
    """The title and explanation of a form refused for its CSRF token (missing, expired,
    not this session's): Flask-WTF's reasons are English, so one message of the site's."""
    return (_("Formulario caducado"),
            _("El formulario se envió sin su clave de seguridad o con una que ya no vale (por "
              "ejemplo, la página quedó abierta mucho tiempo o la sesión terminó). No se "
              "guardó nada: vuelva a abrir el formulario y envíelo de nuevo."))


def _wait() -> int | None:
    """Seconds until the rate limit this request broke lets the client try again."""
    try:
        from app.accounts.security import limiter

        current = limiter.current_limit
        return max(1, math.ceil(current.reset_at - time.time())) if current else None
    except Exception:  # noqa: BLE001  (no limit to report: the page still says to wait)
        return None


def _wait_text(seconds: int) -> str:
    return _("Hubo demasiados intentos en poco tiempo. Podrá volver a intentarlo en "
             "%(wait)s.", wait=format_timedelta(timedelta(seconds=seconds), threshold=1.0,
                                                add_direction=False))


def render_error(error: HTTPException, detail: str | None = None) -> Any:
    """The site's page (or JSON body) for ``error``; ``detail``: the site's own explanation,
    in the reader's language, instead of the one of the error's code."""
    try:
        return _render_error(error, detail)
    except Exception:  # noqa: BLE001  (the error page must not fail: the bare one then)
        current_app.logger.exception("The error page failed on %s %s", request.method,
                                     request.path)
        return bare_page(error.code or 500)


def bare_page(code: int) -> Response:
    return Response(BARE_PAGE.format(code=code), status=code, mimetype="text/html")


def _render_error(error: HTTPException, given: str | None) -> Any:
    code = error.code or 500
    problems = error.problems if isinstance(error, BadArguments) else []
    title = str(TITLES[code]) if code in TITLES else _("Error %(code)s", code=code)
    detail = given or (str(EXPLANATIONS[code]) if code in EXPLANATIONS else "")
    in_query = bool(problems) and all(p["argument"] in request.args for p in problems)
    if isinstance(error, CSRFError):
        title, detail = _csrf_text()
    elif problems and not in_query:
        detail = _("El formulario enviado lleva un valor que no se admite.")
    elif code == 400 and not problems and not given:
        detail = _("La petición no se pudo leer; revise la dirección o vuelva a enviar el "
                   "formulario.")
    wait = _wait() if code == 429 else None
    if wait is not None:
        detail = _wait_text(wait)
    if wants_json():
        body: dict[str, Any] = {"status": code, "error": title, "message": detail}
        if problems:
            body["problems"] = problems
            body["message"] = "; ".join(p["message"] for p in problems)
        response = jsonify(body)
    else:
        response = current_app.response_class(
            render_template("errors/error.html", code=code, title=title, detail=detail,
                            problems=problems, arguments=in_query),
            mimetype="text/html",
        )
    response.status_code = code
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    return response


def init_app(app: Flask) -> None:
    app.add_template_filter(problem_html, "problem_html")
    for code in HANDLED:
        app.register_error_handler(code, render_error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:  # pragma: no cover - exercised via tests
        if isinstance(error, HTTPException):
            return render_error(error)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        try:
            from .extensions import db

            db.session.rollback()  # the page reads the user: not in a failed transaction
        except Exception:  # noqa: BLE001  (the database is gone: the page does without)
            app.logger.exception("Rolling back after an unhandled error failed")
        return render_error(InternalServerError())
