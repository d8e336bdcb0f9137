"""Downloads shared by every area: lists and tables as CSV files."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]
) -> Response:
    """Return rows as a UTF-8 CSV download (with BOM, so spreadsheets read the accents).

    A row is a sequence in the order of ``header``, or a mapping whose keys in ``header`` are
    taken (others ignored). None and NaN become an empty cell: unknown stays unknown, never 0.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        values = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        writer.writerow(["" if _missing(v) else v for v in values])
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _missing(value: Any) -> bool:
    """Return whether a cell is unknown (None, or NaN from pandas)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
