"""The local seed: every state of the facts with its stage and source, plans and commitments,
partial dates kept, an audit trail, idempotent, bad input refused with file, row and field."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    DataRevision,
    LocalExercise,
    ProgrammeCount,
    StlMember,
)
from seeds import local as local_module
from seeds.local import derive_stage
from tests.conftest import shared_path
from tests.seeds.seed_files import assert_refused, edited_copy, use_cell


def _facts(name: str) -> list[dict[str, str]]:
    """Rows of ../shared/facts/local/<name>; skips the test when ../shared is absent."""
    with shared_path("facts", "local", name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _revision(dataset: str) -> int:
    row = db.session.get(DataRevision, dataset)
    return row.revision if row else 0


def _count(model: type, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.parametrize(
    ("kwargs", "stage"),
    [
        ({"has_plan": True, "stl_installed_date": None, "declaration_date": None,
          "status_text": None}, "plan"),
        ({"has_plan": False, "stl_installed_date": "2015-04", "declaration_date": "2015",
          "status_text": None}, "secretariat"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": "Secretariado Técnico Local instalado (entre los 18)"}, "secretariat"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": "2016-06-20",
          "status_text": "En proceso de definición de representantes"}, "declaration"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": "SE INTEGRÓ AL SISTEMA en 2016"}, "declaration"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": "no han firmado la declaratoria"}, "none"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": "aún sin impulsar transparencia a través de iniciativa del INAI"}, "none"),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": None}, None),
        ({"has_plan": False, "stl_installed_date": None, "declaration_date": None,
          "status_text": "un estatus que no dice nada de la etapa"}, None),
    ],
)
def test_stage_rule(kwargs, stage):
    assert derive_stage(**kwargs) == stage


def test_a_plan_outranks_everything_else():
    assert derive_stage(
        has_plan=True, stl_installed_date=None, declaration_date=None,
        status_text="no han firmado la declaratoria",
    ) == "plan"


# States whose row programme_facts_2015_2019.csv completes (declaration and STL dates).
COMPLETED_LATER = {"16", "32"}  # Michoacán, Zacatecas


def test_every_state_of_the_facts_has_its_stage_dates_and_source(seeded_app):
    facts = _facts("exercises.csv")
    planned = {row["cve_ent"] for row in _facts("plans.csv")}
    with seeded_app.app_context():
        rows = {e.state_cve: e for e in db.session.scalars(select(LocalExercise))}
        assert set(rows) == {row["cve_ent"] for row in facts}
        for row in facts:
            ex = rows[row["cve_ent"]]
            if row["cve_ent"] in COMPLETED_LATER:
                assert ex.source.startswith(row["source"] + " | ")
                continue
            assert ex.source == row["source"]
            # Partial dates stay at the precision the source gives.
            assert ex.declaration_date == (row["declaration_date"] or None)
            assert ex.stl_installed_date == (row["stl_installed_date"] or None)
            assert ex.status_as_of == (row["status_as_of"] or None)
            if row["cve_ent"] in planned:
                assert ex.stage == "plan"
        assert rows["04"].stage == "plan"  # Campeche
        assert rows["02"].stage == "secretariat"  # STL installed per the status
        assert rows["19"].stage == "secretariat"  # Nuevo León: STL date, no plan
        # Guanajuato: its plan was presented on 6 July 2019 (programme_facts_2015_2019.csv).
        assert rows["11"].stage == "plan"
        assert rows["09"].stage == "declaration"  # "se integró al sistema"
        assert rows["03"].stage == "none"  # "no han firmado"
        assert rows["01"].status_as_of == "2019-01"
        assert rows["03"].status_as_of == "2017"
        # Later facts kept at their precision, each cited beside the first source.
        zacatecas, michoacan = rows["32"], rows["16"]
        assert (zacatecas.declaration_date, zacatecas.stl_installed_date) == ("2015-07", "2015-09")
        assert (michoacan.declaration_date, michoacan.stl_installed_date) == ("2016", "2017-06")
        assert "conexion58-firma-alonso-convenio-inai" in rows["32"].source
        assert rows["16"].status_as_of == "2019-01-21"


def test_members_plans_commitments_and_counts_are_carried_over(seeded_app):
    with seeded_app.app_context():
        assert _count(StlMember) == len(_facts("stl_members.csv"))
        inai = ActionPlan.programme == "inai_cocreacion"
        # plans.csv, plus Durango's second and third plans and the State of Mexico's first
        # (cocreacion_after_2019.csv), Guanajuato's (July 2019) and Sinaloa's plans
        # (programme_facts_2015_2019.csv); titled commitments: Durango's second (8) and third
        # (7 of 9), the State of Mexico's (3), Jalisco's in English (5) and Sinaloa's first (1).
        assert _count(ActionPlan, ActionPlan.scope == "local", inai) == len(
            _facts("plans.csv")
        ) + 3 + 2
        local = select(ActionPlan.id).where(ActionPlan.scope == "local", inai)
        assert _count(Commitment, Commitment.plan_id.in_(local)) == len(
            _facts("commitments.csv")
        ) + 8 + 7 + 3 + len(_facts("jalisco_plan1_commitments.csv")) - 1 + 1
        # counts.csv, plus the later headline count of cocreacion_after_2019.csv
        later = [r for r in _facts("cocreacion_after_2019.csv")
                 if r["fact_type"] == "headline_counts"]
        assert _count(ProgrammeCount) == len(_facts("counts.csv")) + len(later)
        latest = db.session.scalars(
            select(ProgrammeCount).where(ProgrammeCount.as_of == "2019")
        ).one()
        assert (latest.states_joined, latest.plans_published, latest.commitments) == (28, 12, 71)
        coahuila = db.session.scalars(
            select(ActionPlan).where(ActionPlan.key == "local-05-2016")
        ).one()
        assert (coahuila.commitments_published, coahuila.proactive_published) == (6, 1)
        numbers = [(c.number, c.label) for c in coahuila.commitments]
        assert numbers == [(1, None), (2, None), (3, None), (4, None), (5, None), (6, None),
                           (7, "P1")]
        zacatecas = db.session.scalars(
            select(ActionPlan).where(ActionPlan.state_cve == "32")
        ).one()
        assert zacatecas.published_date is None and len(zacatecas.commitments) == 6
        assert all(c.source for c in db.session.scalars(select(Commitment)))


def test_every_change_is_audited_and_loading_twice_adds_nothing(app):
    with app.app_context():
        first = run_loaders(["states", "local"])[1]
        events = _count(AuditEvent)
        not_local = AuditEvent.entity.not_in(("state", "source", "source_link"))
        assert _count(AuditEvent, not_local) == first.created
        assert _count(AuditEvent, AuditEvent.actor != "seed") == 0
        # Per-state and per-commitment feeds are single queries on these columns.
        assert _count(AuditEvent, AuditEvent.entity == "local_exercise",
                      AuditEvent.state_cve.is_(None)) == 0
        commitments = _count(Commitment)
        assert _count(AuditEvent, AuditEvent.entity == "commitment",
                      AuditEvent.commitment_id.is_not(None)) == commitments
        revision = _revision("local")
        second = run_loaders(["local"])[0]
        assert (second.created, second.updated) == (0, 0)
        assert _count(AuditEvent) == events
        assert _revision("local") == revision


def test_a_corrected_fact_is_an_update_with_before_and_after(app, tmp_path, monkeypatch):
    with app.app_context():
        run_loaders(["states", "local"])
        revision = _revision("local")

        def edit(rows):
            rows[3]["facilitator"] = "Nombre corregido (prueba sintética)"

        path = edited_copy(tmp_path, local_module.EXERCISES_CSV, edit)
        monkeypatch.setattr(local_module, "EXERCISES_CSV", path)
        report = run_loaders(["local"])[0]
        assert report.updated == 1
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "update")
        ).one()
        assert event.entity == "local_exercise" and event.state_cve == "04"
        assert event.before == {"facilitator": "Mtro. Andrés Hofmann Furth – Consultor "
                                "especializado en Gobierno Abierto"}
        assert event.after == {"facilitator": "Nombre corregido (prueba sintética)"}
        assert _revision("local") == revision + 1


@pytest.mark.parametrize(
    ("csv_name", "row_index", "field", "value", "message"),
    [
        ("EXERCISES_CSV", 4, "declaration_date", "2016-02-30", "local_exercises.csv, row 6, "
         "field 'declaration_date'"),
        ("EXERCISES_CSV", 0, "status_as_of", "enero 2019", "local_exercises.csv, row 2, "
         "field 'status_as_of'"),
        ("EXERCISES_CSV", 1, "state_name", "Baja California Norte", "field 'state_name'"),
        ("MEMBERS_CSV", 2, "sector", "empresa", "local_stl_members.csv, row 4, field 'sector'"),
        ("COMMITMENTS_CSV", 0, "plan_period", "2030", "local_commitments.csv, row 2, "
         "field 'plan_period'"),
        ("PLANS_CSV", 0, "commitments_count", "seis", "local_plans.csv, row 2, "
         "field 'commitments_count'"),
        ("COUNTS_CSV", 0, "source", "", "local_counts.csv, row 2, field 'source'"),
        ("COUNTS_CSV", 1, "key", "2016-agentes", "local_counts.csv, row 3, field 'key'"),
        ("COUNT_PLANS_CSV", 0, "role", "inside", "local_count_plans.csv, row 2, field 'role'"),
        ("COUNT_PLANS_CSV", 3, "plan_key", "local-99", "local_count_plans.csv, row 5, "
         "field 'plan_key'"),
        ("COUNT_PLANS_CSV", 4, "reasoning", "", "local_count_plans.csv, row 6, "
         "field 'reasoning'"),
        ("COMMITMENTS_CSV", 0, "title_es", "", "local_commitments.csv, row 2, field 'title_es'"),
    ],
)
def test_bad_input_names_file_row_and_field_and_stores_nothing(
    states_app, tmp_path, monkeypatch, csv_name, row_index, field, value, message
):
    use_cell(monkeypatch, tmp_path, local_module, csv_name, row_index, field, value)
    with states_app.app_context():
        assert_refused("local", message)
        assert _count(LocalExercise) == 0
        assert _count(AuditEvent, AuditEvent.entity.not_in(("state", "source", "source_link"))) == 0
