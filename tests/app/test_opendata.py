"""Open data: the /data page, the data package (validated with frictionless), export/import."""

from __future__ import annotations

import filecmp
import json
import os
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from frictionless import validate

from app.extensions import db
from app.models import Base, Commitment, Evidence, Milestone, User
from app.opendata.package import TABLES, undocumented
from tests.app.metric_fixtures import import_file, write_synthetic_2019
from tests.databases import reset_database


def _identity(client, url):
    return client.get(url, headers={"Accept-Encoding": "identity"})


def _errors(report) -> list:
    return report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])


def test_every_column_of_every_table_is_documented_once():
    assert undocumented() == []


@pytest.fixture
def full_app(seeded_app, tmp_path):
    """Seeds, a SYNTHETIC metric round, an account, a milestone and evidence (every type)."""
    import_file(seeded_app, write_synthetic_2019(tmp_path / "synthetic.csv"), 2019)
    with seeded_app.app_context():
        commitment = db.session.scalars(sa.select(Commitment).order_by(Commitment.id)).first()
        user = User(email="editor@example.org", name="Editor", password_hash="$argon2id$x",
                    role="editor", state_cve="10")
        milestone = Milestone(commitment_id=commitment.id, number=1, title="Hito «uno»",
                              weight=0.25, start_date=date(2024, 1, 2), status="complete",
                              completed_on=date(2024, 3, 4), source="")
        db.session.add_all([user, milestone])
        db.session.flush()
        db.session.add(Evidence(milestone_id=milestone.id, title="Acta", url="https://example.org/a",
                                added_by_id=user.id, added_by_label="Editor"))
        db.session.commit()
    return seeded_app


def test_data_page_lists_every_public_table_with_downloads_and_columns(full_app):
    client = full_app.test_client()
    page = _identity(client, "/data").get_data(as_text=True)
    public = [name for name, doc in TABLES.items() if doc.public]
    for name in public:
        assert f'id="{name}"' in page
        for fmt in ("csv", "xlsx", "json"):
            assert f"/data/{name}.{fmt}" in page
    assert 'id="app_user"' not in page and "/data/app_user" not in page
    assert TABLES["metric_score"].columns["ga"] in page  # the package's description, shown
    assert "/map.geojson?round=2019" in page
    assert _identity(client, "/data/app_user.json").status_code == 404
    csv = _identity(client, "/data/milestone.csv").get_data(as_text=True)
    assert csv.splitlines()[1].startswith("1,")
    assert _identity(client, "/data/metric_score.xlsx").status_code == 200


def test_served_package_validates_with_frictionless(full_app, tmp_path):
    client = full_app.test_client()
    package = _identity(client, "/data/datapackage.json").get_json()
    assert "app_user" not in {r["name"] for r in package["resources"]}
    (tmp_path / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    for res in package["resources"]:
        assert res["licenses"] and res["sources"]
        body = _identity(client, f"/data/{res['path']}").get_data()
        (tmp_path / res["path"]).write_bytes(body)
    report = validate(tmp_path / "datapackage.json")
    assert report.valid, _errors(report)


def _export(app, folder: Path, *options: str) -> None:
    result = app.test_cli_runner().invoke(args=["export", str(folder), *options])
    assert result.exit_code == 0, result.output


def _fresh(app) -> None:
    """Empty the app's database and create the tables (as `flask db upgrade` would)."""
    with app.app_context():
        db.session.close()
        reset_database(db.engine)
        Base.metadata.create_all(db.engine)


def _same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_export_import_export_is_byte_identical(full_app, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _export(full_app, first)
    report = validate(first / "datapackage.json")
    assert report.valid, _errors(report)
    users = json.loads((first / "app_user.json").read_text())
    assert users[0] == [c for c in users[0] if c != "password_hash"] and len(users) == 2
    _fresh(full_app)
    result = full_app.test_cli_runner().invoke(args=["import", str(first)])
    assert result.exit_code == 0, result.output
    _export(full_app, second)
    _same_files(first, second)
    with full_app.app_context():  # new rows get new ids after the import (sequences moved)
        db.session.add(User(email="new@example.org", name="N", password_hash="h", role="admin"))
        db.session.commit()


def test_with_accounts_keeps_password_hashes(full_app, tmp_path):
    _export(full_app, tmp_path / "full", "--with-accounts")
    header, row = json.loads((tmp_path / "full" / "app_user.json").read_text())
    assert row[header.index("password_hash")] == "$argon2id$x"


def test_import_refuses_a_database_with_data(full_app, tmp_path):
    _export(full_app, tmp_path / "p")
    result = full_app.test_cli_runner().invoke(args=["import", str(tmp_path / "p")])
    assert result.exit_code != 0
    assert "not empty" in result.output and "nothing was imported" in result.output


def test_a_bad_value_stops_the_import_naming_file_row_field_and_nothing_is_kept(
        full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = json.loads((folder / "milestone.json").read_text())
    rows[1][rows[0].index("due_date")] = "31/02/2024"
    (folder / "milestone.json").write_text(json.dumps(rows))
    _fresh(full_app)
    result = full_app.test_cli_runner().invoke(args=["import", str(folder)])
    assert result.exit_code != 0
    assert "milestone.json, row 1, field due_date" in result.output
    with full_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_broken_reference_rolls_everything_back(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = json.loads((folder / "commitment_theme.json").read_text())
    rows.append(rows[1])  # the same primary key twice: the database refuses it
    (folder / "commitment_theme.json").write_text(json.dumps(rows))
    _fresh(full_app)
    result = full_app.test_cli_runner().invoke(args=["import", str(folder)])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    with full_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 0


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL (TEST_DATABASE_URL, as scripts/with-postgres sets)")
def test_sqlite_to_postgresql_migration_round_trip(make_app, tmp_path):
    """Export from SQLite, import into PostgreSQL, export again: the same bytes."""
    from app.cli import run_loaders
    from seeds import LOADERS

    lite = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'lite.sqlite3'}")
    with lite.app_context():
        Base.metadata.create_all(db.engine)
        run_loaders(list(LOADERS))
    import_file(lite, write_synthetic_2019(tmp_path / "synthetic.csv"), 2019)
    _export(lite, tmp_path / "from_sqlite")
    postgres = make_app()
    assert postgres.config["DATABASE_URL"].startswith("postgresql")
    _fresh(postgres)
    result = postgres.test_cli_runner().invoke(args=["import", str(tmp_path / "from_sqlite")])
    assert result.exit_code == 0, result.output
    _export(postgres, tmp_path / "from_postgresql")
    _same_files(tmp_path / "from_sqlite", tmp_path / "from_postgresql")
    _fresh(postgres)
