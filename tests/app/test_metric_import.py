"""`flask metric import`: the real 2017 file, re-imports, all-or-nothing, the standard format."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.metric.importer import RoundImportError, import_round
from app.models import DataRevision, Institution, InstitutionAlias, MetricRound, MetricScore
from tests.app import metric_fixtures
from tests.app.metric_fixtures import bso_path, import_file, write_synthetic_2019

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_importing_bso_reports_and_stores_every_institution(metric_seeded):
    runner = metric_seeded.test_cli_runner()
    result = runner.invoke(args=["metric", "import", str(bso_path()), "--round", "2017"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "format inai-2017" in out  # guessed from the header
    assert "rows read: 908" in out
    assert "institutions: 908 created, 0 matched" in out
    assert "names repaired: 6" in out
    assert "row 676: 'San Luis Potosi-Soledad de Graciano SÃ¡nchez' -> " in out
    assert "values rejected: 0" in out
    with metric_seeded.app_context():
        assert _count(Institution) == 908
        levels = dict(
            db.session.execute(select(Institution.level, func.count()).group_by(Institution.level))
            .all()
        )
        assert levels == {"federal": 46, "state": 702, "municipal": 160}
        states = db.session.scalar(select(func.count(func.distinct(Institution.state_cve))))
        assert states == 32
        assert _count(MetricScore) == 908 and _count(InstitutionAlias) == 908
        round_2017 = db.session.scalars(select(MetricRound).where(MetricRound.year == 2017)).one()
        assert round_2017.imported_file == "BSO.csv" and len(round_2017.imported_sha256) == 64
        assert round_2017.weight_scheme["TG"]["access_info"] == 0.5  # the 2017 scheme, as data
        score = db.session.scalars(
            select(MetricScore).join(Institution).where(Institution.key == "federal:fed:asf")
        ).one()
        assert (score.ga, score.tg, score.source_row) == (0.5054, 0.5556, 2)
        assert db.session.get(DataRevision, "metric").revision >= 2


def test_reimporting_the_same_file_changes_nothing(metric_app):
    with metric_app.app_context():
        before_round = db.session.scalars(select(MetricRound).where(MetricRound.year == 2017)).one()
        stamp = before_round.imported_at
        revision = db.session.get(DataRevision, "metric").revision
        ids = set(db.session.scalars(select(Institution.id)))
    result = metric_app.test_cli_runner().invoke(
        args=["metric", "import", str(bso_path()), "--round", "2017", "--format", "inai-2017"]
    )
    assert result.exit_code == 0, result.output
    assert "institutions: 0 created, 908 matched" in result.output
    assert "0 created, 0 updated, 908 unchanged, 0 removed" in result.output
    assert "nothing changed" in result.output
    with metric_app.app_context():
        assert set(db.session.scalars(select(Institution.id))) == ids
        assert _count(InstitutionAlias) == 908 and _count(MetricScore) == 908
        again = db.session.scalars(select(MetricRound).where(MetricRound.year == 2017)).one()
        assert again.imported_at == stamp
        assert db.session.get(DataRevision, "metric").revision == revision


def test_a_changed_file_updates_and_removes_scores(metric_app, tmp_path):
    lines = bso_path().read_bytes().splitlines()
    lines[1] = lines[1].replace(b"0.5054", b"0.5055")  # ASF's GA, within rounding
    removed = lines.pop()  # the last institution (Zacatecas)
    assert removed.startswith(b"Zacatecas-")
    changed = tmp_path / "BSO-changed.csv"
    changed.write_bytes(b"\r\n".join(lines))
    report = import_file(metric_app, changed, 2017, fmt="inai-2017")
    assert (report.scores_updated, report.scores_removed, report.scores_created) == (1, 1, 0)
    with metric_app.app_context():
        assert _count(MetricScore) == 907
        assert _count(Institution) == 908  # the institution stays; only its score goes


def test_an_unmappable_row_stops_the_import_and_stores_nothing(metric_seeded, tmp_path):
    lines = bso_path().read_bytes().splitlines()
    lines[700] = lines[700].replace(b",Sinaloa,", b",Sinaloaa,")
    bad = tmp_path / "BSO-bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    result = metric_seeded.test_cli_runner().invoke(
        args=["metric", "import", str(bad), "--round", "2017"]
    )
    assert result.exit_code != 0
    assert "nothing was imported" in result.output
    assert "BSO-bad.csv, row 701, field 'edo': 'Sinaloaa'" in result.output
    with metric_seeded.app_context():
        assert _count(Institution) == 0 and _count(MetricScore) == 0


def test_a_late_conflict_rolls_back_what_was_already_added(metric_app, tmp_path):
    path = tmp_path / "late.csv"
    path.write_text(
        "institution,level,state,type,key,GA\n"
        "Nueva institución,state,01,trust,,0.5\n"
        "Fake ASF,state,01,trust,federal:fed:asf,0.5\n",
        encoding="utf-8",
    )
    result = metric_app.test_cli_runner().invoke(
        args=["metric", "import", str(path), "--round", "2019"]
    )
    assert result.exit_code != 0
    assert "late.csv, row 3, field 'institution'" in result.output
    with metric_app.app_context():
        assert _count(Institution) == 908
        assert _count(Institution, Institution.name == "Nueva institución") == 0


def test_synthetic_second_round_matches_by_key_and_alias(metric_app, tmp_path):
    report = import_file(metric_app, write_synthetic_2019(tmp_path / "r2019.csv"), 2019)
    assert report.fmt == "standard"
    assert (report.institutions_created, report.institutions_matched) == (1, 4)
    assert report.aliases_added == 3  # the new institution and two new spellings
    with metric_app.app_context():
        asf = db.session.scalars(select(Institution).where(Institution.key == "federal:fed:asf")
                                 ).one()
        assert {a.name for a in asf.aliases} == {"ASF", "Auditoria Superior de la Federacion"}
        assert asf.name == "ASF"
        assert _count(MetricScore, MetricScore.institution_id == asf.id) == 2


def test_standard_xlsx_with_components_scheme_and_rejected_values(metric_seeded, tmp_path):
    scheme = {"TG": {"a": 0.6, "b": 0.4}}
    scheme_path = tmp_path / "scheme.json"
    scheme_path.write_text(json.dumps(scheme), encoding="utf-8")
    table = pd.DataFrame(
        {
            "institution": ["Uno", "Dos", "Tres"],
            "level": ["state", "state", "federal"],
            "state": ["Jalisco", "14", None],
            "type": ["party", "union", "trust"],
            "TG.a": [1.0, 0.5, 2.0],
            "TG.b": [0.0, 0.5, 0.5],
            "TC": [0.5, "n/d", 0.5],
            "PG": [0.5, 0.5, "abc"],
            "PC": [0.5, 0.5, 0.5],
        }
    )
    path = tmp_path / "round.xlsx"
    table.to_excel(path, index=False)
    runner = metric_seeded.test_cli_runner()
    args = ["metric", "import", str(path), "--round", "2030", "--scheme", str(scheme_path)]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "give its --source" in result.output
    args += ["--source", "Synthetic test round (not real data)"]
    strict = runner.invoke(args=[*args, "--strict"])
    assert strict.exit_code != 0 and "row 4, field 'PG'" in strict.output
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "values rejected: 2" in result.output
    assert "row 4, field TG.a: '2.0' outside [0, 1]" in result.output
    assert "row 4, field PG: 'abc' not a number" in result.output
    with metric_seeded.app_context():
        scores = {
            s.institution.name: s for s in db.session.scalars(select(MetricScore))
        }
        assert scores["Uno"].tg == pytest.approx(0.6)
        assert scores["Uno"].components == {"TG.a": 1.0, "TG.b": 0.0}
        assert scores["Uno"].ga == pytest.approx(((0.6 + 0.5) / 2 + 0.5) / 2)
        assert scores["Dos"].tc is None and scores["Dos"].ga is None  # missing stays missing
        assert scores["Tres"].tg is None and scores["Tres"].pg is None
        metric_round = db.session.scalars(select(MetricRound).where(MetricRound.year == 2030)
                                          ).one()
        assert metric_round.weight_scheme == scheme


def test_dry_run_and_bad_scheme(metric_seeded, tmp_path):
    runner = metric_seeded.test_cli_runner()
    bso = str(bso_path())
    result = runner.invoke(args=["metric", "import", bso, "--round", "2017", "--dry-run"])
    assert result.exit_code == 0 and "Dry run: nothing was stored." in result.output
    with metric_seeded.app_context():
        assert _count(Institution) == 0
    scheme = tmp_path / "scheme.json"
    scheme.write_text('{"TG": {"a": 0.7}}', encoding="utf-8")
    result = runner.invoke(
        args=["metric", "import", bso, "--round", "2017", "--scheme", str(scheme)]
    )
    assert result.exit_code != 0 and "weights sum to 0.7" in result.output


def test_import_needs_the_states(app):
    bso = bso_path()
    with app.app_context(), pytest.raises(RoundImportError, match="flask seed states"):
        import_round(db.session, bso, 2017)


def test_an_import_in_many_chunks_writes_and_records_the_same(metric_seeded, monkeypatch):
    from app.metric import importer
    from app.models import AuditEvent

    monkeypatch.setattr(importer, "CHUNK_ROWS", 100)  # the 908 rows in 10 chunks
    with metric_seeded.app_context():
        revision = db.session.get(DataRevision, "metric").revision
    report = import_file(metric_seeded, bso_path(), 2017)
    assert (report.institutions_created, report.aliases_added, report.scores_created) == (
        908, 908, 908
    )
    with metric_seeded.app_context():
        assert _count(Institution) == _count(InstitutionAlias) == _count(MetricScore) == 908
        assert db.session.get(DataRevision, "metric").revision == revision + 1  # once
        for entity in ("institution", "institution_alias", "metric_score"):
            assert _count(AuditEvent, AuditEvent.entity == entity,
                          AuditEvent.action == "create", AuditEvent.actor == "import") == 908
        asf = db.session.scalars(select(Institution).where(Institution.key == "federal:fed:asf")
                                 ).one()
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity == "metric_score", AuditEvent.summary == f"2017 · {asf.name}"
        )).one()
        score = db.session.get(MetricScore, int(event.entity_id))
        assert score.institution_id == asf.id and event.source == "BSO.csv"
        assert event.after["institution_id"] == asf.id and event.after["ga"] == 0.5054
        assert "id" not in event.after and "version" not in event.after
    again = import_file(metric_seeded, bso_path(), 2017)
    assert not again.changed and again.scores_unchanged == 908


def _rows(count: int) -> list[str]:
    return [f"Institución {n},state,01,trust,,0.5,0.5,0.5,0.5" for n in range(count)]


@pytest.mark.parametrize(
    ("first", "last", "error"),
    [
        # the name of row 2's institution under another key: its alias is already owned
        ("Institución 0,state,01,trust,,0.5,0.5,0.5,0.5",
         "Institución 0,state,01,trust,state:01:otra,0.5,0.5,0.5,0.5",
         "row 252, field 'key': the name 'Institución 0' is already a variant of institution "
         "'state:01:institucion 0'"),
        # no key: matched by name to the institution row 2 created under its own key
        ("Propia,state,01,trust,state:01:clave propia,0.5,0.5,0.5,0.5",
         "Propia,state,01,trust,,0.5,0.5,0.5,0.5",
         "row 252, field 'institution': the same institution as row 2 ('state:01:clave propia')"),
    ],
)
def test_a_conflict_with_a_row_of_an_earlier_chunk(metric_seeded, tmp_path, monkeypatch, first,
                                                   last, error):
    from app.metric import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 100)  # rows 2 and 252 in different chunks
    rows = [first, *_rows(250)[1:], last]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(["institution,level,state,type,key,TG,TC,PG,PC", *rows]) + "\n",
                    encoding="utf-8")
    with metric_seeded.app_context(), pytest.raises(importer.ReadError) as caught:
        import_round(db.session, path, 2019, source="Synthetic test round (not real data)")
    assert str(caught.value) == f"late.csv, {error}"
