"""Open data: the /data page, the data package (validated with frictionless, read with pandas),
export and import (byte-identical round trips, hashes, references, account data)."""

from __future__ import annotations

import filecmp
import hashlib
import io
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from frictionless import validate
from markupsafe import escape

from app.extensions import db
from app.models import AuditEvent, Base, Commitment, Evidence, Milestone, User
from app.opendata.package import TABLES, undocumented
from tests.app.metric_fixtures import import_file, write_synthetic_2019
from tests.databases import reset_database


def _identity(client, url):
    return client.get(url, headers={"Accept-Encoding": "identity"})


def _errors(report) -> list:
    return report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])


def test_every_column_of_every_table_is_documented_once_in_both_languages():
    assert undocumented() == []


@pytest.fixture
def full_app(seeded_app, tmp_path):
    """Seeds, a SYNTHETIC metric round, an account, a milestone, evidence and a change made by
    the account (every type; account ids in evidence and in the history)."""
    import_file(seeded_app, write_synthetic_2019(tmp_path / "synthetic.csv"), 2019)
    with seeded_app.app_context():
        commitment = db.session.scalars(sa.select(Commitment).order_by(Commitment.id)).first()
        user = User(email="editor@example.org", name="Editor", password_hash="$argon2id$x",
                    role="editor", state_cve="10", agency="Organismo garante (SYNTHETIC)")
        milestone = Milestone(commitment_id=commitment.id, number=1, title="Hito «uno»",
                              weight=0.25, start_date=date(2024, 1, 2), status="complete",
                              completed_on=date(2024, 3, 4), source="")
        db.session.add_all([user, milestone])
        db.session.flush()
        db.session.add(Evidence(milestone_id=milestone.id, title="Acta", url="https://example.org/a",
                                added_by_id=user.id, added_by_label="Editor"))
        db.session.add(AuditEvent(user_id=user.id, actor=user.agency, action="update",
                                  entity="milestone", entity_id=str(milestone.id),
                                  state_cve="10", commitment_id=commitment.id,
                                  summary="SYNTHETIC change", before={"status": "in_progress"},
                                  after={"status": "complete"}))
        db.session.commit()
    return seeded_app


def test_data_page_lists_every_public_table_in_the_readers_language(full_app):
    client = full_app.test_client()
    page = _identity(client, "/data").get_data(as_text=True)
    public = [name for name, doc in TABLES.items() if doc.public]
    for name in public:
        assert f'id="{name}"' in page
        assert str(escape(TABLES[name].description_es)) in page
        assert str(escape(TABLES[name].title_es)) in page
        for fmt in ("csv", "xlsx", "json"):
            assert f"/data/{name}.{fmt}" in page
    assert 'id="app_user"' not in page and "/data/app_user" not in page
    assert str(escape(TABLES["metric_score"].columns["ga"].es)) in page  # the package's text
    assert "<code>user_id</code>" not in page and "<code>added_by_id</code>" not in page
    assert 'pip install "frictionless[json]"' in page
    assert "/map.geojson?round=2019" in page
    english = _identity(client, "/data?lang=en").get_data(as_text=True)
    assert str(escape(TABLES["state"].description_en)) in english
    assert str(escape(TABLES["metric_score"].columns["ga"].en)) in english
    assert _identity(client, "/data/app_user.json").status_code == 404
    csv = _identity(client, "/data/milestone.csv").get_data(as_text=True)
    assert csv.splitlines()[1].startswith("1,")
    assert _identity(client, "/data/metric_score.xlsx").status_code == 200


def test_served_data_names_no_account(full_app):
    client = full_app.test_client()
    package = _identity(client, "/data/datapackage.json").get_json()
    fields = {r["name"]: [f["name"] for f in r["schema"]["fields"]]
              for r in package["resources"]}
    assert "app_user" not in fields
    assert "user_id" not in fields["audit_event"] and "added_by_id" not in fields["evidence"]
    history = json.loads(_identity(client, "/data/audit_event.json").data)
    mine = [e for e in history if e["summary"] == "SYNTHETIC change"]
    assert mine and mine[0]["actor"] == "Organismo garante (SYNTHETIC)"  # the agency, shown
    assert all("user_id" not in e for e in history)
    header = _identity(client, "/data/audit_event.csv").get_data(as_text=True).splitlines()[0]
    assert "user_id" not in header and "actor" in header


def _served_package(client, folder: Path) -> dict[str, Any]:
    package = _identity(client, "/data/datapackage.json").get_json()
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    for res in package["resources"]:
        (folder / res["path"]).write_bytes(_identity(client, f"/data/{res['path']}").data)
    return package


def test_served_package_validates_with_frictionless(full_app, tmp_path):
    package = _served_package(full_app.test_client(), tmp_path)
    for res in package["resources"]:
        assert res["licenses"] and res["sources"]
        assert res["title"] == TABLES[res["name"]].title_es
        assert res["description_es"] == TABLES[res["name"]].description_es
        for spec in res["schema"]["fields"]:
            assert spec["title"] and spec["description"] and spec["description_es"]
    profiles = {r["name"]: r["profile"] for r in package["resources"]}
    assert profiles["state"] == "tabular-data-resource"
    assert profiles["boundary_layer"] == "data-resource"  # no rows: frictionless cannot read []
    report = validate(tmp_path / "datapackage.json")
    assert report.valid, _errors(report)


# How a client reads a table with pandas from either file, typed by the package's schema.
PANDAS_TYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean"}


def _json_text(value: Any) -> str | None:
    """A JSON value (from the JSON file) or its text (from the CSV) as one canonical text."""
    if value is None or value is pd.NA or value == "" or value != value:
        return None
    return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)


def _typed(frame: pd.DataFrame, fields: list[dict[str, Any]]) -> pd.DataFrame:
    frame = frame.reindex(columns=[f["name"] for f in fields])  # [] names no column
    for spec in fields:
        name = spec["name"]
        if spec["type"] == "object":
            frame[name] = frame[name].map(_json_text)
            frame[name] = frame[name].astype("string")
        else:
            frame[name] = frame[name].astype(PANDAS_TYPES.get(spec["type"], "string"))
            if spec["type"] not in PANDAS_TYPES:  # text, dates and times: as written
                # CSV cannot tell "" from unknown (both are an empty cell).
                frame[name] = frame[name].replace("", pd.NA)
    return frame


def _unneutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo the CSV's guard against spreadsheet formulas (a ' before =, +, -, @...)."""
    for name in frame.columns:
        if frame[name].dtype == "string":
            frame[name] = frame[name].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return frame


def test_pandas_reads_the_same_frame_from_each_json_and_csv(full_app):
    """read_json of a resource gives its CSV's frame: the same columns, rows and values
    (the JSON is an array of objects, so no header row turns up as data)."""
    client = full_app.test_client()
    package = _identity(client, "/data/datapackage.json").get_json()
    compared = 0
    for res in package["resources"]:
        fields = res["schema"]["fields"]
        types = {f["name"]: PANDAS_TYPES.get(f["type"], "string") for f in fields
                 if f["type"] != "object"}
        raw = _identity(client, f"/data/{res['name']}.json").data
        plain = pd.read_json(io.BytesIO(raw))  # pandas' defaults: one row per object
        rows = json.loads(raw)
        assert len(plain) == len(rows)
        if rows:
            assert list(plain.columns) == [f["name"] for f in fields]
        # Exact numbers: pandas parses JSON floats to the last digit only when asked.
        from_json = _typed(pd.read_json(io.BytesIO(raw), dtype=False, precise_float=True),
                           fields)
        from_csv = _unneutralised(_typed(pd.read_csv(
            io.BytesIO(_identity(client, f"/data/{res['name']}.csv").data),
            dtype={**types, **{f["name"]: "string" for f in fields if f["type"] == "object"}},
            keep_default_na=False, na_values={n: [""] for n in types}, encoding="utf-8-sig",
        ), fields))
        pd.testing.assert_frame_equal(from_json, from_csv, obj=res["name"], check_exact=True)
        compared += len(rows)
    assert compared > 1000


def _export(app, folder: Path, *options: str) -> None:
    result = app.test_cli_runner().invoke(args=["export", str(folder), *options])
    assert result.exit_code == 0, result.output


def _import(app, folder: Path) -> Any:
    return app.test_cli_runner().invoke(args=["import", str(folder)])


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
    package = json.loads((first / "datapackage.json").read_text())
    for res in package["resources"]:  # every file's SHA-256 is in the descriptor
        digest = hashlib.sha256((first / res["path"]).read_bytes()).hexdigest()
        assert res["hash"] == f"sha256:{digest}"
    states = json.loads((first / "state.json").read_text())
    assert isinstance(states[0], dict) and states[0]["cve_ent"] == "01"
    assert not (first / "app_user.json").exists()  # no account data without --with-accounts
    history = json.loads((first / "audit_event.json").read_text())
    assert all("user_id" not in e for e in history)
    _fresh(full_app)
    result = _import(full_app, first)
    assert result.exit_code == 0, result.output
    _export(full_app, second)
    _same_files(first, second)
    with full_app.app_context():  # new rows get new ids after the import (sequences moved)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        db.session.add(User(email="new@example.org", name="N", password_hash="h", role="admin"))
        db.session.commit()


def test_a_backup_with_accounts_keeps_them_and_round_trips(full_app, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _export(full_app, first, "--with-accounts")
    assert validate(first / "datapackage.json").valid
    (user,) = json.loads((first / "app_user.json").read_text())
    assert user["password_hash"] == "$argon2id$x"
    history = json.loads((first / "audit_event.json").read_text())
    assert [e["user_id"] for e in history if e["summary"] == "SYNTHETIC change"] == [user["id"]]
    _fresh(full_app)
    result = _import(full_app, first)
    assert result.exit_code == 0, result.output
    _export(full_app, second, "--with-accounts")
    _same_files(first, second)


def test_import_refuses_a_database_with_data(full_app, tmp_path):
    _export(full_app, tmp_path / "p")
    result = _import(full_app, tmp_path / "p")
    assert result.exit_code != 0
    assert "not empty" in result.output and "nothing was imported" in result.output


# --- Packages that are refused, with the database left empty ----------------------------------


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _rewrite(folder: Path, name: str, rows: list[dict[str, Any]], rehash: bool = True) -> None:
    """Write ``rows`` to a table's file; with ``rehash``, also its new hash in the descriptor
    (as someone would who edits the package knowingly), so the later checks are reached."""
    data = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    (folder / name).write_bytes(data)
    if rehash:
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        for res in descriptor["resources"]:
            if res["path"] == name:
                res["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
        (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")


def _refused(app, folder: Path, *expected: str) -> None:
    _fresh(app)
    result = _import(app, folder)
    assert result.exit_code != 0 and "nothing was imported" in result.output, result.output
    for text in expected:
        assert text in result.output, result.output
    with app.app_context():
        for model in (Commitment, AuditEvent, Milestone):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_an_edited_value_is_refused_by_its_hash(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "commitment.json")
    rows[0]["title"] = "Edited after the export"
    _rewrite(folder, "commitment.json", rows, rehash=False)
    _refused(full_app, folder, "commitment.json: its SHA-256 is", "changed after the export")


def test_a_wrong_or_missing_hash_is_refused(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    descriptor["resources"][0]["hash"] = "sha256:" + "0" * 64
    (folder / "datapackage.json").write_text(json.dumps(descriptor))
    _refused(full_app, folder, f"{descriptor['resources'][0]['path']}: its SHA-256 is")
    del descriptor["resources"][0]["hash"]
    (folder / "datapackage.json").write_text(json.dumps(descriptor))
    _refused(full_app, folder, "has no sha256 hash")


def test_a_dangling_reference_is_refused_before_anything_is_written(full_app, tmp_path):
    """A commitment naming a plan the package lacks: refused on SQLite too (which does not
    enforce foreign keys), naming file, row and field."""
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "commitment.json")
    rows[0]["plan_id"] = 999999
    _rewrite(folder, "commitment.json", rows)
    _refused(full_app, folder, "commitment.json, row 1, field plan_id: 999999 names no row "
                               "of action_plan")


def test_an_account_named_without_the_accounts_is_refused(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "evidence.json")
    rows[0]["added_by_id"] = 1
    _rewrite(folder, "evidence.json", rows)
    _refused(full_app, folder, "field added_by_id: 1 names no row of app_user",
             "--with-accounts")


def test_a_repeated_primary_key_is_refused(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "commitment_theme.json")
    rows.append(rows[1])
    _rewrite(folder, "commitment_theme.json", rows)
    _refused(full_app, folder, f"commitment_theme.json, row {len(rows)}: primary key")


def test_a_bad_value_stops_the_import_naming_file_row_and_field(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "milestone.json")
    rows[0]["due_date"] = "31/02/2024"
    _rewrite(folder, "milestone.json", rows)
    _refused(full_app, folder, "milestone.json, row 1, field due_date")


def test_a_header_row_file_of_the_old_form_is_refused_clearly(full_app, tmp_path):
    folder = tmp_path / "p"
    _export(full_app, folder)
    rows = _rows(folder, "state.json")
    _rewrite(folder, "state.json", [list(rows[0]), *[list(r.values()) for r in rows]])
    _refused(full_app, folder, "state.json, row 1: not a JSON object")


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL (TEST_DATABASE_URL, as scripts/with-postgres sets)")
def test_sqlite_to_postgresql_migration_round_trip(make_app, tmp_path):
    """Export from SQLite, import into PostgreSQL, export again: the same bytes; a dangling
    reference is refused on PostgreSQL too, before anything is written."""
    from app.cli import run_loaders
    from seeds import LOADERS

    lite = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'lite.sqlite3'}")
    with lite.app_context():
        Base.metadata.create_all(db.engine)
        run_loaders(list(LOADERS))
    import_file(lite, write_synthetic_2019(tmp_path / "synthetic.csv"), 2019)
    _export(lite, tmp_path / "from_sqlite", "--with-accounts")
    postgres = make_app()
    assert postgres.config["DATABASE_URL"].startswith("postgresql")
    _fresh(postgres)
    result = _import(postgres, tmp_path / "from_sqlite")
    assert result.exit_code == 0, result.output
    _export(postgres, tmp_path / "from_postgresql", "--with-accounts")
    _same_files(tmp_path / "from_sqlite", tmp_path / "from_postgresql")
    rows = _rows(tmp_path / "from_sqlite", "commitment.json")
    rows[0]["plan_id"] = 999999
    _rewrite(tmp_path / "from_sqlite", "commitment.json", rows)
    _refused(postgres, tmp_path / "from_sqlite", "field plan_id: 999999 names no row")
    _fresh(postgres)
