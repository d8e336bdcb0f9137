"""Issue 18's criterion, with the real program: every spreadsheet a state's editor downloads
(the XLSX workbook and each sheet's CSV), opened and saved again by Debian's LibreOffice Calc
without a change, uploads as "Sin cambios" and records nothing, milestones weighted 1/3 and
at 33.3 % included. Saved as ODS (LibreOffice's own format) and as a Windows-1252 CSV (what
Calc and Excel write by default on Windows) too.

LibreOffice runs headless, with a profile of its own under the test's tmp_path
(``-env:UserInstallation``), so tests in parallel do not share one.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import records
from app.accounts.service import find_user
from app.extensions import db
from app.models import AuditEvent, Commitment, DataRevision, Milestone
from app.schema.records import COMMITMENT, MILESTONE
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, add_milestone, commitment_of

pytestmark = pytest.mark.slow
local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
SOURCE = "https://idaip.example.org/avance.pdf"
UPLOAD = f"/edit/states/{DURANGO}/upload"
# LibreOffice's CSV filter options: comma, double quote, the character set (76: UTF-8, 1:
# Windows-1252), from line 1 (as its import dialog proposes).
CSV_IN = "CSV:44,34,76,1"
CSV_UTF8 = "csv:Text - txt - csv (StarCalc):44,34,76,1"
CSV_1252 = "csv:Text - txt - csv (StarCalc):44,34,1,1"


@pytest.fixture(scope="module")
def soffice() -> str:
    if not os.path.exists(SOFFICE):
        if os.environ.get("CI"):
            pytest.fail(f"{SOFFICE} is missing; `make test` installs Debian's libreoffice-calc")
        pytest.skip(f"{SOFFICE} is missing; run `make test` to install libreoffice-calc")
    return SOFFICE


def _resave(soffice: str, tmp_path: Path, name: str, data: bytes, target: str,
            infilter: str | None = None) -> bytes:
    """``data`` opened and saved by LibreOffice as ``target`` (e.g. "xlsx", a CSV filter)."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    (source / name).write_bytes(data)
    command = [soffice, "--headless", "--norestore",
               f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
               *([f"--infilter={infilter}"] if infilter else []),
               "--convert-to", target, "--outdir", str(out), str(source / name)]
    subprocess.run(command, check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(tmp_path)})
    extension = target.split(":")[0]
    saved = out / f"{Path(name).stem}.{extension}"
    data = saved.read_bytes()
    saved.unlink()
    return data


@pytest.fixture
def thirds(local_app) -> list[int]:
    """Three milestones weighted 1/3 (as typed: 0.3333333333333333), one in progress at
    33.3 %, one complete, one not started; the commitment's status declared."""
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        third = MILESTONE.field("weight").parse("0.3333333333333333")
        rows = [
            {"title": "Mesa instalada, con «comillas» y ñ", "status": "in_progress",
             "progress": MILESTONE.field("progress").parse("33.3"), "weight": third,
             "start_date": date(2024, 1, 15), "due_date": date(2024, 12, 31)},
            {"title": "=Informe publicado", "status": "complete", "weight": third,
             "completed_on": date(2024, 6, 1)},
            {"title": "Portal de datos", "status": "not_started", "weight": third},
        ]
        ids = [add_milestone(db.session, admin, c, row, source=SOURCE).id for row in rows]
        c.status = COMMITMENT.field("status").parse("En proceso")
        db.session.commit()
        return ids


def _state(app) -> tuple:
    with app.app_context():
        s = db.session
        return (s.scalar(select(func.count()).select_from(AuditEvent)),
                tuple(s.execute(select(DataRevision.dataset, DataRevision.revision)
                                .order_by(DataRevision.dataset)).all()),
                tuple(s.execute(select(Milestone.id, Milestone.version, Milestone.weight,
                                       Milestone.progress).order_by(Milestone.id)
                                .execution_options(**records.WITH_DELETED)).all()))


def _unchanged(app, client, content: bytes, name: str) -> None:
    before = _state(app)
    response = client.post(UPLOAD, data={"file": (io.BytesIO(content), name), "source_url": ""},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (name, page[-3000:])
    assert "Sin cambios: el archivo es igual a lo registrado." in page, name
    assert _state(app) == before, name


def test_libreoffice_resaves_of_every_download_are_no_change(local_app, as_user, thirds,
                                                           soffice, tmp_path):
    client = as_user("durango@example.org")
    workbook = client.get(f"/edit/states/{DURANGO}/records.xlsx").data
    resaved = _resave(soffice, tmp_path, "estado-10.xlsx", workbook, "xlsx:Calc MS Excel 2007 XML")
    book = load_workbook(io.BytesIO(resaved))
    sheet = book["milestones"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in sheet.iter_rows(
        min_row=2, values_only=True)}
    assert rows[thirds[0]]["weight"] == pytest.approx(1 / 3)
    assert rows[thirds[0]]["progress"] == 33.3 and rows[thirds[0]]["status"] == "En proceso"
    assert sheet.data_validations.dataValidation  # the drop-down survives the re-save
    _unchanged(local_app, client, resaved, "estado-10.xlsx")
    _unchanged(local_app, client, _resave(soffice, tmp_path, "estado-10.xlsx", workbook, "ods"),
               "estado-10.ods")
    for sheet_name in ("plans", "commitments", "milestones"):
        download = client.get(f"/edit/states/{DURANGO}/records.csv?sheet={sheet_name}").data
        name = f"estado-10-{sheet_name}.csv"
        utf8 = _resave(soffice, tmp_path, name, download, CSV_UTF8, CSV_IN)
        assert not utf8.startswith(b"\xef\xbb\xbf")  # LibreOffice writes no BOM
        _unchanged(local_app, client, utf8, name)
    windows = _resave(soffice, tmp_path, "estado-10-milestones.csv", download, CSV_1252, CSV_IN)
    assert "ñ".encode("cp1252") in windows  # really Windows-1252
    _unchanged(local_app, client, windows, "estado-10-milestones.csv")
