"""format_number rounds before it formats (so a chart's thousands of values are formatted a
few distinct times): its text is Babel's ``format_decimal`` of the value, always."""

from __future__ import annotations

from babel.numbers import format_decimal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.i18n import _pattern, format_number, number_formatter

EDGES = [0.05, 0.15, 0.25, 2.675, 1.005, 0.125, -0.04, -0.05, -0.0, 0.0, 3, -7, 1234567.891,
         1e-9, 0.99995, -0.99995]


def _babel(value: float, digits: int, sign: bool, locale: str) -> str:
    return format_decimal(value, format=_pattern(digits, sign), locale=locale)


# The app only gives the request its language; nothing in it changes between examples.
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-10**6, 10**6),
                       st.sampled_from(EDGES)),
       digits=st.integers(0, 5), sign=st.booleans(), lang=st.sampled_from(["es", "en"]))
def test_the_text_is_babels(app, value, digits, sign, lang):
    locale = {"es": "es_MX", "en": "en"}[lang]
    with app.test_request_context(f"/?lang={lang}"):
        assert format_number(value, digits, sign) == _babel(value, digits, sign, locale)
        assert number_formatter(digits, sign)(value) == _babel(value, digits, sign, locale)


def test_unknown_and_infinite(app):
    with app.test_request_context("/"):
        assert format_number(None) == "" and format_number(float("nan")) == ""
        assert format_number(float("inf"), 2) == _babel(float("inf"), 2, False, "es_MX")
