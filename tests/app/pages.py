"""Reading the site's pages in tests: a page's HTML, the text a reader sees, a bounded crawl."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit


def page_text(client, url: str) -> str:  # noqa: ANN001 (a Flask test client)
    """The HTML of ``url``, which must answer 200."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


# --- What a reader sees ----------------------------------------------------------------------

# Elements whose content is never shown; elements without an end tag.
_UNSHOWN = frozenset({"script", "style", "template", "noscript"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
# Attributes a reader sees or hears (tooltips, alternatives, labels, placeholders).
_SHOWN_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
_CODE = frozenset({"code", "kbd", "samp"})


@dataclass(frozen=True)
class Piece:
    """A run of visible text: the language it is marked as and whether it is shown as code."""

    text: str
    lang: str | None
    code: bool


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # (tag, lang, unshown, code) of each open element
        self.stack: list[tuple[str, str | None, bool, bool]] = []
        self.pieces: list[Piece] = []

    def _top(self) -> tuple[str | None, bool, bool]:
        if not self.stack:
            return None, False, False
        _tag, lang, unshown, code = self.stack[-1]
        return lang, unshown, code

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        lang, unshown, code = self._top()
        lang = a.get("lang") or lang
        unshown = unshown or tag in _UNSHOWN or "hidden" in a or (
            tag == "input" and a.get("type") == "hidden")
        code = code or tag in _CODE
        if not unshown:
            for name in _SHOWN_ATTRIBUTES:
                if a.get(name):
                    self.pieces.append(Piece(a[name] or "", lang, code))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.pieces.append(Piece(a["value"] or "", lang, code))
        if tag not in _VOID:
            self.stack.append((tag, lang, unshown, code))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        lang, unshown, code = self._top()
        if not unshown and data.strip():
            self.pieces.append(Piece(data, lang, code))


def visible_pieces(html: str) -> list[Piece]:
    """Every run of text a reader of ``html`` sees or hears, in document order: text outside
    scripts, styles and hidden elements (the page's title included), and the alt, title,
    aria-label and placeholder attributes and the labels of buttons."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return parser.pieces


def visible_text(html: str, *, lang: str | None = None, code: bool = True) -> str:
    """The visible text of ``html`` as one string (runs separated by a space and newline);
    ``lang``: only the runs in that language (text marked with another ``lang`` left out);
    ``code=False`` leaves out identifiers shown as code (``<code>``)."""
    page_lang = re.search(r'<html[^>]*\blang="([a-z]+)', html)
    default = page_lang.group(1) if page_lang else None
    return " \n".join(
        " ".join(p.text.split()) for p in visible_pieces(html)
        if (lang is None or (p.lang or default or "").split("-")[0] == lang)
        and (code or not p.code))


# Words that only one of the two languages uses (checked as whole words, any case): a page in
# one language shows none of the other's. Chosen to be unambiguous: no word here is a word
# of the other language, a proper name, or a code the pages show.
ENGLISH_WORDS = frozenset({
    "the", "please", "page", "this", "that", "these", "is", "are", "was", "were", "not", "and",
    "or", "of", "with", "without", "your", "you", "log", "token", "missing", "per", "minute",
    "minutes", "hour", "hours", "too", "many", "attempts", "required", "field", "access",
    "denied", "found", "allowed", "method", "request", "file", "large", "long", "address",
    "try", "again", "later", "home", "sign", "save", "saved", "changes", "change", "nothing",
    "must", "should", "which", "what", "when", "where", "here", "there", "have", "has",
    "been", "can", "cannot", "will", "would", "could", "state", "states", "status", "start",
    "due", "milestone", "milestones", "commitment", "commitments", "evidence", "source",
    "sources", "between", "invalid", "valid", "value", "choice", "service", "unavailable",
    "bad", "sorry", "error", "forbidden", "conflict", "someone", "else", "yours",
    "mine", "current", "back", "upload", "sheet", "row", "column", "problem", "problems",
    "date", "title", "weight", "progress", "declared", "unknown", "none", "yes",
})
SPANISH_WORDS = frozenset({
    "el", "la", "los", "las", "del", "de", "que", "es", "son", "está", "están", "una", "uno",
    "por", "para", "con", "sin", "su", "sus", "página", "inicie", "sesión", "demasiados",
    "intentos", "obligatorio", "campo", "acceso", "denegado", "encontrada", "método",
    "permitido", "petición", "incorrecta", "archivo", "grande", "dirección", "larga",
    "vuelva", "intentarlo", "más", "tarde", "inicio", "guardar", "guardado", "cambios",
    "cambio", "nada", "debe", "cuál", "qué", "cuando", "dónde", "aquí", "estado", "estados",
    "hito", "hitos", "compromiso", "compromisos", "evidencia", "fuente", "fuentes", "entre",
    "inválido", "válido", "valor", "opción", "servicio", "disponible", "otra", "persona",
    "mío", "actual", "volver", "subir", "hoja", "fila", "columna", "problema", "problemas",
    "fecha", "título", "peso", "avance", "declarado", "desconocido", "ninguno", "sí", "y",
    "o", "no se", "formulario", "minutos", "hora", "horas",
})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def foreign_words(text: str, lang: str) -> Counter[str]:
    """The words of ``text`` that belong to the other language (by the lists above)."""
    other = ENGLISH_WORDS if lang == "es" else SPANISH_WORDS
    words = [w.lower() for w in _WORD.findall(text)]
    found = Counter(w for w in words if w in other)
    if lang == "en":  # a two-word marker
        found.update("no se" for a, b in zip(words, words[1:], strict=False)
                     if (a, b) == ("no", "se"))
    return found


# --- A bounded crawl of the public pages -------------------------------------------------------

_LINK = re.compile(r'<a\b[^>]*\bhref="([^"#]*)(?:#[^"]*)?"', re.IGNORECASE)


def _pattern(path: str) -> str:
    """The route a path belongs to, roughly: digits stand for ids."""
    return re.sub(r"\d+", "N", path)


def crawl(client, start: str, *, per_route: int = 3, skip: tuple[str, ...] = (),  # noqa: ANN001
          must: tuple[str, ...] = (), limit: int = 200) -> Iterator[tuple[str, str]]:
    """(url, html) of the HTML pages reachable from ``start`` by links of this site (GET, 200),
    at most ``per_route`` per route (paths differing only in ids count as one route) and
    ``limit`` in all; ``must`` are visited whatever the caps, ``skip`` are path prefixes
    never visited (downloads, feeds, the API, sign-in)."""
    queue = [*must, start]
    seen: set[str] = set()
    per: Counter[str] = Counter()
    visited = 0
    while queue and visited < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        path = parts.path
        if url in seen or path.startswith(skip):
            continue
        seen.add(url)
        forced = url in must
        if not forced and (per[_pattern(path)] >= per_route
                           or re.search(r"(^|&)(lang|format)=", parts.query)):
            continue
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        per[_pattern(path)] += 1
        visited += 1
        html = response.get_data(as_text=True)
        yield url, html
        queue.extend(link.replace("&amp;", "&") for link in _LINK.findall(html))
