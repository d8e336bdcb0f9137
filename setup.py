"""Build step the metadata in pyproject.toml cannot express: compile the translations.

``pip install .`` (and every wheel) runs ``build_py``; this subclass compiles each
``app/translations/<lang>/LC_MESSAGES/messages.po`` into ``messages.mo`` beside it in the
build, so an installed site serves English under ``lang="en"`` without ``make``. Fuzzy
entries are used, as ``make translations`` does. Babel comes from the build requirements.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def compile_catalogues(target_root: Path) -> list[Path]:
    """Write a .mo for every app/translations/*/LC_MESSAGES/messages.po under target_root."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((HERE / "app" / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalogue = read_po(source)
        mo = target_root / po.relative_to(HERE).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as out:
            write_mo(out, catalogue, use_fuzzy=True)
        written.append(mo)
    return written


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        # An editable install imports from the source tree: compile there.
        editable = getattr(self, "editable_mode", False)
        for mo in compile_catalogues(HERE if editable else Path(self.build_lib)):
            self.announce(f"compiled {mo}", level=2)


setup(cmdclass={"build_py": BuildWithCatalogues})
