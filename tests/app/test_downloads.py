"""CSV downloads: BOM for spreadsheets, unknown cells empty (never 0 or "nan")."""

from __future__ import annotations

import csv
import io

from app.downloads import csv_response


def test_rows_as_sequences_or_mappings_and_missing_values_empty(app):
    with app.test_request_context():
        response = csv_response(
            "x.csv",
            ["state", "GA"],
            [
                ("Querétaro", 0.27),
                {"state": "Oaxaca", "GA": float("nan"), "other": 1},
                ["Colima", None],
            ],
        )
    assert response.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
    raw = response.data.decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    assert rows == [["state", "GA"], ["Querétaro", "0.27"], ["Oaxaca", ""], ["Colima", ""]]
