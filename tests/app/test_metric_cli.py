"""`flask metric summary` and `flask metric compare`."""

from __future__ import annotations

import csv
import io
import json

from tests.app import metric_fixtures
from tests.app.metric_fixtures import import_file, write_synthetic_2019

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_summary_national_table_beside_published(metric_app):
    result = metric_app.test_cli_runner().invoke(args=["metric", "summary", "--round", "2017"])
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()[:2]
    assert header.split()[:4] == ["key", "name", "n", "n_published"]
    assert "Nacional" in row and "908" in row
    for figure in ("0.3887", "0.3900", "-0.0013", "0.5013", "0.2761"):
        assert figure in row


def test_summary_by_state_as_csv_has_published_and_difference(metric_app):
    result = metric_app.test_cli_runner().invoke(
        args=["metric", "summary", "--round", "2017", "--by", "state", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert len(rows) == 33
    for key, row in rows.items():
        computed, published = float(row["GA"]), float(row["GA_published"])
        assert round(computed, 2) == published, key
        assert abs(float(row["GA_difference"]) - (computed - published)) < 1e-6
    assert rows["federal"]["name"] == "Federación" and rows["federal"]["GA_rank"] == ""
    assert rows["19"]["name"] == "Nuevo León"


def test_summary_by_level_and_type_as_json(metric_app):
    runner = metric_app.test_cli_runner()
    result = runner.invoke(
        args=["metric", "summary", "--round", "2017", "--by", "level", "--format", "json"]
    )
    levels = {r["key"]: r for r in json.loads(result.output)}
    assert {k: r["n"] for k, r in levels.items()} == {"federal": 46, "municipal": 160,
                                                      "state": 702}
    assert levels["municipal"]["n_published"] == 160
    result = runner.invoke(
        args=["metric", "summary", "--round", "2017", "--by", "type", "--format", "json"]
    )
    types = {r["key"]: r for r in json.loads(result.output)}
    assert len(types) == 11 and types["union"]["n"] == 67
    assert types["union"]["GA_published"] is None


def test_summary_errors(metric_seeded):
    runner = metric_seeded.test_cli_runner()
    result = runner.invoke(args=["metric", "summary", "--round", "1999"])
    assert result.exit_code != 0 and "not in the database" in result.output
    result = runner.invoke(args=["metric", "summary", "--round", "2019"])
    assert result.exit_code != 0 and "flask metric import" in result.output


def test_compare_command(metric_app, tmp_path):
    import_file(metric_app, write_synthetic_2019(tmp_path / "r2019.csv"), 2019)
    runner = metric_app.test_cli_runner()
    result = runner.invoke(
        args=["metric", "compare", "--from", "2017", "--to", "2019", "--by", "state",
              "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "Matched institutions: 4; entered: 1; left: 904" in result.output
    payload = json.loads(result.output[result.output.index("["):])
    by_key = {r["key"]: r for r in payload}
    assert by_key["01"]["n_matched"] == 2 and by_key["01"]["entered"] == 1
    assert by_key["22"]["n_matched"] == 1 and by_key["22"]["GA_after"] == 1.0
