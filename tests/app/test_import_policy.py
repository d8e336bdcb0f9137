"""`flask metric import` refuses bad input cleanly: one line naming the file (and the row and
field, or what it found), a non-zero exit, no traceback, and the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import Institution, InstitutionAlias, MetricRound, MetricScore
from app.settings import load_settings
from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded

STANDARD_HEADER = "institution,level,state,type,TG,TC,PG,PC"
STANDARD_ROW = "Congreso del Estado,state,Aguascalientes,legislative,0.5,0.5,0.5,0.5"
INAI_HEADER = "SO,edo,niv,ts,GA,P,T,TG,TC,PG,PC"
INAI_ROW = "ASF,Federal,Federal,Legislativo,0.5,0.5,0.5,0.5,0.5,0.5,0.5"
BOTH_FORMATS = [(STANDARD_HEADER, STANDARD_ROW), (INAI_HEADER, INAI_ROW)]


def _snapshot(app) -> tuple:
    with app.app_context():
        counts = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Institution, InstitutionAlias, MetricScore, MetricRound)
        )
        stamps = tuple(db.session.execute(
            select(MetricRound.year, MetricRound.imported_sha256).order_by(MetricRound.year)
        ).all())
        return counts, stamps


def _refused(app, path: Path, *options: str) -> str:
    """Import ``path``; assert it was refused cleanly and nothing changed; return the line."""
    before = _snapshot(app)
    result = app.test_cli_runner().invoke(
        args=["metric", "import", str(path), "--round", "2019", *options]
    )
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: nothing was imported: {path.name}"), lines[0]
    assert _snapshot(app) == before
    return lines[0]


def _csv(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_empty_file(metric_seeded, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "the file is empty (0 bytes)" in _refused(metric_seeded, path)
    assert "empty (0 bytes)" in _refused(metric_seeded, path, "--format", "inai-2017")


@pytest.mark.parametrize("header", [STANDARD_HEADER, INAI_HEADER])
def test_a_header_only_file(metric_seeded, tmp_path, header):
    path = _csv(tmp_path, "header.csv", header)
    assert "the file has a header but no institutions" in _refused(metric_seeded, path)


@pytest.mark.parametrize(("header", "row"), BOTH_FORMATS)
def test_a_row_with_more_fields_than_the_header(metric_seeded, tmp_path, header, row):
    path = _csv(tmp_path, "wide.csv", header, row, row.replace("0.5", "0.4") + ",0.9")
    width = header.count(",") + 1
    line = _refused(metric_seeded, path)
    assert f"wide.csv, row 3: has {width + 1} fields, the header has {width}" in line


def test_a_text_file_named_xlsx(metric_seeded, tmp_path):
    path = _csv(tmp_path, "round.xlsx", STANDARD_HEADER, STANDARD_ROW)
    assert "is not an XLSX workbook (not a zip file)" in _refused(metric_seeded, path)


def test_an_xlsx_formula_without_a_computed_value(metric_seeded, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Datos"
    sheet.append(STANDARD_HEADER.split(","))
    sheet.append(["Congreso del Estado", "state", "Aguascalientes", "legislative", 0.5, 0.5,
                  "=0.25*2", 0.5])
    path = tmp_path / "formulas.xlsx"
    book.save(path)  # openpyxl stores formulas without computing them
    line = _refused(metric_seeded, path)
    assert "formulas.xlsx, row 2: sheet 'Datos', cell G2: formula without a computed value" in line


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file(metric_seeded, tmp_path, encoding):
    path = tmp_path / "round.csv"
    path.write_text(f"{STANDARD_HEADER}\n{STANDARD_ROW}\n", encoding=encoding)
    assert "round.csv: file is UTF-16; save it as UTF-8" in _refused(metric_seeded, path)


@pytest.mark.parametrize(("delimiter", "said"), [(";", "';'"), ("\t", "tabs")])
@pytest.mark.parametrize(("header", "row"), BOTH_FORMATS)
def test_a_file_separated_by_something_else(metric_seeded, tmp_path, delimiter, said, header, row):
    path = _csv(
        tmp_path, "round.csv", header.replace(",", delimiter), row.replace(",", delimiter)
    )
    line = _refused(metric_seeded, path)
    assert f"round.csv, row 1: the file is separated by {said}, expected ','" in line
    assert "missing" not in line


def test_a_file_over_the_size_limit(metric_seeded, tmp_path):
    path = _csv(tmp_path, "big.csv", STANDARD_HEADER, *[STANDARD_ROW] * 10)
    size = path.stat().st_size
    metric_seeded.config["IMPORT_MAX_BYTES"] = 100
    line = _refused(metric_seeded, path)
    assert f"big.csv: the file is {size} bytes, over the import limit of 100 bytes" in line
    assert "IMPORT_MAX_BYTES" in line


def test_the_size_limit_setting(tmp_path):
    assert load_settings(str(tmp_path), environ={})["IMPORT_MAX_BYTES"] == 104857600
    values = load_settings(str(tmp_path), environ={"FLASK_IMPORT_MAX_BYTES": "2048"})
    assert values["IMPORT_MAX_BYTES"] == 2048


def test_a_good_file_still_imports_under_the_policy(metric_seeded, tmp_path):
    path = tmp_path / "round.csv"
    path.write_bytes(
        ("\ufeff" + STANDARD_HEADER + "\r\n" + STANDARD_ROW + "\r\n\r\n").encode("utf-8")
    )
    result = metric_seeded.test_cli_runner().invoke(
        args=["metric", "import", str(path), "--round", "2019"]
    )
    assert result.exit_code == 0, result.output
    assert "rows read: 1" in result.output and "1 created" in result.output


def test_a_short_row_reads_its_missing_cells_as_blank(metric_seeded, tmp_path):
    path = _csv(tmp_path, "short.csv", STANDARD_HEADER, STANDARD_ROW, "Municipio X,municipal")
    assert "short.csv, row 3, field 'type': is empty but required" in _refused(metric_seeded, path)
    path = _csv(tmp_path, "short.csv", STANDARD_HEADER, "Congreso del Estado,state,01,party,0.5")
    result = metric_seeded.test_cli_runner().invoke(
        args=["metric", "import", str(path), "--round", "2019", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
