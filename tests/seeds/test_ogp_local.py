"""The programme after 2019 (Durango's later plans, the State of Mexico's first) and OGP Local:
plans with their programme, commitments with OGP ids, End of Commitment levels as assessments
(published or inferred with the reasoning), unknown left unknown, every row cited, bad input
refused with file, row and field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import ActionPlan, Assessment, AuditEvent, Commitment, SourceLink
from seeds import ogp_local as ogp_module
from tests.seeds.seed_files import assert_refused, use_cell


def _plans(cve: str, programme: str) -> list[ActionPlan]:
    return db.session.scalars(
        select(ActionPlan)
        .where(ActionPlan.state_cve == cve, ActionPlan.programme == programme)
        .order_by(ActionPlan.id)
    ).all()


def _commitment(ogp_id: str) -> Commitment:
    return db.session.scalars(select(Commitment).where(Commitment.ogp_id == ogp_id)).one()


def test_durango_and_the_state_of_mexico_after_2019(seeded_app):
    with seeded_app.app_context():
        durango = _plans("10", "inai_cocreacion")
        assert [p.key for p in durango] == ["local-10-2015", "local-10-2017-2019", "local-10"]
        second, third = durango[1], durango[2]
        assert (second.period_start, second.period_end, second.commitments_published) == (
            2017, 2019, 8)
        assert [c.title for c in second.commitments][:2] == [
            "Transparencia en el Sistema de Compras Gubernamentales", "Ruta Azul"]
        assert len(second.commitments) == 8
        assert all(c.source.startswith("idaip-gobiernoabierto-1149") for c in second.commitments)
        # The third plan: nine commitments published; the seven titles the IDAIP page prints
        # (numbered in the page's order, the seventh cut in the stored copy); none invented.
        assert third.commitments_published == 9 and len(third.commitments) == 7
        assert third.commitments[0].responsible == "Ayuntamiento de Tepehuanes"
        assert third.commitments[6].title.startswith("Rescate de Espacios Públicos pa… [título")
        assert "Gómez Palacio" in third.notes and third.published_date is None

        (mexico,) = _plans("15", "inai_cocreacion")
        assert (mexico.commitments_published, mexico.proactive_published) == (None, 3)
        assert [(c.label, c.title, c.responsible) for c in mexico.commitments] == [
            ("P1", "Decide Ieem", "IEEM"),
            ("P2", "Círculos restaurativos para Centros de Asistencia Social",
             "Poder Judicial del Estado de México"),
            ("P3", "Cultura de Gobierno Abierto", "Infoem"),
        ]


def test_ogp_local_plans_commitments_and_levels(seeded_app):
    with seeded_app.app_context():
        plans = db.session.scalars(
            select(ActionPlan).where(ActionPlan.programme == "ogp_local")
        ).all()
        assert len(plans) == 8 and all(p.scope == "local" for p in plans)
        by_state = sorted(p.state_cve for p in plans)
        assert by_state == ["08", "14", "14", "15", "15", "19", "19", "19"]
        titles = {p.title for p in plans}
        assert "Action plan – Tlalnepantla de Baz, Mexico, 2021 – 2023" in titles
        # Jalisco's 2016-2018 plan is the INAI local plan, not loaded a second time.
        assert len(_plans("14", "inai_cocreacion")) == 1
        assert not any("2016" in p.title for p in _plans("14", "ogp_local"))

        ids = set(db.session.scalars(
            select(Commitment.ogp_id).join(ActionPlan)
            .where(ActionPlan.programme == "ogp_local", Commitment.ogp_id.is_not(None))
        ))
        assert {"JAL0008", "JAL0015", "MXJL0003", "MXMEX0009", "MXTDB0004", "MXCHH0003"} <= ids
        # JAL0001-JAL0005 belong to the INAI local plan of 2016-2018, not to OGP Local's.
        assert "JAL0001" not in ids
        assert "MXNLE0001" in ids  # dataLABNL, appended to ogp_local_commitments.csv
        assert len(ids) == 21

        # Page and End of Commitment Report merged into one commitment citing both.
        mxjl3 = _commitment("MXJL0003")
        assert mxjl3.title.startswith("Harmonization, unification")
        assert mxjl3.source.count(" | ") == 1
        (level,) = mxjl3.assessments
        assert (level.framework, level.aspect, level.value, level.basis) == (
            "ogp-local-eoc", "completion", "complete", "published")
        assert "end-of-commitment-report-harmonization" in level.source
        assert "74 contributions" in level.source  # the explanation quote is kept

        # An EoC that names no id: the match is inferred, with its reasoning.
        (inferred,) = _commitment("MXTDB0005").assessments
        assert (inferred.value, inferred.basis) == ("limited", "inferred")
        assert "MXTDB0005" in inferred.reasoning

        # No level printed in the report: unknown, no assessment.
        assert _commitment("MXMEX0009").assessments == []
        assert _commitment("MXJL0001").assessments == []
        assert _commitment("JAL0010").themes[0].theme == "Justice"

        # Every OGP Local row is linked to a registered source.
        for model in (ActionPlan, Commitment, Assessment):
            linked = set(db.session.scalars(
                select(SourceLink.entity_id).where(SourceLink.entity == model.__tablename__)
            ))
            ogp_rows = db.session.scalars(select(model)).all()
            for obj in ogp_rows:
                plan = obj if isinstance(obj, ActionPlan) else (
                    obj.plan if isinstance(obj, Commitment) else obj.commitment.plan)
                if plan.programme == "ogp_local":
                    assert str(obj.id) in linked, obj


def test_loading_twice_changes_nothing(seeded_app):
    with seeded_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        (report,) = run_loaders(["ogp_local"])
        assert not report.changed
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize(
    ("csv_name", "row_index", "field", "value", "message"),
    [
        ("COMMITMENTS_CSV", 0, "ogp_id", "MX-12", "ogp_local_commitments.csv, row 2, "
         "field 'ogp_id'"),
        ("PLANS_CSV", 1, "cve_ent", "99", "ogp_local_plans.csv, row 3, field 'cve_ent'"),
        ("ASSESSMENTS_CSV", 0, "value", "mostly done", "ogp_local_assessments.csv, row 2, "
         "field 'value'"),
        ("ASSESSMENTS_CSV", 1, "reasoning", "", "ogp_local_assessments.csv, row 3, "
         "field 'reasoning'"),
    ],
)
def test_bad_input_names_file_row_and_field_and_stores_nothing(
    states_app, tmp_path, monkeypatch, csv_name, row_index, field, value, message
):
    use_cell(monkeypatch, tmp_path, ogp_module, csv_name, row_index, field, value)
    with states_app.app_context():
        assert_refused("ogp_local", message)
        count = select(func.count()).select_from(ActionPlan)
        assert db.session.scalar(count) == 0
