"""Fixtures of the metric tests: the real 2017 round imported into the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.metric.importer import import_round
from tests.conftest import shared_path


def bso_path() -> Path:
    """The real 2017 file, ../shared/data/mga-2017/BSO.csv; skips the test when it is absent."""
    return shared_path("data", "mga-2017", "BSO.csv")


def import_file(app: Flask, path: Path, year: int, **options: object):  # type: ignore[no-untyped-def]
    """Import ``path`` as round ``year`` and commit, as the command does; return the report."""
    with app.app_context():
        report = import_round(db.session, path, year, **options)  # type: ignore[arg-type]
        db.session.commit()
        return report


@pytest.fixture
def metric_seeded(app: Flask) -> Flask:
    """The app with the states and the metric's published figures loaded (and nothing else)."""
    return app


@pytest.fixture
def metric_app(metric_seeded: Flask) -> Flask:
    """The seeded app with the real 2017 file (../shared/data/mga-2017/BSO.csv) imported."""
    return metric_seeded


def write_synthetic_2019(path: Path) -> Path:
    """Write a SYNTHETIC 2019 round in the standard format (test data, not real results).

    It keeps the 2017 institutions of Aguascalientes and Querétaro (matched by key; one by a
    new spelling plus its key), drops the rest, and adds one new institution.
    """
    lines = ["institution,level,state,type,key,TG,TC,PG,PC"]
    lines.append(
        "Congreso del Estado (synthetic),state,Aguascalientes,legislative,,0.9,0.9,0.9,0.9"
    )
    lines.append("Municipio de Querétaro,municipal,22,municipality,municipal:22:queretaro,1,1,1,1")
    lines.append("Auditoria Superior de la Federacion,federal,,legislative,federal:fed:asf,0,0,0,0")
    for name in ("Aguascalientes", "Jesus Maria"):
        lines.append(f"{name},municipal,01,municipality,,0.5,0.5,0.5,0.5")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
