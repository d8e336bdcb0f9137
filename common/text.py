"""The one text-folding function: case and accents, for search, sorting and name matching.

``fold`` is the Python side; ``folded`` gives the same result in SQL, so a list filtered in
the database and one filtered in Python agree (a test checks both on SQLite and PostgreSQL):

- on SQLite the database calls ``fold`` itself (registered as the SQL function ``fold`` on
  every connection by ``register_sqlite``);
- on PostgreSQL ``lower(translate(column, FROM, TO))``, where the table maps every Latin
  letter with a diacritic (U+00C0-U+024F) to the letter ``fold`` gives it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Text

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Querétaro" -> "queretaro")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def fold_words(text: str) -> str:
    """``fold`` with punctuation and runs of spaces as one space, for stable name keys."""
    return _NOT_ALNUM.sub(" ", fold(text)).strip()


def _translation_table() -> tuple[str, str]:
    """Letters with diacritics whose fold is one character, and that character."""
    source, target = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        folded_char = fold(char)
        if len(folded_char) == 1 and folded_char != char.lower():
            source.append(char)
            target.append(folded_char)
    return "".join(source), "".join(target)


TRANSLATE_FROM, TRANSLATE_TO = _translation_table()


def folded(column: Any) -> ColumnElement:
    """Return the SQL expression of ``fold(column)`` for the session's database."""
    return _Folded(column)


def register_sqlite(dbapi_connection: Any, _record: Any = None) -> None:
    """Give an SQLite connection the SQL function ``fold`` (deterministic, so indexable)."""
    dbapi_connection.create_function(
        "fold", 1, lambda v: None if v is None else fold(v), deterministic=True
    )


class _Folded(FunctionElement):
    """``fold(column)`` in SQL, compiled per dialect."""

    type = Text()
    name = "fold"
    inherit_cache = True


@compiles(_Folded)
def _fold_sqlite(element: _Folded, compiler: Any, **kw: Any) -> str:
    return f"fold({compiler.process(element.clauses, **kw)})"


@compiles(_Folded, "postgresql")
def _fold_postgresql(element: _Folded, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    source = compiler.render_literal_value(TRANSLATE_FROM, Text())
    target = compiler.render_literal_value(TRANSLATE_TO, Text())
    return f"lower(translate({arg}, {source}, {target}))"


# --- Control characters: refused on the way in, made harmless on the way out --------------

# What no form field or query argument may hold (app.params refuses it with a 400): the C0
# controls except tab, line feed and carriage return (browsers send a textarea's line breaks
# as CR LF), DEL, the C1 controls and the two non-characters XML 1.0 forbids. PostgreSQL
# cannot store NUL at all; the others break XML (Atom feeds) and XLSX files.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# What XML 1.0 (Atom feeds, the XML inside XLSX files) cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character of ``CONTROL_CHARACTERS``."""
    return CONTROL_CHARACTERS.search(text) is not None


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 cannot hold replaced by U+FFFD (the replacement
    character), so a feed or spreadsheet shows that something was there instead of failing.

    For public outputs of stored text, which may predate the input rules (or come from an
    import or the database directly)."""
    return _NOT_XML.sub("\ufffd", text)
