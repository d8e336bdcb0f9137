"""The kinds of field a record has: how each is read, normalised, compared and shown.

One ``Field`` says everything about one column of an editable record: its label and help, its
type and unit, whether it is required, its bounds, its codes. ``parse`` is the only way a value
typed by a person comes in (a form's text, a CSV cell, a typed XLSX cell, a seed file's cell):
it normalises the value and refuses a bad one with a ``FieldError`` whose message is translated
when shown. ``cell`` is what a spreadsheet shows, ``show`` what a person reads (labels, dates
in their language, percent, "—" for unknown), ``same`` whether two stored values are equal as a
person would read them (a LibreOffice re-save keeps 15 significant digits).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from common.codes import CodeList
from common.text import fold

# Whole numbers a database column holds on every backend (PostgreSQL's INTEGER).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# What the partial dates of the sources look like: "2016", "2016-08", "2016-08-31".
_PARTIAL = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_WHOLE = re.compile(r"^[+-]?[0-9]+$")
# Day-first dates as a Mexican spreadsheet writes them ("01/03/2024").
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
EMPTY = "—"

Type = Literal["text", "long_text", "integer", "number", "percent", "date", "partial_date",
               "code", "url", "reference", "size"]


class FieldError(ValueError):
    """A value refused by a field: the message (translated when shown) and its parameters."""

    def __init__(self, message: Any, **params: Any):
        self.message, self.params = message, params
        super().__init__(message)  # formatted when shown, in the language of that moment

    def text(self) -> str:
        """The message in the current language."""
        return str(self.message) % self.params if self.params else str(self.message)

    def __str__(self) -> str:
        return self.text()


def in_english(message: object) -> str:
    """A schema's message as the command line prints it (English, the language of the code)."""

    def text() -> str:
        return message.text() if isinstance(message, FieldError) else str(message)

    from flask_babel import force_locale

    try:
        with force_locale("en"):
            return text()
    except RuntimeError:  # no application context: the message as written
        return text()


def clean_text(value: str, *, multiline: bool) -> str:
    """Normalise typed text: Unicode NFC, line ends as \\n, no control characters.

    Tab and newline are the only control characters kept (in a single-line field both become
    a space); any other (NUL, ESC, U+0001...) is refused, so that no stored text can break a
    feed, a spreadsheet or a page.
    """
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n":
            raise FieldError(_l("contiene un carácter de control no permitido (U+%(code)s)"),
                             code=f"{ord(char):04X}")
        if char in ("\u2028", "\u2029"):
            raise FieldError(_l("contiene un separador de línea no permitido (U+%(code)s)"),
                             code=f"{ord(char):04X}")
    if not multiline:
        text = " ".join(text.split())
    return text.strip()


def _significant(value: float) -> float:
    """``value`` with 15 significant digits: what any spreadsheet keeps of a number."""
    return float(f"{value:.15g}")


@dataclass(frozen=True)
class Field:
    """One field of a record: label, type and rules, and how it is read and shown."""

    name: str
    type: Type
    label: Any  # a lazy string: translated when shown
    help: Any = None
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    # A minimum the value must exceed (a weight is over 0, not 0).
    above: float | None = None
    codes: CodeList | None = None
    # Kept by forms and sheets but not typed there (a number given by the system).
    readonly: bool = False
    # Typed only when the record is created (a plan's programme).
    new_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    # --- Reading ---------------------------------------------------------------------------

    def parse(self, raw: Any) -> Any:
        """The stored value of ``raw`` (text, or a typed spreadsheet cell); None for empty.

        Raises FieldError with a message naming what is wrong.
        """
        if isinstance(raw, str):
            raw = clean_text(raw, multiline=self.type == "long_text")
        if raw is None or raw == "":
            if self.required:
                raise FieldError(_l("es obligatorio"))
            return None
        value = getattr(self, f"_parse_{self.type}")(raw)
        if isinstance(value, str) and self.max_length and len(value) > self.max_length:
            raise FieldError(_l("tiene %(n)s caracteres; el máximo es %(max)s"),
                             n=len(value), max=self.max_length)
        return value

    def _text(self, raw: Any) -> str:
        if isinstance(raw, bool | int | float | Decimal | date):
            raw = str(raw)
        if not isinstance(raw, str):
            raise FieldError(_l("no es un texto"))
        return raw

    _parse_text = _parse_long_text = _text

    def _parse_url(self, raw: Any) -> str:
        text = self._text(raw)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
            raise FieldError(_l("«%(value)s» no es una dirección que empiece con http:// o "
                                "https://"), value=_short(text))
        return text

    def _parse_integer(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise FieldError(_l("«%(value)s» no es un número entero"), value=raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and _WHOLE.match(raw):
            value = int(raw)
        else:
            raise FieldError(_l("«%(value)s» no es un número entero"), value=_short(raw))
        return int(self._bounded(value, INT_MIN, INT_MAX))

    # A reference is a row's id; a size a number of bytes (shown as "12,3 kB").
    _parse_reference = _parse_size = _parse_integer

    def _number_of(self, raw: Any, *, comma: bool = False) -> float:
        if isinstance(raw, bool):
            raise FieldError(_l("«%(value)s» no es un número"), value=raw)
        if isinstance(raw, int | float | Decimal):
            number = float(raw)
        else:
            text = str(raw).strip()
            if not text.isascii():  # Decimal would also read "١٢" and "１２"
                raise FieldError(_l("«%(value)s» no es un número"), value=_short(raw))
            if comma and text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")
            try:
                number = float(Decimal(text))
            except (InvalidOperation, ValueError):
                raise FieldError(_l("«%(value)s» no es un número"), value=_short(raw)) from None
        if not math.isfinite(number):
            raise FieldError(_l("«%(value)s» no es un número"), value=_short(raw))
        return number

    def _bounded(self, value: float, low: float | None = None,
                 high: float | None = None) -> float:
        low = self.minimum if self.minimum is not None else low
        high = self.maximum if self.maximum is not None else high
        if self.above is not None and value <= self.above:
            raise FieldError(_l("debe ser mayor que %(min)s"), min=_plain(self.above))
        if (low is not None and value < low) or (high is not None and value > high):
            if low is None:
                raise FieldError(_l("debe ser a lo más %(max)s"), max=_plain(high))
            if high is None:
                raise FieldError(_l("debe ser al menos %(min)s"), min=_plain(low))
            raise FieldError(_l("debe estar entre %(min)s y %(max)s"), min=_plain(low),
                             max=_plain(high))
        return value

    def _parse_number(self, raw: Any) -> float:
        return _significant(self._bounded(self._number_of(raw)))

    def _parse_percent(self, raw: Any) -> float:
        """A percent as a person types it (75, 75.5, "75 %", "75,5"): stored as a share with
        three decimals (0.755), so it reads back as the same one-decimal percent."""
        if isinstance(raw, str):
            raw = raw.strip().removesuffix("%").strip()
        percent = self._bounded(self._number_of(raw, comma=True), 0, 100)
        return round(round(percent, 1) / 100, 3)

    def _parse_date(self, raw: Any) -> date:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = str(raw).strip()
        day_first = _DAY_FIRST.match(text)
        try:
            if day_first:
                day, month, year = (int(p) for p in day_first.groups())
                return date(year, month, day)
            return date.fromisoformat(text[:10] if len(text) > 10 and text[10] in " T"
                                      else text)
        except ValueError:
            raise FieldError(_l("«%(value)s» no es una fecha (AAAA-MM-DD)"),
                             value=_short(raw)) from None

    def _parse_partial_date(self, raw: Any) -> str:
        if isinstance(raw, datetime | date):
            return raw.strftime("%Y-%m-%d")
        text = str(raw).strip()
        if not _PARTIAL.match(text):
            raise FieldError(_l("«%(value)s» no es AAAA, AAAA-MM ni AAAA-MM-DD"),
                             value=_short(raw))
        parts = [int(p) for p in text.split("-")] + [1, 1]
        try:
            date(parts[0], parts[1], parts[2])
        except ValueError:
            raise FieldError(_l("«%(value)s» no es una fecha real"), value=text) from None
        return text

    def _parse_code(self, raw: Any) -> str:
        """A code, or its label in any language of the site (accents and case ignored)."""
        assert self.codes is not None
        text = str(raw).strip()
        if text in self.codes.codes:
            return text
        wanted = fold(text)
        code = _codes_by_label(self.codes).get(wanted)
        if code is not None:
            return code
        for code in self.codes.codes:  # outside an app: the Spanish labels and the codes
            if wanted in (fold(code), fold(self.codes._labels[code]), fold(self.codes[code])):
                return code
        raise FieldError(_l("«%(value)s» no es uno de: %(allowed)s"), value=_short(raw),
                         allowed=", ".join(self.codes[c] for c in self.codes.codes))

    # --- Comparing and showing ---------------------------------------------------------------

    def same(self, a: Any, b: Any) -> bool:
        """Whether two stored values are equal as a person reads them."""
        if a is None or b is None:
            return a is None and b is None
        if self.type == "percent":
            return round(float(a) * 100, 1) == round(float(b) * 100, 1)
        if self.type == "number":
            return _significant(float(a)) == _significant(float(b))
        if self.type == "date":
            return _as_date(a) == _as_date(b)
        return bool(a == b)

    def cell(self, value: Any) -> Any:
        """What a spreadsheet cell holds for a stored value (percent as 0-100)."""
        if value is None:
            return None
        if self.type == "percent":
            return round(float(value) * 100, 1)
        if self.type == "number":
            return _significant(float(value))
        if self.type == "date":
            return _as_date(value)
        return value

    def show(self, value: Any) -> str:
        """The value as a person reads it, in the current language; "—" when unknown."""
        if value is None or value == "":
            return EMPTY
        from app.i18n import format_day, format_number

        if self.type == "percent":
            percent = round(float(value) * 100, 1)
            return f"{format_number(percent, 0 if percent.is_integer() else 1)} %"
        if self.type == "number":
            number = _significant(float(value))
            return format_number(number, 0 if number.is_integer() else 3).rstrip("0")
        if self.type == "integer":
            return str(value)
        if self.type == "size":
            from app.files import format_size

            return format_size(int(value))
        if self.type in ("date", "partial_date"):
            return format_day(value if self.type == "partial_date" else _as_date(value))
        if self.type == "code" and self.codes is not None:
            return self.codes.label(value)
        if isinstance(value, bool):
            return _("sí") if value else _("no")
        return str(value)


_BY_LABEL: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}


def _codes_by_label(codes: CodeList) -> dict[str, str]:
    """Folded code and label in every language of the site -> code (built once per list;
    empty outside an application, whose languages are not known)."""
    from flask import current_app, has_app_context
    from flask_babel import force_locale

    if not has_app_context():
        return {}
    languages = tuple(current_app.config["LANGUAGES"])
    key = (codes.name, languages)
    if key not in _BY_LABEL:
        found = {fold(code): code for code in codes.codes}
        for language in languages:
            with force_locale(language):
                found |= {fold(_(codes._labels[code])): code for code in codes.codes}
        _BY_LABEL[key] = found
    return _BY_LABEL[key]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _plain(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
