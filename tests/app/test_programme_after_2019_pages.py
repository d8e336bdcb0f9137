"""Durango's later plans and OGP Local on the pages, each with its programme; the best
institution of each state in 2017 as published, beside what is computed, with its source."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan
from tests.app.metric_fixtures import bso_path, import_file


def test_state_pages_and_plans_list_label_each_plan_with_its_programme(seeded_app):
    client = seeded_app.test_client()
    durango = client.get("/states/10").get_data(as_text=True)
    assert "Segundo Plan de Acción Local 2017-2019" in durango
    assert "Tercer Plan de Acción Local" in durango
    assert "Ruta Azul" in durango
    assert "Programa: Cocreación desde lo Local (INAI)" in durango
    nuevo_leon = client.get("/states/19").get_data(as_text=True)
    assert "Action plan – Monterrey, Mexico, 2022 – 2024" in nuevo_leon
    assert "Programa: OGP Local" in nuevo_leon

    ogp = client.get("/plans?programme=ogp_local").get_data(as_text=True)
    assert "Action plan – San Pedro Garza García, Mexico, 2022 – 2024" in ogp
    assert "Segundo Plan de Acción Local" not in ogp
    inai = client.get("/plans?programme=inai_cocreacion").get_data(as_text=True)
    assert "Segundo Plan de Acción Local 2017-2019" in inai
    assert "Action plan – Monterrey" not in inai

    with seeded_app.app_context():
        plan_id = db.session.scalar(
            select(ActionPlan.id).where(ActionPlan.key == "ogp-local-14-2021-2024"))
    plan = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "<dt>Programa</dt>" in plan and "OGP Local</a>" in plan
    assert "Harmonization, unification" in plan


def test_commitment_page_shows_the_end_of_commitment_level_and_inferences(seeded_app):
    from app.models import Commitment

    client = seeded_app.test_client()
    with seeded_app.app_context():
        ids = dict(db.session.execute(
            select(Commitment.ogp_id, Commitment.id).where(
                Commitment.ogp_id.in_(("MXJL0003", "MXTDB0005", "MXMEX0009")))).all())
    complete = client.get(f"/commitments/{ids['MXJL0003']}").get_data(as_text=True)
    assert "Informe de fin de compromiso (OGP Local)" in complete
    assert "Completo" in complete and "MXJL0003" in complete
    inferred = client.get(f"/commitments/{ids['MXTDB0005']}").get_data(as_text=True)
    assert "Limitado" in inferred and "Inferido" in inferred
    assert "su título es idéntico" in inferred
    unknown = client.get(f"/commitments/{ids['MXMEX0009']}").get_data(as_text=True)
    assert "Informe de fin de compromiso (OGP Local)" not in unknown


def test_best_institution_of_2017_on_the_state_and_round_pages(seeded_app):
    import_file(seeded_app, bso_path(), 2017)
    client = seeded_app.test_client()
    html = client.get("/states/09").get_data(as_text=True)
    start = html.index('id="best-institution-h"')
    section = html[start:html.index("</section>", start)]
    assert "Coyoacán" in section and "Municipio" in section
    assert "0.90" in section and "0.8953" in section  # as published, and computed here
    assert "Resumen Ejecutivo" in section and "REx.pdf" in section  # cited, linked
    tabasco = client.get("/states/27").get_data(as_text=True)
    start = tabasco.index('id="best-institution-h"')
    section = tabasco[start:tabasco.index("</section>", start)]
    assert "Universidad Popular De La Chontalpa" in section
    assert "sin institución coincidente" in section
    round_page = client.get("/metric/2017").get_data(as_text=True)
    assert 'id="best-institutions"' in round_page and "PGR" in round_page
