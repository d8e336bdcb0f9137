"""Reading the site's downloads in tests."""

from __future__ import annotations

import csv
import io


def csv_rows(response) -> list[dict[str, str]]:  # noqa: ANN001 (a test client response)
    """The rows of a CSV download (200, text/csv, an attachment, UTF-8 with BOM)."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheets read the accents
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
