"""The interface language: ?lang=, then its cookie, then Accept-Language, then Spanish."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("header", "expected"),
    [("en", "Skip to content"), ("en-US,en;q=0.9", "Skip to content"),
     ("fr, en;q=0.5", "Skip to content"), ("es-MX", "Saltar al contenido"),
     ("de", "Saltar al contenido"), (None, "Saltar al contenido")],
)
def test_accept_language_picks_the_language(seeded_app, header, expected):
    headers = {"Accept-Language": header} if header else {}
    response = seeded_app.test_client().get("/map", headers=headers)
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers.get("Vary", "")


def test_switcher_wins_over_the_browser_and_is_remembered(seeded_app):
    client = seeded_app.test_client()
    english = {"Accept-Language": "en"}
    html = client.get("/map?lang=es", headers=english).get_data(as_text=True)
    assert "Saltar al contenido" in html
    # the cookie set by ?lang=es keeps Spanish although the browser asks for English
    assert "Saltar al contenido" in client.get("/map", headers=english).get_data(as_text=True)
    client.get("/?lang=en")
    assert "Skip to content" in client.get("/map").get_data(as_text=True)


def test_numbers_and_dates_in_the_readers_locale(seeded_app):
    from app.i18n import format_day, format_number

    with seeded_app.test_request_context("/?lang=es"):
        assert format_number(0.3887, 2) == "0.39" and format_number(1243, 0) == "1,243"
        assert format_number(-0.05, 3, sign=True) == "-0.050"
        assert format_number(0.07, 2, sign=True) == "+0.07"
        assert format_number(None) == "" and format_number(float("nan")) == ""
        assert format_day("2016-05-20") == "20 de mayo de 2016"
        assert format_day("2016-05") == "mayo de 2016" and format_day("2016") == "2016"
    with seeded_app.test_request_context("/?lang=en"):
        assert format_day("2016-05-20") == "May 20, 2016"
        assert format_number(1243.5, 1) == "1,243.5"
