"""Downloads open as data, never as formulas; feeds never take their address from the request."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.downloads import XLSX_MIMETYPE, csv_response, neutralise, xlsx_response
from app.plans.feeds import site_url
from app.settings import load_settings

INJECTION = '=HYPERLINK("http://x","y")'
ROWS = [
    (INJECTION, -0.05),
    {"institution": "+1 (555) call", "GA": None},
    ["-SUM(A1)", float("nan")],
    ["@cmd", 3],
    ["\tTab", "-0.05"],
    ["Querétaro", 0.27],
]
HEADER = ["institution", "GA"]


def test_neutralise_only_text_that_could_be_a_formula():
    assert neutralise(INJECTION) == "'" + INJECTION
    assert [neutralise(v) for v in ("+x", "-x", "@x", "\tx", "\rx")] == [
        "'+x", "'-x", "'@x", "'\tx", "'\rx"
    ]
    assert neutralise(-0.05) == -0.05 and neutralise(-3) == -3
    assert [neutralise(v) for v in ("-0.05", "+3", "-1e5", "Oaxaca", "")] == [
        "-0.05", "+3", "-1e5", "Oaxaca", ""
    ]


def test_csv_download_of_a_formula_opens_as_text(app):
    with app.test_request_context():
        response = csv_response("x.csv", HEADER, ROWS)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        HEADER,
        ["'" + INJECTION, "-0.05"],
        ["'+1 (555) call", ""],
        ["'-SUM(A1)", ""],
        ["'@cmd", "3"],
        ["'\tTab", "-0.05"],
        ["Querétaro", "0.27"],
    ]
    assert rows[1][0].startswith("'=")


def test_xlsx_download_writes_text_as_text_and_numbers_as_numbers(app):
    with app.test_request_context():
        response = xlsx_response("x.xlsx", HEADER, ROWS)
    assert response.mimetype == XLSX_MIMETYPE
    assert response.headers["Content-Disposition"] == 'attachment; filename="x.xlsx"'
    for data_only in (False, True):  # the formulas as stored, and the values
        sheet = load_workbook(io.BytesIO(response.data), data_only=data_only).active
        cells = list(sheet.iter_rows(min_row=1))
        assert [c.value for c in cells[0]] == HEADER
        assert all(c.data_type != "f" for row in cells for c in row)
        first = cells[1]
        assert first[0].value == "'" + INJECTION and first[0].data_type == "s"
        assert first[1].value == -0.05 and first[1].data_type == "n"
        assert [c.value for c in cells[2]] == ["'+1 (555) call", None]
        assert [c.value for c in cells[3]] == ["'-SUM(A1)", None]
        assert [c.value for c in cells[4]] == ["'@cmd", 3]
        assert [c.value for c in cells[5]] == ["'\tTab", "-0.05"]
        assert [c.value for c in cells[6]] == ["Querétaro", 0.27]


def test_site_url_setting(tmp_path):
    assert load_settings(str(tmp_path), environ={})["SITE_URL"] == "http://127.0.0.1:5000"
    values = load_settings(str(tmp_path), environ={"FLASK_SITE_URL": "https://e.mx"})
    assert values["SITE_URL"] == "https://e.mx"


def test_site_url_ignores_the_host_header(make_app):
    app = make_app(SITE_URL="https://estado-abierto.example/")
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        url = site_url("plans.state_feed", cve_ent="10")
    assert url == "https://estado-abierto.example/states/10/feed.atom"


def _views_build_feed_urls_from_the_request() -> bool:
    views = Path(__file__).resolve().parents[2] / "app/plans/views.py"
    return "_external=True" in views.read_text(encoding="utf-8")


@pytest.mark.xfail(
    _views_build_feed_urls_from_the_request(), strict=True,
    reason="app/plans/views.py still builds feed URLs with url_for(_external=True); "
    "it must call app.plans.feeds.site_url",
)
def test_feeds_never_show_the_request_host(seeded_app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Commitment

    with seeded_app.app_context():
        cid = db.session.scalars(select(Commitment.id)).first()
    client = seeded_app.test_client()
    for url in ("/states/10/feed.atom", f"/commitments/{cid}/feed.atom"):
        response = client.get(url, headers={"Host": "evil.example"})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "evil.example" not in text
        assert "http://127.0.0.1:5000/" in text
