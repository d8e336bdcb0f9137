"""In the browser (Spanish, Chromium): a coder codes one institution, a reviewer settles one
disagreement, and a coordinator freezes and publishes a round, which then shows on the map and
in the comparison with 2017 over the institutions both share. Screenshots in test-output/.

Every round here is SYNTHETIC (tests/metrics/fieldwork_data.py); 2017 is the real round.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.metric.fieldwork import service
from app.models import FieldworkObservation, Institution
from metrics.fieldwork import Answer, load_instruments
from tests.app import fieldwork_fixtures, metric_fixtures
from tests.app.fieldwork_fixtures import A_KEY, B_KEY, PASSWORD, YEAR, enter, fw, user
from tests.metrics.fieldwork_data import B_ANSWERS, TEMPLATE, best_answers

pytestmark = pytest.mark.browser
metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app
fieldwork_app = fieldwork_fixtures.fieldwork_app

EVIDENCE = "https://example.org/SYNTHETIC/portal-de-transparencia"


def _sign_in(page, live_server: str, who: str) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/login")
    page.get_by_label("Correo electrónico").fill(f"{who}@example.org")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live_server}/")
    assert f"SYNTHETIC {who}" in page.locator("header").inner_text()


def test_a_coder_codes_one_institution(fieldwork_app, live_server, page, screenshot_dir):
    page.set_viewport_size({"width": 1280, "height": 1000})
    _sign_in(page, live_server, "coder1")
    page.get_by_role("link", name="Trabajo de campo").first.click()
    page.get_by_role("link", name="Mis instituciones").click()
    row = page.locator("#mine tr", has_text="SYNTHETIC institution B")
    assert "0 de 35 reactivos" in row.inner_text()
    with page.expect_navigation():  # the next page, not the one clicked on
        row.get_by_role("link", name="SYNTHETIC institution B").click()
    assert page.locator("h1").inner_text() == "SYNTHETIC institution B"

    for (item, occasion), answer in B_ANSWERS.items():
        group = page.locator(f"fieldset[id='{item.replace('.', '-')}-{occasion}']")
        group.get_by_label("Respuesta").select_option(answer.value)
        if answer.sent_on:
            group.get_by_label("Enviada el").fill(answer.sent_on.isoformat())
            group.get_by_label("Folio en la Plataforma Nacional de Transparencia").fill(
                "330000000001")
        if answer.answered_on:
            group.get_by_label("Respondida el").fill(answer.answered_on.isoformat())
    first = page.locator("fieldset[id='TG-access_info-unit-1']")
    first.get_by_label("Evidencia: dirección (URL)").fill(EVIDENCE)
    first.get_by_label("Evidencia: archivo").fill("SYNTHETIC-captura-portal.png")
    # The scale is the instruments': an ordinal item offers its levels' labels.
    actors = page.locator("fieldset[id='PG-actors-who-1']").get_by_label("Respuesta")
    assert "Personas u organizaciones invitadas" in actors.inner_text()
    page.screenshot(path=str(screenshot_dir / "fieldwork-capture-before.png"), full_page=True)
    first.screenshot(path=str(screenshot_dir / "fieldwork-capture-item.png"))
    page.get_by_role("button", name="Guardar respuestas").click()
    page.wait_for_load_state()
    assert "Guardado: 35 respuestas nuevas" in page.locator(".flash").inner_text()
    assert "35 de 35 reactivos" in page.locator("#answered").inner_text()
    # The speeds, in business days against the round's deadline.
    speed = page.locator("fieldset[id='TC-speed-days-1'] .speed").inner_text()
    assert "Respondida en 3 días hábiles" in speed and "a tiempo" in speed
    assert "Día de la Constitución" in speed
    late = page.locator("fieldset[id='TC-speed-days-2'] .speed").inner_text()
    assert "declarada sin respuesta" in late
    proposal = page.locator("fieldset[id='PC-speed-days-1'] .speed").inner_text()
    assert "Respondida en 12 días hábiles" in proposal
    page.screenshot(path=str(screenshot_dir / "fieldwork-capture-saved.png"), full_page=True)
    page.locator("fieldset[id='TC-speed-days-1']").screenshot(
        path=str(screenshot_dir / "fieldwork-capture-speed.png"))

    with page.expect_navigation():  # the next page, not the one clicked on
        page.get_by_role("link", name="Volver a mis instituciones").click()
    assert "35 de 35 reactivos" in page.locator("#mine tr", has_text="institution B").inner_text()
    with fieldwork_app.app_context():
        rows = db.session.scalars(select(FieldworkObservation).where(
            FieldworkObservation.coder_id == user("coder1").id)).all()
        assert len(rows) == 35
        assert {r.evidence_url for r in rows if r.item == "TG.access_info.unit"} == {EVIDENCE}
    assert page.blocked_requests == []


def test_a_reviewer_settles_one_disagreement(fieldwork_app, live_server, page, screenshot_dir):
    with fieldwork_app.app_context():
        best = best_answers(service.instruments_of(fw()))
        enter("coder1", A_KEY, best)
        enter("coder2", A_KEY, best)
        enter("coder1", B_KEY, B_ANSWERS)
        enter("coder2", B_KEY, {**B_ANSWERS, ("PG.actors.who", 1): Answer("open")})
        db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, "reviewer")
    page.get_by_role("link", name="Trabajo de campo").first.click()
    with page.expect_navigation():  # the next page, not the one clicked on
        page.get_by_role("link", name="Discrepancias").click()
    assert "1 sin conciliar de 1" in page.locator("#open-count").inner_text()
    row = page.locator("#disagreements tbody tr")
    text = row.inner_text()
    assert "SYNTHETIC institution B" in text and "Quiénes pueden participar" in text
    assert "Personas u organizaciones invitadas" in text and "Cualquier persona interesada" in text
    page.screenshot(path=str(screenshot_dir / "fieldwork-disagreements.png"), full_page=True)
    row.get_by_role("link", name="Conciliar").click()
    page.get_by_label("Respuesta").select_option(label="Personas u organizaciones invitadas")
    page.get_by_role("button", name="Guardar la conciliación").click()
    page.wait_for_load_state()
    assert "es obligatorio" in page.locator(".field-error").first.inner_text()  # no reason
    page.get_by_label("Motivo").fill("El acta SYNTHETIC de la sesión nombra a los invitados.")
    page.screenshot(path=str(screenshot_dir / "fieldwork-settle.png"), full_page=True)
    page.get_by_role("button", name="Guardar la conciliación").click()
    page.wait_for_url(f"**/fieldwork/{YEAR}/disagreements")
    assert "0 sin conciliar de 1" in page.locator("#open-count").inner_text()
    assert "El acta SYNTHETIC de la sesión" in page.locator("#disagreements").inner_text()
    page.screenshot(path=str(screenshot_dir / "fieldwork-settled.png"), full_page=True)
    # A reviewer does not run the round.
    assert page.goto(f"{live_server}/fieldwork/{YEAR}/manage").status == 403
    assert page.blocked_requests == []


def test_a_frozen_round_shows_on_the_map_and_in_the_comparison_with_2017(
    metric_app, live_server, page, screenshot_dir
):
    """Three institutions: two of the real 2017 file (Coyoacán, the ASF) and a SYNTHETIC one,
    coded at their best by a SYNTHETIC coder; the coordinator freezes and publishes."""
    shared = ["municipal:09:coyoacan", "federal:fed:asf"]
    with metric_app.app_context():
        s = db.session
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records")[:1])
        assert s.scalar(select(func.count()).select_from(Institution).where(
            Institution.key.in_(shared))) == 2
        service.create_round(s, user("admin"), year=YEAR, label="SYNTHETIC round 2026",
                             source="SYNTHETIC test round",
                             instruments=dict(load_instruments(TEMPLATE).raw), requests=1,
                             coordinators=[user("coord")])
        round_, coord = fw(), user("coord")
        service.add_member(s, coord, round_, user("coder1"), "coder")
        service.draw_sample(s, coord, round_, listed=[*shared, A_KEY])
        service.assign_coders(s, coord, round_, [user("coder1")])
        best = best_answers(service.instruments_of(round_))
        for key in (*shared, A_KEY):
            enter("coder1", key, best)
        s.commit()
    page.set_viewport_size({"width": 1280, "height": 1000})
    _sign_in(page, live_server, "coord")
    page.goto(f"{live_server}/fieldwork/{YEAR}/manage")
    assert page.locator("#not-ready").count() == 0
    assert "3" in page.locator("#avance-state").inner_text()
    page.get_by_label("Confirmo que la ronda 2026 queda congelada").check()
    page.screenshot(path=str(screenshot_dir / "fieldwork-manage.png"), full_page=True)
    page.get_by_role("button", name="Congelar la ronda").click()
    page.wait_for_load_state()
    assert "congelada con 3 instituciones" in page.locator(".flash").inner_text()
    page.get_by_role("button", name="Publicar la ronda").click()
    page.wait_for_load_state()
    closing = page.locator("section[aria-labelledby='cierre']").inner_text()
    assert "Marque la casilla para confirmar" in closing
    page.get_by_label("Confirmo que los resultados de la ronda 2026 se publiquen").check()
    page.get_by_role("button", name="Publicar la ronda").click()
    page.wait_for_url(f"**/fieldwork/{YEAR}")
    components = page.locator("#components").inner_text()
    assert "Celeridad de la respuesta" in components
    page.screenshot(path=str(screenshot_dir / "fieldwork-published.png"), full_page=True)

    # The map of 2026: Ciudad de México (Coyoacán) and Aguascalientes (the SYNTHETIC state
    # institution) have a value, the ASF is federal and left out.
    page.goto(f"{live_server}/map?round={YEAR}&index=GA")
    page.wait_for_selector("path.map-shape")
    assert page.locator("select[name=round] option:checked").inner_text() == str(YEAR)
    assert "2 de 32 estados con datos" in page.content()
    row = page.locator("#values tbody tr", has_text="Ciudad de México").inner_text()
    assert "1.00" in row
    page.screenshot(path=str(screenshot_dir / "fieldwork-map.png"), full_page=True)

    # The comparison with 2017 runs over the two institutions both rounds have.
    page.goto(f"{live_server}/metric/compare?from=2017&to={YEAR}&lang=es")
    stats = page.locator("dl.stats")
    matched = stats.locator("div", has_text="Instituciones en ambas rondas").locator("dd")
    assert matched.inner_text() == "2"
    assert stats.locator("div", has_text="Entraron en 2026").locator("dd").inner_text() == "1"
    page.screenshot(path=str(screenshot_dir / "fieldwork-compare-2017.png"), full_page=True)
    # The public round page links to both, and to its methodology.
    page.goto(f"{live_server}/fieldwork/{YEAR}")
    assert page.get_by_role("link", name="Comparación con 2017 sobre las instituciones de "
                                          "ambas rondas").count() == 1
    assert page.blocked_requests == []
