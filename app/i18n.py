"""Interface language: Spanish by default; English on request (?lang=, the cookie that
remembers it, then the browser's Accept-Language)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import get_locale

from .listing import url_with

LANG_COOKIE = "lang"


def select_locale() -> str:
    """Pick the language from ?lang=, the cookie, Accept-Language, then the default (Spanish).

    The switcher (?lang=, then its cookie) always wins over the browser's preference.
    """
    offered = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in offered:
            return candidate
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    return request.accept_languages.best_match(offered, default=default) or default


def init_app(app: Flask) -> None:
    """Remember an explicit ?lang= choice in a cookie and expose the language to templates."""

    @app.after_request
    def remember_language(response):  # type: ignore[no-untyped-def]
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
        # The language depends on these headers: caches must keep one copy per language.
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    @app.context_processor
    def language_context() -> dict[str, object]:
        return {
            "current_lang": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "url_with_lang": url_with_lang,
        }


def url_with_lang(code: str) -> str:
    """Return the current page's URL (path and query kept) in the language ``code``."""
    return url_with(lang=code)
