"""Interface language: Spanish by default; English on request (?lang=, the cookie that
remembers it, then the browser's Accept-Language)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, DecimalException
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context

from .listing import url_with

LANG_COOKIE = "lang"
# The locale whose number and date formats each interface language uses: Mexican Spanish
# writes 0.39 and 1,243 (point for decimals), like the reports.
FORMAT_LOCALES = {"es": "es_MX", "en": "en"}
# The name under which a page's context holds the reader's catalogue (``language_context``).
PAGE_TRANSLATIONS = "_page_translations"


def select_locale() -> str:
    """Pick the language from ?lang=, the cookie, Accept-Language, then the default (Spanish).

    The switcher (?lang=, then its cookie) always wins over the browser's preference.
    """
    offered = current_app.config["LANGUAGES"]
    if not has_request_context():  # the command line: the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate and candidate in offered:
            return candidate
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    return request.accept_languages.best_match(offered, default=default) or default


def init_app(app: Flask) -> None:
    """Remember an explicit ?lang= choice in a cookie and expose the language to templates.

    WTForms' own messages ("Este campo es obligatorio.", "No es un valor entero válido.") come
    from WTForms' catalogue in the reader's language (Flask-WTF's ``WTF_I18N_ENABLED``, set
    here so no setting can turn it off); the other libraries' texts are replaced by the site's:
    Flask-Login's in ``app.auth``, Flask-WTF's CSRF refusal and Flask-Limiter's 429 in
    ``app.errors``.
    """
    app.config["WTF_I18N_ENABLED"] = True

    @app.after_request
    def remember_language(response: Response) -> Response:
        lang = request.args.get("lang")
        if lang and lang in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
        # The language depends on these headers: caches must keep one copy per language.
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_moment, "datetime")

    # Flask-Babel's template functions look the translations up through the request's
    # context for each text (a page has dozens); these read them from the page's own context,
    # where ``language_context`` puts them once per page. The same catalogue, the same texts.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # Jinja's i18n
        gettext=_page_gettext, ngettext=_page_ngettext, pgettext=_page_pgettext,
        npgettext=_page_npgettext, newstyle=True)

    @app.context_processor
    def language_context() -> dict[str, object]:
        return {
            "current_lang": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "url_with_lang": url_with_lang,
            PAGE_TRANSLATIONS: get_translations(),
        }


def _catalogue(context: Context) -> Any:
    """The page's catalogue; a template rendered without the site's context (a macro imported
    without it) looks it up as Flask-Babel does."""
    found = context.get(PAGE_TRANSLATIONS)
    return found if found is not None else get_translations()


@pass_context
def _page_gettext(context: Context, message: str) -> str:
    return str(_catalogue(context).ugettext(message))


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return str(_catalogue(context).ungettext(singular, plural, n))


@pass_context
def _page_pgettext(context: Context, message_context: str, message: str) -> str:
    return str(_catalogue(context).upgettext(message_context, message))


@pass_context
def _page_npgettext(context: Context, message_context: str, singular: str, plural: str,
                    n: int) -> str:
    return str(_catalogue(context).unpgettext(message_context, singular, plural, n))


def url_with_lang(code: str) -> str:
    """Return the current page's URL (path and query kept) in the language ``code``."""
    return url_with(lang=code)


def _format_locale() -> str:
    lang = str(get_locale() or "es")
    return FORMAT_LOCALES.get(lang, lang)


def _pattern(digits: int, sign: bool) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return f"+{pattern};-{pattern}" if sign else pattern


@lru_cache(maxsize=64)
def _number_format(locale: str, digits: int, sign: bool) -> tuple[Locale, NumberPattern]:
    return Locale.parse(locale), parse_pattern(_pattern(digits, sign))


@lru_cache(maxsize=4096)
def _formatted(rounded: str, locale: str, digits: int, sign: bool) -> str:
    parsed, pattern = _number_format(locale, digits, sign)
    return pattern.apply(Decimal(rounded), parsed)


def format_number(value: float | int | None, digits: int = 2, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals in the reader's locale ('' when unknown).

    Babel's ``format_decimal`` does the formatting. It formats the decimal of ``str(value)``
    rounded half-even to ``digits``; rounding the same way first gives the same text, and a
    chart of thousands of points (a comparison's scatter) then formats each of its few
    distinct rounded values once instead of parsing the locale and pattern per point.
    """
    return _format_in(_format_locale(), value, digits, sign)


def number_formatter(digits: int = 2, sign: bool = False) -> Callable[[float], str]:
    """``format_number`` with the reader's locale looked up once (for a chart's many values)."""
    locale = _format_locale()
    return lambda value: _format_in(locale, value, digits, sign)


def _format_in(locale: str, value: float | int | None, digits: int, sign: bool) -> str:
    if value is None or value != value:  # None or NaN
        return ""
    try:
        rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits))
    except DecimalException:  # infinite, or too many digits to round: as Babel does it
        return format_decimal(value, format=_pattern(digits, sign), locale=locale)
    return _formatted(str(rounded), locale, digits, sign)


def format_day(value: str | date | None) -> str:
    """A date in the reader's locale; partial dates ('2016', '2016-05') keep their precision."""
    if not value:
        return ""
    if isinstance(value, date):
        return format_date(value, format="long", locale=_format_locale())
    parts = str(value).split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return str(value)
    if len(numbers) == 3:
        return format_date(date(*numbers), format="long", locale=_format_locale())
    if len(numbers) == 2:
        return format_skeleton("yMMMM", date(numbers[0], numbers[1], 1),
                               locale=_format_locale())
    return str(value)


def format_moment(value: datetime | None) -> str:
    """A stored time (UTC) in the site's time zone (``TIMEZONE``) and the reader's language."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "America/Mexico_City")
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware, format="medium", tzinfo=zone, locale=_format_locale())
