"""The national seed: plan 4's 13 commitments with the OGP page's themes, the 2011-2012
extended plan's 36 commitments with the civil-society grades, findings as Assessment rows."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import ActionPlan, Assessment, AuditEvent, Commitment, CommitmentTheme, SourceLink
from seeds import national as national_module
from seeds.base import SeedError
from tests.conftest import shared_path

# In ../shared/sources, looked up when a test runs (skipped when ../shared is absent).
OGP_PAGE = ("sources", "001_*.txt")
OSC_REPORT = ("sources", "003_*.txt")


def _plan(key: str) -> ActionPlan:
    return db.session.scalars(select(ActionPlan).where(ActionPlan.key == key)).one()


def _grades(commitment: Commitment, framework: str) -> dict[str, str]:
    return {a.aspect: a.value for a in commitment.assessments if a.framework == framework}


def test_plan_4_has_its_13_commitments_with_the_ogp_page_titles_and_themes(seeded_app):
    # Read the source independently of the seed file.
    page = shared_path(*OGP_PAGE).read_text(encoding="utf-8")
    expected = {
        m.group(3): (m.group(2).strip(), m.group(4).strip())
        for m in re.finditer(r"\n\s+(\d+)\. (.+?)\n\n\s+(MX\d{4}), 2019, (.*)\n", page)
    }
    assert sorted(expected) == [f"MX{n:04d}" for n in range(75, 88)]
    with seeded_app.app_context():
        plan = _plan("mx-4")
        assert (plan.scope, plan.number, plan.period_start, plan.period_end) == (
            "national", 4, 2019, 2021)
        assert plan.commitments_published == 13
        got = {c.ogp_id: (c.title, [t.theme for t in c.themes]) for c in plan.commitments}
        assert {k: (v[0], [v[1]]) for k, v in expected.items()} == got
        assert [c.number for c in plan.commitments] == list(range(1, 14))


def test_plan_4_findings_are_assessments_with_sources(seeded_app):
    with seeded_app.app_context():
        by_id = {c.ogp_id: c for c in _plan("mx-4").commitments}
        results = {k: _grades(c, "irm-results-2019-2022") for k, c in by_id.items()}
        assert results["MX0084"]["completion"] == "complete"
        assert {k for k, g in results.items() if g.get("status") == "inactive"} == {
            "MX0075", "MX0079", "MX0083"}
        assert _grades(by_id["MX0076"], "irm-commitment-page") == {
            "early_results": "significant", "ambition": "high"}
        assert by_id["MX0075"].responsible == "SFP"
        assert by_id["MX0075"].counterpart == "GESOC, Transparencia Mexicana, FUNDAR"
        # Commitments the sources say nothing about stay unknown.
        assert by_id["MX0077"].responsible is None
        assert not by_id["MX0077"].assessments
        assert all(a.source for c in by_id.values() for a in c.assessments)


def test_extended_plan_has_36_commitments_graded_as_the_report_counts(seeded_app):
    table = shared_path(*OSC_REPORT).read_text(encoding="utf-8")
    assert "of the 36 commitments, 21 had a global" in " ".join(table.split())
    with seeded_app.app_context():
        plan = _plan("mx-2011-ampliado")
        assert [c.number for c in plan.commitments] == list(range(1, 37))
        overall = Counter()
        for c in plan.commitments:
            grades = _grades(c, "osc-2012")
            overalls = [v for k, v in grades.items() if k.rpartition(":")[2] == "overall"]
            assert overalls, c.title
            overall.update(overalls)
            assert len(grades) in (6, 12)  # five aspects + overall, per evaluated part
            assert set(grades.values()) <= {"total", "partial", "null"}
        # The report: 21 total, 15 partial, 2 null (over the 38 graded rows).
        assert overall == Counter(total=21, partial=15, null=2)
        first = plan.commitments[0]
        assert (first.label, first.title, [t.theme for t in first.themes]) == (
            "41", "Public servants", ["Improving public services"])
        tenders = plan.commitments[15]
        assert tenders.label == "45a y 45b"
        assert _grades(tenders, "osc-2012")["45a:overall"] == "null"
        assert _grades(tenders, "osc-2012")["45b:overall"] == "partial"
        inquiries = plan.commitments[28]
        assert inquiries.responsible == "Attorney General's Office (PGR)"
        assert inquiries.counterpart == "ARTICLE 19"


def test_loading_twice_adds_no_events(app):
    with app.app_context():
        first = run_loaders(["states", "national"])[1]
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        with_themes = db.session.scalar(
            select(func.count(func.distinct(CommitmentTheme.commitment_id)))
        )
        # One event per created row, plus one per commitment for its themes (and the states';
        # the source registry's rows and each record's links to it have their own events).
        seeded = db.session.scalar(
            select(func.count()).where(AuditEvent.entity.not_in(("source", "source_link")))
        )
        links = db.session.scalar(select(func.count()).select_from(SourceLink))
        assert db.session.scalar(select(func.count()).where(
            AuditEvent.entity == "source_link")) == links > 0
        assert seeded == first.created + with_themes + 32
        # Every event of a commitment's record carries its commitment_id.
        assert not db.session.scalar(
            select(func.count()).where(
                AuditEvent.entity.in_(("commitment", "assessment")),
                AuditEvent.commitment_id.is_(None),
            )
        )
        second = run_loaders(["national"])[0]
        assert (second.created, second.updated) == (0, 0)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_bad_grade_is_refused_with_file_row_and_field(states_app, tmp_path, monkeypatch):
    source = national_module.ASSESSMENTS_CSV
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    index = next(i for i, r in enumerate(rows) if r["framework"] == "osc-2012")
    rows[index]["value"] = "TC"
    path = tmp_path / source.name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setattr(national_module, "ASSESSMENTS_CSV", path)
    with states_app.app_context():
        with pytest.raises(SeedError, match=rf"row {index + 2}, field 'value'"):
            run_loaders(["national"])
        assert not db.session.scalar(select(func.count()).select_from(Assessment))
