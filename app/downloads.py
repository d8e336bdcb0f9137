"""Downloads shared by every area: lists and tables as CSV (or XLSX) files.

Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or
carriage return) are written with a leading single quote, as OWASP recommends against CSV
injection; numbers, and text that is a plain number such as "-0.05", are left as they are.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time
from typing import Any

from flask import Response

from common.text import xml_safe


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]
) -> Response:
    """Return rows as a UTF-8 CSV download (with BOM, so spreadsheets read the accents).

    A row is a sequence in the order of ``header``, or a mapping whose keys in ``header`` are
    taken (others ignored). None and NaN become an empty cell: unknown stays unknown, never 0.
    """
    return Response(
        csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> str:
    """The body of ``csv_response``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        values = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        writer.writerow(["" if _missing(v) else neutralise(v) for v in values])
    return "\ufeff" + buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """Return ``value`` safe for a spreadsheet: text that could start a formula gets a ``'``.

    Only text is touched; a number stays a number, and text that is a plain number (e.g.
    "-0.05") is left as it is.
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def xlsx_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]
) -> Response:
    """Return rows as an XLSX download, rows taken as in ``csv_response``.

    Text is written as text (never as a formula, and neutralised as in CSV), numbers as
    numbers, and None or NaN as an empty cell.
    """
    return Response(
        xlsx_bytes(header, rows),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]],
               ) -> bytes:
    """The body of ``xlsx_response``."""
    from openpyxl import Workbook
    from openpyxl.cell import Cell, WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def cell(value: Any) -> Cell:
        if _missing(value):
            return WriteOnlyCell(sheet, value=None)
        if isinstance(value, numbers.Real | date | time):  # bool too; datetime is a date
            written = WriteOnlyCell(sheet)  # then the value: the same, but typed for a date
            written.value = value  # type: ignore[assignment]  # numpy's numbers too; stub: float only
            return written
        written = WriteOnlyCell(sheet, value=xml_safe(str(neutralise(str(value)))))
        written.data_type = "s"  # a string, whatever it starts with: never evaluated
        return written

    sheet.append([cell(name) for name in header])
    for row in rows:
        values = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        sheet.append([cell(v) for v in values])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _missing(value: Any) -> bool:
    """Return whether a cell is unknown (None, or NaN from pandas)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
