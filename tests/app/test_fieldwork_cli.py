"""``flask metric fieldwork ...``: a coordinator runs a SYNTHETIC round from the command line."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import FieldworkObservation
from tests.app import fieldwork_fixtures, metric_fixtures
from tests.app.fieldwork_fixtures import A_KEY, B_KEY
from tests.metrics.fieldwork_data import B_ANSWERS, EXPECTED_B, INDICES, TEMPLATE

metric_seeded = metric_fixtures.metric_seeded

FIELDS = ["institution", "item", "occasion", "answer", "sent_on", "acknowledged_on",
          "answered_on", "folio", "evidence_url", "evidence_file", "note"]


def _observations_csv(path, answers, key):  # type: ignore[no-untyped-def]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for (item, occasion), answer in answers.items():
            writer.writerow({
                "institution": key, "item": item, "occasion": occasion, "answer": answer.value,
                "sent_on": answer.sent_on.isoformat() if answer.sent_on else "",
                "answered_on": answer.answered_on.isoformat() if answer.answered_on else "",
                "evidence_url": "https://example.org/evidencia"})
    return path


def _ok(runner, *args):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["metric", "fieldwork", *args])
    assert result.exit_code == 0, result.output
    return result


def test_a_coordinator_runs_a_round_from_the_command_line(metric_seeded, runner, tmp_path):
    with metric_seeded.app_context():
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records"))
        db.session.commit()
    me = ["--as", "coord@example.org"]
    out = _ok(runner, "setup", "--year", "2026", "--label", "SYNTHETIC round", "--source",
              "SYNTHETIC", "--instruments", str(TEMPLATE), "--requests", "2", "--proposals", "1",
              "--closed-day", "2026-04-02=Semana Santa", "--coordinator", "coord@example.org",
              "--as", "admin@example.org")
    assert "17 components, 31 items; deadline 20 + 10 business days" in out.output
    _ok(runner, "member", "2026", "coder1@example.org", "--role", "coder", *me)
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("state,level,type,count\n1,state,legislative,1\n22,,,5\n",
                      encoding="utf-8")
    out = _ok(runner, "sample", "2026", "--quotas", str(quotas), *me)
    assert "quota 01|state|legislative: wanted 1, available 1, drawn 1" in out.output
    assert "quota 22|*|*: wanted 5, available 1, drawn 1 (4 short)" in out.output
    _ok(runner, "assign", "2026", "--coder", "coder1@example.org", *me)
    from tests.metrics.fieldwork_data import best_answers, instruments

    _ok(runner, "observe", "2026",
        str(_observations_csv(tmp_path / "a.csv", best_answers(instruments()), A_KEY)),
        "--as", "coder1@example.org")
    out = _ok(runner, "observe", "2026",
              str(_observations_csv(tmp_path / "b.csv", B_ANSWERS, B_KEY)),
              "--as", "coder1@example.org")
    assert "35 created" in out.output
    out = _ok(runner, "progress", "2026", "--by", "state", "--format", "csv", *me)
    lines = out.output.splitlines()
    assert lines[0].startswith("key,name,institutions,done") and len(lines) == 3
    _ok(runner, "freeze", "2026", *me)
    out = _ok(runner, "publish", "2026", *me)
    assert "2 scores created" in out.output
    export = tmp_path / "round.json"
    _ok(runner, "export", "2026", str(export))
    out = _ok(runner, "compute", str(export), "--final", "--format", "json")
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    for column in INDICES:
        assert rows[B_KEY][column] == pytest.approx(EXPECTED_B[column], abs=1e-12)
    # A frozen round refuses new observations, and says so.
    refused = runner.invoke(args=["metric", "fieldwork", "observe", "2026",
                                  str(tmp_path / "b.csv"), "--as", "coder1@example.org"])
    assert refused.exit_code != 0 and "round 2026 is frozen" in refused.output


def test_bad_input_is_refused_naming_file_row_and_field_and_nothing_is_kept(
    metric_seeded, runner, tmp_path
):
    with metric_seeded.app_context():
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records"))
        db.session.commit()
    me = ["--as", "coord@example.org"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: mga-instruments/1\ntitle: t\nnotice: n\ncomponents: []\n",
                      encoding="utf-8")
    out = runner.invoke(args=["metric", "fieldwork", "setup", "--year", "2026", "--label", "x",
                              "--source", "x", "--instruments", str(broken), "--coordinator",
                              "coord@example.org", "--as", "admin@example.org"])
    assert out.exit_code != 0 and "broken.yaml: components:" in out.output
    _ok(runner, "setup", "--year", "2026", "--label", "x", "--source", "x", "--instruments",
        str(TEMPLATE), "--requests", "1", "--coordinator", "coord@example.org",
        "--as", "admin@example.org")
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("state,level,type,count\n22,,,many\n", encoding="utf-8")
    out = runner.invoke(args=["metric", "fieldwork", "sample", "2026", "--quotas", str(quotas),
                              *me])
    assert out.exit_code != 0 and "quotas.csv, row 2, field 'count'" in out.output
    out = runner.invoke(args=["metric", "fieldwork", "sample", "2026", "--quotas", str(quotas),
                              "--as", "coder1@example.org"])
    assert out.exit_code != 0
    _ok(runner, "member", "2026", "coder1@example.org", "--role", "coder", *me)
    listed = tmp_path / "listed.txt"
    listed.write_text(f"{A_KEY}\n", encoding="utf-8")
    _ok(runner, "sample", "2026", "--list", str(listed), *me)
    _ok(runner, "assign", "2026", "--coder", "coder1@example.org", *me)
    rows = tmp_path / "obs.csv"
    rows.write_text("institution,item,occasion,answer\n"
                    f"{A_KEY},TG.access_info.unit,1,yes\n"
                    f"{A_KEY},TG.access_info.platform,1,perhaps\n", encoding="utf-8")
    out = runner.invoke(args=["metric", "fieldwork", "observe", "2026", str(rows),
                              "--as", "coder1@example.org"])
    assert out.exit_code != 0
    assert "obs.csv, row 3: answer: TG.access_info.platform: 'perhaps' is not one of" \
        in out.output
    with metric_seeded.app_context():
        assert db.session.scalar(select(func.count()).select_from(FieldworkObservation)) == 0
    out = runner.invoke(args=["metric", "fieldwork", "observe", "2026", str(rows),
                              "--as", "coord@example.org"])
    assert out.exit_code != 0 and "may not do this" in out.output
