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
