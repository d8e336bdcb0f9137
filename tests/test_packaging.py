"""The install builds what the site needs: compiled translations and every area's templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_has_compiled_translations_and_every_template(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("estado_abierto-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "app/translations/en/LC_MESSAGES/messages.mo" in names
    assert "app/models/__init__.py" in names and "app/main/views.py" in names
    sources = [p.relative_to(ROOT).as_posix() for p in (ROOT / "app").glob("*/templates/**/*")
               if p.is_file()]
    assert sources and not [s for s in sources if s not in names]
    from babel.messages.mofile import read_mo

    with zipfile.ZipFile(wheel).open("app/translations/en/LC_MESSAGES/messages.mo") as mo:
        assert read_mo(mo).get("Inicio").string == "Home"
