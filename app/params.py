"""The one input policy: query arguments parsed against their declarations.

Every page and download declares its arguments with the field builders below (webargs and
marshmallow do the parsing). An empty argument counts as absent; an argument nobody declared
is ignored; a bad value of a declared argument stops the request with ``BadArguments`` (400),
which the error handlers render as the site's page (or JSON) naming the argument, the value
and what is allowed. Unknown ids are 404 (``get_or_404`` and the bounded ``int`` converter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from flask import Flask, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from app.models.base import Base

# Ids are 32-bit in every table; a larger number is no id at all (404, never an overflow).
MAX_ID = 2**31 - 1
MAX_TEXT = 200  # characters of a search
MAX_WORDS = 12  # words of a search (each one is a LIKE on several columns)
M = TypeVar("M", bound=Base)


class BadArguments(BadRequest):
    """400 for query arguments that are not allowed; ``problems`` name each one."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(p["message"] for p in problems))


def bad_argument(name: str, value: object, allowed: str) -> BadArguments:
    """Return the 400 for one argument (for checks that need the database)."""
    return BadArguments([_problem(name, value, allowed)])


def _problem(name: str, value: object, allowed: str) -> dict[str, str]:
    shown = str(value)
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


def _described(field: fields.Field, allowed: Callable[[], str]) -> fields.Field:
    field.metadata = {**field.metadata, "allowed": allowed}
    return field


def _no_controls(value: str) -> None:
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise ValidationError("control character")


def _now(values: Iterable[Any] | Callable[[Session], Iterable[Any]]) -> Iterable[Any]:
    """``values``, or what the callable returns for the request's session at parse time."""
    if callable(values):
        from app.extensions import db

        return values(db.session)
    return values


def choice(values: Iterable[str] | Callable[[Session], Iterable[str]], **kwargs: Any,
           ) -> fields.Field:
    """One of ``values``, or of what a service returns at parse time (called with the
    request's session, e.g. ``round_years``: the loaded rounds)."""

    def current() -> list[str]:
        return [str(v) for v in _now(values)]

    def check(value: str) -> None:
        if value not in current():
            raise ValidationError("not allowed")

    return _described(fields.String(validate=check, **kwargs), lambda: ", ".join(current()))


def integer(minimum: int = 1, maximum: int = MAX_ID, **kwargs: Any) -> fields.Field:
    """A whole number in [minimum, maximum]."""
    return _described(
        fields.Integer(strict=False, validate=validate.Range(minimum, maximum), **kwargs),
        lambda: _("un número entero de %(lo)s a %(hi)s", lo=minimum, hi=maximum),
    )


def int_choice(values: Callable[[Session], Iterable[int]], **kwargs: Any) -> fields.Field:
    """A whole number among what ``values(session)`` returns (e.g. ``round_years``)."""

    def check(value: int) -> None:
        if value not in set(_now(values)):
            raise ValidationError("not allowed")

    return _described(
        fields.Integer(strict=False, validate=[validate.Range(0, MAX_ID), check], **kwargs),
        lambda: ", ".join(str(v) for v in _now(values)) or _("ninguno (no hay datos cargados)"),
    )


def text(max_length: int = MAX_TEXT, max_words: int = MAX_WORDS, **kwargs: Any) -> fields.Field:
    """Free text such as a search: bounded in length and words, no control characters."""

    def check(value: str) -> None:
        _no_controls(value)
        if len(value) > max_length or len(value.split()) > max_words:
            raise ValidationError("too long")

    return _described(
        fields.String(validate=check, **kwargs),
        lambda: _("texto de hasta %(n)s caracteres y %(w)s palabras", n=max_length, w=max_words),
    )


def sort(keys: Iterable[str], **kwargs: Any) -> fields.Field:
    """A sort key, ``-`` in front for descending."""
    allowed = tuple(keys)

    def check(value: str) -> None:
        if value.removeprefix("-") not in allowed:
            raise ValidationError("not allowed")

    return _described(
        fields.String(validate=check, **kwargs),
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


# --- Ids in paths ------------------------------------------------------------------------


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to the ids a table can hold: a larger number does not match (404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(text: str) -> int:
    """An id written in a path segment: ASCII digits up to ``MAX_ID``, else 404 (as the
    ``<int:...>`` converter answers); "²", "%00" or twenty digits never reach the database."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 10 and int(text) <= MAX_ID):
        raise NotFound()
    return int(text)


def get_or_404(session: Session, model: type[M], ident: object, *, live: bool = True) -> M:
    """Return the row with primary key ``ident``, or 404 (also when it is soft-deleted)."""
    obj = session.get(model, ident)
    if obj is None or (live and getattr(obj, "deleted_at", None) is not None):
        raise NotFound()
    return obj


class StateCodeConverter(BaseConverter):
    """``<cve:...>``: an INEGI state code, two digits; anything else does not match (404)."""

    regex = r"\d{2}"


def init_app(app: Flask) -> None:
    """Bound every ``<int:...>`` in the routes; state codes are two digits."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["cve"] = StateCodeConverter
