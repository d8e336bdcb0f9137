"""The control characters refused on the way in and made harmless on the way out
(common/text.py), and the sign-in outcomes' check built from their code list."""

from __future__ import annotations

import sqlalchemy as sa
from lxml import etree

from common import codes
from common.text import CONTROL_CHARACTERS, has_control_characters, xml_safe


def test_what_is_refused_on_the_way_in():
    refused = {chr(c) for c in range(0x110000)
               if c not in range(0xD800, 0xE000) and CONTROL_CHARACTERS.fullmatch(chr(c))}
    expected = ({chr(c) for c in range(0x20)} - set("\t\n\r")
                | {chr(c) for c in range(0x7F, 0xA0)} | {"\ufffe", "\uffff"})
    assert refused == expected
    assert not has_control_characters("Línea 1\r\nLínea 2\tcon tabulador ñ € 😀 \u202e")
    assert has_control_characters("a\x00b") and has_control_characters("\x1b[31m")


def test_xml_safe_text_is_accepted_by_xml_and_keeps_the_rest():
    every = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\ufffe\uffff texto ñ 😀"
    safe = xml_safe(every)
    element = etree.Element("e")
    element.text = safe  # lxml refuses what XML 1.0 cannot hold
    assert etree.fromstring(etree.tostring(element)).text == safe
    assert safe.endswith("\x7f\x85\ufffd\ufffd texto ñ 😀")
    assert all(ch in safe for ch in "\t\n\r") and safe.count("\ufffd") == 32 - 3 + 2


def test_sign_in_outcomes_are_checked_by_the_database():
    from app.models import SignInAttempt

    text = " ".join(str(c.sqltext) for c in SignInAttempt.__table__.constraints
                    if isinstance(c, sa.CheckConstraint))
    assert all(f"'{s}'" in text for s in codes.SIGN_IN_OUTCOMES.codes)
