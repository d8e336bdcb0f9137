"""Weight schemes are data and are validated."""

from __future__ import annotations

import pytest

from metrics import SchemeError, scheme_components, validate_scheme
from tests.metrics.helpers import scheme_2017


def test_the_2017_scheme_is_valid_and_as_published():
    scheme = validate_scheme(scheme_2017())
    assert scheme["TG"] == {"access_info": 0.5, "reactive": 0.2, "proactive": 0.2, "open_data": 0.1}
    assert list(scheme["TC"].values()) == [0.25] * 4
    assert scheme["PG"]["functioning"] == 0.3 and scheme["PG"]["follow_up"] == 0.3
    assert sum(scheme["PC"].values()) == pytest.approx(1)
    assert "TG.access_info" in scheme_components(scheme)


def test_empty_scheme_means_sub_indices_are_given():
    assert validate_scheme({}) == {}
    assert validate_scheme(None) == {}


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ({"TG": {"a": 0.5, "b": 0.4}}, "sum to 0.9"),
        ({"XX": {"a": 1}}, "not a sub-index"),
        ({"TG": {}}, "at least one component"),
        ({"TG": {"a": -0.5, "b": 1.5}}, ">= 0"),
        ({"TG": {"a": "heavy"}}, "not a number"),
        ({"TG": {"a.b": 1}}, "dot"),
    ],
)
def test_bad_schemes_are_refused_with_a_reason(scheme, message):
    with pytest.raises(SchemeError, match=message):
        validate_scheme(scheme)
