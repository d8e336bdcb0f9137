"""The one input policy: query arguments parsed against their declarations.

Every page and download declares its arguments with the field builders below (webargs and
marshmallow do the parsing); the JSON API parses and describes (OpenAPI) the same fields. An
empty argument counts as absent; an argument nobody declared is ignored; a value not of the
declared form stops the request with ``BadArguments`` (400), which the error handlers render
as the site's page (or JSON) naming the argument, the value and what is allowed. A value of the
declared form is valid even when no row has it: a filter then gives an empty list (any of the
32 state codes, any id, any round year). An id in the path that names no record is a 404
(``get_or_404`` and the bounded ``int`` converter).

The edge of the policy (``check_request``) runs before anything else reads a request, on
every route: a request target longer than ``MAX_REQUEST_TARGET`` is 414, and a query argument
or form field (name or value) holding a control character (``common.text.CONTROL_CHARACTERS``:
NUL, ESC...) is 400, whatever the route, the form or the database (PostgreSQL cannot store NUL;
XML feeds and XLSX files cannot hold most of the others).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import quote, unquote, urlsplit

from flask import Flask, current_app, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge, RequestURITooLarge
from werkzeug.routing import BaseConverter, IntegerConverter

from app.models.base import Base
from common.text import CONTROL_CHARACTERS

# Ids are 32-bit in every table; a larger number is no id at all (404, never an overflow).
MAX_ID = 2**31 - 1
MAX_TEXT = 200  # characters of a search
MAX_WORDS = 12  # words of a search (each one is a LIKE on several columns)
M = TypeVar("M", bound=Base)
YEARS = (2000, 2100)  # what a metric round's year may be
# Longest request target (path and query, as sent) answered; longer is the site's 414.
# gunicorn reads request lines up to 8190 bytes (deploy/gunicorn.conf.py); longer ones are
# refused before the app by the proxy (nginx's 414) or by gunicorn itself.
MAX_REQUEST_TARGET = 4096


class BadArguments(BadRequest):
    """400 for query arguments that are not allowed; ``problems`` name each one."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(p["message"] for p in problems))


def bad_argument(name: str, value: object, allowed: str) -> BadArguments:
    """Return the 400 for one argument (for checks that need the database)."""
    return BadArguments([_problem(name, value, allowed)])


def _problem(name: str, value: object, allowed: str) -> dict[str, str]:
    name = CONTROL_CHARACTERS.sub("\ufffd", name)[:60]
    shown = CONTROL_CHARACTERS.sub("\ufffd", str(value))  # shown, never sent back as is
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return {
        "argument": name,
        "value": shown,
        "allowed": allowed,
        "message": _(
            "El argumento «%(name)s» no admite el valor «%(value)s». Se admite: %(allowed)s.",
            name=name, value=shown, allowed=allowed,
        ),
    }


# --- Field builders: each carries a description of what it allows ----------------------
#
# The constraints are marshmallow validators that apispec also reads, so the JSON API's
# OpenAPI description (app.api) shows exactly what the parser accepts: a choice is an
# ``enum``, a whole number has its ``minimum`` and ``maximum``, a text its ``maxLength`` and
# ``pattern``. A value of the declared form is valid; whether any row has it is not the
# parser's business (a filter that matches nothing gives an empty list).


def _described(field: fields.Field, allowed: Callable[[], str]) -> fields.Field:
    field.metadata = {**field.metadata, "allowed": allowed}
    return field


class FullMatch(validate.Regexp):
    """``validate.Regexp`` over the whole value (``re.fullmatch``: no trailing newline slips
    past a ``$``). The pattern is also valid ECMA-262, as OpenAPI's ``pattern`` must be."""

    # Regexp also takes bytes; query text is always str.
    def __call__(self, value: str) -> str:  # type: ignore[override]  # str only, see above
        pattern = cast("re.Pattern[str]", self.regex)  # compiled from a str pattern
        if pattern.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class QueryInteger(fields.Integer):
    """A whole number written with ASCII digits, ``-`` allowed in front: no spaces, ``+``,
    ``_`` or other scripts' digits (which Python's ``int()`` would take)."""

    _DIGITS = re.compile(r"-?[0-9]{1,30}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and self._DIGITS.fullmatch(value) is None:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _now(values: Iterable[Any] | Callable[[Session], Iterable[Any]]) -> Iterable[Any]:
    """``values``, or what the callable returns for the request's session at parse time."""
    if callable(values):
        from app.extensions import db

        return values(db.session)
    return values


def choice(values: Iterable[str] | Callable[[Session], Iterable[str]], **kwargs: Any,
           ) -> fields.Field:
    """One of ``values`` (an ``enum`` in the API's description).

    ``values`` may be a callable of the request's session (values read from the data at parse
    time), but such a list cannot be described in advance: the API declares fixed lists only.
    """
    if not callable(values):
        fixed = tuple(str(v) for v in values)
        return _described(fields.String(validate=validate.OneOf(fixed), **kwargs),
                          lambda: ", ".join(fixed))

    def current() -> list[str]:
        return [str(v) for v in _now(values)]

    def check(value: str) -> None:
        if value not in current():
            raise ValidationError("not allowed")

    return _described(fields.String(validate=check, **kwargs), lambda: ", ".join(current()))


def integer(minimum: int = 1, maximum: int = MAX_ID, **kwargs: Any) -> fields.Field:
    """A whole number in [minimum, maximum]."""
    return _described(
        QueryInteger(validate=validate.Range(minimum, maximum), **kwargs),
        lambda: _("un número entero de %(lo)s a %(hi)s", lo=minimum, hi=maximum),
    )


def identifier(**kwargs: Any) -> fields.Field:
    """A record's id (1 to MAX_ID), whether or not a record has it."""
    return integer(1, MAX_ID, **kwargs)


def year(**kwargs: Any) -> fields.Field:
    """The year of a metric round (a round that is not loaded is still a well-formed year)."""
    return integer(*YEARS, **kwargs)


class QueryDate(fields.Date):
    """A day written ``YYYY-MM-DD`` with ASCII digits (``date.fromisoformat`` alone would also
    read ``20240501`` and, through ``int``, other scripts' digits)."""

    _DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or self._DAY.fullmatch(value) is None:
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None


def day(earliest: date = date(1990, 1, 1), latest: date = date(2100, 12, 31),
        **kwargs: Any) -> fields.Field:
    """A calendar day, ``YYYY-MM-DD``, from ``earliest`` to ``latest``."""
    return _described(
        QueryDate(validate=validate.Range(earliest, latest), **kwargs),
        lambda: _("una fecha AAAA-MM-DD del %(lo)s al %(hi)s", lo=earliest.isoformat(),
                  hi=latest.isoformat()),
    )


def int_choice(values: Callable[[Session], Iterable[int]], **kwargs: Any) -> fields.Field:
    """A whole number among what ``values(session)`` returns (e.g. ``round_years``)."""

    def check(value: int) -> None:
        if value not in set(_now(values)):
            raise ValidationError("not allowed")

    return _described(
        QueryInteger(validate=[validate.Range(0, MAX_ID), check], **kwargs),
        lambda: ", ".join(str(v) for v in _now(values)) or _("ninguno (no hay datos cargados)"),
    )


# Whitespace between words (tab, and Unicode's space separators and line/paragraph separators)
# and what a word is made of (anything but whitespace and control characters), spelled out
# rather than ``\s``, which Python's re and ECMA-262 (OpenAPI's patterns) read differently.
_SPACES = r"\t \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NOT_WORD = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def words_pattern(max_words: int) -> str:
    """A pattern of at most ``max_words`` words, with no control character but tab; the words
    are those ``str.split()`` finds (a test checks every code point agrees)."""
    word, space = f"[^{_NOT_WORD}]", f"[{_SPACES}]"
    return rf"^{space}*(?:{word}+{space}+){{0,{max_words - 1}}}{word}*{space}*$"


def text(max_length: int = MAX_TEXT, max_words: int = MAX_WORDS, **kwargs: Any) -> fields.Field:
    """Free text such as a search: bounded in length and words, no control characters."""
    return _described(
        fields.String(validate=[validate.Length(max=max_length),
                                FullMatch(words_pattern(max_words))], **kwargs),
        lambda: _("texto de hasta %(n)s caracteres y %(w)s palabras", n=max_length, w=max_words),
    )


def sort(keys: Iterable[str], **kwargs: Any) -> fields.Field:
    """A sort key, ``-`` in front for descending (both forms are in the ``enum``)."""
    allowed = tuple(keys)
    values = [form for key in allowed for form in (key, f"-{key}")]
    return _described(
        fields.String(validate=validate.OneOf(values), **kwargs),
        lambda: ", ".join(allowed) + " " + _("(con «-» delante para orden descendente)"),
    )


# --- The parser --------------------------------------------------------------------------


class _Parser(FlaskParser):
    """Query-string parser: empty values are absent, undeclared arguments ignored."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_querystring(self, req: Any, schema: Schema) -> Any:
        args = MultiDict((k, v) for k, v in req.args.items(multi=True) if v != "")
        return self._makeproxy(args, schema)

    def handle_error(self, error: ValidationError, req: Any, schema: Schema, *,
                     error_status_code: int | None, error_headers: Any) -> NoReturn:
        problems = []
        messages = error.messages if isinstance(error.messages, Mapping) else {}
        messages = messages.get("query", messages)  # webargs nests them by location
        for name in messages:
            field = schema.fields.get(str(name))
            allowed = field.metadata.get("allowed") if field is not None else None
            problems.append(_problem(
                str(name), req.args.get(name, ""), allowed() if allowed else "",
            ))
        raise BadArguments(problems or [_problem("?", "", "")])


_parser = _Parser(location="query")
parser = _parser  # the same policy for the JSON API's declared arguments (app.api)


def parse(declared: Mapping[str, fields.Field]) -> dict[str, Any]:
    """Parse this request's query string against ``declared``; 400 on a bad value."""
    schema = Schema.from_dict(dict(declared))()
    args = _parser.parse(schema, request, location="query")
    return {name: args.get(name) for name in declared}  # absent arguments are None


# --- The edge: every request, before anything reads it ---------------------------------

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _field_problem(name: str) -> dict[str, str]:
    """A form field with a control character: named, its value never shown (a password)."""
    problem = _problem(name, "", "")
    problem["message"] = _(
        "El campo «%(name)s» contiene un carácter de control (como NUL o ESC), que no se "
        "admite en ningún campo.", name=problem["argument"])
    return problem


def check_request() -> None:
    """414 for a request target over MAX_REQUEST_TARGET; 400 for a control character in any
    query argument or form field (name or value), naming each one."""
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or (
        quote(environ.get("PATH_INFO", ""), safe="/;:@&=+$,%~")
        + "?" + environ.get("QUERY_STRING", ""))
    if len(target) > MAX_REQUEST_TARGET:
        raise RequestURITooLarge()
    problems = [
        _problem(name, value, _("texto sin caracteres de control"))
        for name, value in request.args.items(multi=True)
        if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value)
    ]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in _FORM_TYPES:
        limit = current_app.config.get("IMPORT_MAX_BYTES")
        if limit and (request.content_length or 0) > limit + 65_536:
            raise RequestEntityTooLarge()  # never read: the largest upload allowed is smaller
        problems += [_field_problem(name) for name, value in request.form.items(multi=True)
                     if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value)]
    if problems:
        raise BadArguments(problems)


# --- Where a redirect may go ---------------------------------------------------------------


def site_path(target: str | None) -> str | None:
    """``target`` if it is a path of this site, else None (for ``next`` after sign-in, or a
    Referer to go back to).

    Refused: a scheme or host (``https://x``, ``https:x``, ``//x``), a backslash (browsers
    read ``/\\x`` as ``//x``), whitespace or control characters anywhere (browsers drop tabs
    and line breaks, so ``/\\t/x`` is ``//x``; a line break would split the header), anything
    but ASCII, more than 500 characters, and the same once percent-decoded (``/%09/x``,
    ``%2F%2Fx``, ``/%5Cx``).
    """
    if not target or len(target) > 500 or not target.isascii():
        return None
    for text in (target, unquote(target)):
        if (not text.startswith("/") or text.startswith("//") or "\\" in text
                or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text)
                or CONTROL_CHARACTERS.search(text)):
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
    return target


# --- Ids in paths ------------------------------------------------------------------------


def path_id(key: str) -> int:
    """An id written in a path as text (e.g. a parent's key): ASCII digits from 1 to MAX_ID,
    else 404 (``"²".isdigit()`` is true in Python; ``int`` reads "١٢" and "1_000")."""
    if not (key.isascii() and key.isdigit()) or len(key) > 10 or not 0 < int(key) <= MAX_ID:
        raise NotFound()
    return int(key)


def whole_number(text: str | None, maximum: int = MAX_ID) -> int | None:
    """``text`` as a whole number from 0 to ``maximum`` (ASCII digits only), or None."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def state_code(key: str) -> str:
    """A state code written in a path as text: two ASCII digits, else 404."""
    if not (len(key) == 2 and key.isascii() and key.isdigit()):
        raise NotFound()
    return key


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to the ids a table can hold (1 to MAX_ID): another number does not
    match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def get_or_404(session: Session, model: type[M], ident: object, *, live: bool = True) -> M:
    """Return the row with primary key ``ident``, or 404 (also when it is soft-deleted, or
    when an integer ``ident`` is beyond what an id column holds)."""
    if isinstance(ident, int) and not 0 <= ident <= MAX_ID:
        raise NotFound()
    obj = session.get(model, ident)
    if obj is None or (live and getattr(obj, "deleted_at", None) is not None):
        raise NotFound()
    return obj


class StateCodeConverter(BaseConverter):
    """``<cve:...>``: an INEGI state code, two digits; anything else does not match (404)."""

    regex = r"\d{2}"


def init_app(app: Flask) -> None:
    """Bound every ``<int:...>`` in the routes; state codes are two digits; the edge check
    runs first of every request hook (before the caches, the rate limits and CSRF)."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["cve"] = StateCodeConverter
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
