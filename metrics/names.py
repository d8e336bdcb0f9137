"""Names as files write them: repairing encodings, folding for matching, stable keys."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from common.text import fold_words as fold

_C1_CONTROLS = re.compile("[\x80-\x9f]")
# A vowel followed by stray bytes: what is left of an accented vowel written as the letter and a
# combining mark whose lead byte was lost ("Mari\x8ca" for "María", "Parai\x8cso" for
# "Paraíso"). Spanish marks a vowel only with the acute accent (ü apart, which such a file
# cannot tell from it), so the vowel gets its acute accent; any other stray byte is removed.
_ACUTE = dict(zip("aeiouAEIOU", "áéíóúÁÉÍÓÚ", strict=True))
_ACCENTED_VOWEL = re.compile("([aeiouAEIOU])[\x80-\x9f]+")
_SPACES = re.compile(r"\s+")


def decode_line(raw: bytes, encoding: str = "latin-1") -> tuple[str, list[str]]:
    """Decode one line of a file that may hold stray bytes; return text and notes.

    With ``encoding="utf-8"`` a valid UTF-8 line is read as such; any other line is read as
    Latin-1, where every byte is a character (never fails). UTF-8 sequences read that way become
    mojibake ("SÃ¡nchez"), which ``repair_text`` fixes with ftfy. A line that is not valid
    UTF-8 but holds bytes 0x80-0x9F has stray control codes (remains of broken multi-byte
    characters; no real name contains them). Reading them as Windows-1252 letters, as a generic
    repair would, invents characters such as "Œ". Right after a vowel they are what is left of
    its accent, so the vowel gets its acute accent ("Mari\x8ca" -> "María"); anywhere else they
    are removed. The notes say which was done, and the reader keeps the raw text beside them.
    """
    notes: list[str] = []
    if encoding == "utf-8":
        try:
            return raw.decode("utf-8"), notes
        except UnicodeDecodeError:
            notes.append("not valid UTF-8: read as Latin-1")
    text = raw.decode("latin-1")
    if _C1_CONTROLS.search(text):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            text, accents = _ACCENTED_VOWEL.subn(_accent, text)
            if accents:
                notes.append(
                    f"accent restored on {accents} vowel(s): a stray byte after a vowel read "
                    "as its acute accent")
            if _C1_CONTROLS.search(text):
                text = _C1_CONTROLS.sub("", text)
                notes.append("stray control bytes removed (no accent could be read from them)")
    return text, notes


def _accent(match: re.Match[str]) -> str:
    return _ACUTE[match.group(1)]


def repair_text(text: str) -> tuple[str, list[str]]:
    """Fix mojibake and stray controls with ftfy, tidy spaces; return text and what changed."""
    # ftfy is imported here, on the first repair: its tables take a tenth of a second to
    # build, and every process of the app imports this module (pages read institution_key)
    # while only file imports repair text.
    import ftfy

    notes: list[str] = []
    fixed = ftfy.fix_text(text)
    if fixed != text:
        notes.append("mojibake fixed (ftfy)")
    tidy = _SPACES.sub(" ", fixed).strip()
    if tidy != fixed and _SPACES.sub(" ", text).strip() == text:
        notes.append("spaces tidied")
    return tidy, notes




def compact(text: str) -> str:
    """Fold and drop spaces, so "NuevoLeon" and "Nuevo León" meet."""
    return fold(text).replace(" ", "")


def institution_key(level: str, state: str | None, name: str) -> str:
    """Return the stable key of an institution: level, state code and folded name."""
    return f"{level}:{state or 'fed'}:{fold(name)}"[:200]


def state_lookup(states: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map the compact form of every name of each state (cve_ent -> names) to its cve_ent."""
    lookup: dict[str, str] = {}
    for cve, names in states.items():
        for name in names:
            key = compact(name)
            if lookup.get(key, cve) != cve:
                raise ValueError(f"state name {name!r} is ambiguous ({lookup[key]} and {cve})")
            lookup[key] = cve
    return lookup
