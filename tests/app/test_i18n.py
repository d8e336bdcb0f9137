"""Every user-visible string is marked for translation and has its English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "N_": None}


def _source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("app", "metrics", "geodata", "seeds"):
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder, METHODS, keywords=KEYWORDS
        ):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_english_catalogue_translates_every_marked_string():
    with (ROOT / "app/translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        form
        for m in catalogue
        if m.id and m.string and (all(m.string) if isinstance(m.string, tuple) else True)
        and not m.fuzzy
        for form in ([m.id] if isinstance(m.id, str) else m.id)  # singular and plural
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, f"run `make update-messages` and translate: {missing[:20]}"


def test_compiled_catalogue_is_used(seeded_app):
    html = seeded_app.test_client().get("/?lang=en").get_data(as_text=True)
    assert "Skip to content" in html
    assert "Saltar al contenido" not in html
