"""A SYNTHETIC fieldwork round run from the browser's side (Flask's test client): set-up pages,
capture, reconciliation, freezing and publishing, with the same numbers as the command line;
roles and scoping checked on every page; conflicts and refusals said in the reader's language.

Everything here is made up (tests/metrics/fieldwork_data.py): two SYNTHETIC institutions whose
answers give known component scores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.metric.fieldwork import service
from app.models import FieldworkObservation, MetricRound, MetricScore
from metrics.fieldwork import Answer, load_instruments
from tests.app import fieldwork_fixtures, metric_fixtures
from tests.app.editing_fixtures import login
from tests.app.fieldwork_fixtures import A_KEY, B_KEY, YEAR, enter, fw, institution, user
from tests.metrics.fieldwork_data import (
    B_ANSWERS,
    EXPECTED_B,
    INDICES,
    TEMPLATE,
    best_answers,
    instruments,
)

metric_seeded = metric_fixtures.metric_seeded
fieldwork_app = fieldwork_fixtures.fieldwork_app

DISPUTED = ("PG.actors.who", 1)
EVIDENCE = "https://example.org/SYNTHETIC/evidencia"
OTHER_EVIDENCE = "https://example.org/SYNTHETIC/otra-evidencia"


@pytest.fixture
def bare_round(metric_seeded: Flask) -> Flask:
    """Accounts, the two SYNTHETIC institutions and round 2026 set up (two requests, one
    proposal) with its coordinator only: members, sample and assignments come from the pages."""
    with metric_seeded.app_context():
        fieldwork_fixtures.make_accounts()
        fieldwork_fixtures.make_institutions(
            fieldwork_fixtures.institutions().to_dict("records"))
        service.create_round(
            db.session, user("admin"), year=YEAR, label="SYNTHETIC fieldwork round 2026",
            source="SYNTHETIC test round", instruments=dict(load_instruments(TEMPLATE).raw),
            requests=2, proposals=1, seed=7, coordinators=[user("coord")])
        db.session.commit()
    return metric_seeded


def signed_in(app: Flask, who: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, f"{who}@example.org").status_code == 302
    return client


def institution_id(app: Flask, key: str) -> int:
    with app.app_context():
        return institution(key).id


def unit(item: str, occasion: int) -> str:
    return f"{item.replace('.', '-')}-{occasion}"


def hidden_base(html: str) -> str:
    found = re.search(r'name="base" type="hidden" value="([^"]*)"', html) or re.search(
        r'id="base" name="base" type="hidden" value="([^"]*)"', html)
    assert found, "the form carries its signed base"
    return found.group(1)


def capture(client: FlaskClient, key_id: int, answers: Mapping[tuple[str, int], Answer],
            **extra: str) -> tuple[int, str]:
    """Open the capture page of an institution, type ``answers`` and save; (status, page)."""
    page = client.get(f"/fieldwork/{YEAR}/institutions/{key_id}")
    assert page.status_code == 200
    data = {"base": hidden_base(page.get_data(as_text=True)), **extra}
    for (item, occasion), answer in answers.items():
        prefix = unit(item, occasion)
        data[f"{prefix}__answer"] = answer.value or ""
        data[f"{prefix}__evidence_url"] = EVIDENCE
        for name in ("sent_on", "acknowledged_on", "answered_on"):
            if getattr(answer, name):
                data[f"{prefix}__{name}"] = getattr(answer, name).isoformat()
        if answer.sent_on:
            data[f"{prefix}__folio"] = "330000000001"
    saved = client.post(f"/fieldwork/{YEAR}/institutions/{key_id}", data=data,
                        follow_redirects=True)
    return saved.status_code, saved.get_data(as_text=True)


def test_a_synthetic_round_through_the_pages_gives_the_numbers_of_the_command_line(
    bare_round, runner, tmp_path
):
    app = bare_round
    coord = signed_in(app, "coord")
    page = coord.get(f"/fieldwork/{YEAR}/manage")
    assert page.status_code == 200 and "SYNTHETIC fieldwork round 2026" in page.get_data(
        as_text=True)
    for who, role in (("coder1", "coder"), ("coder2", "coder"), ("reviewer", "reviewer")):
        added = coord.post(f"/fieldwork/{YEAR}/members",
                           data={"email": f"{who}@example.org", "role": role})
        assert added.status_code == 302
    sampled = coord.post(f"/fieldwork/{YEAR}/sample", data={"listed": f"{A_KEY}\n{B_KEY}\n"},
                         follow_redirects=True)
    assert "2 instituciones agregadas" in sampled.get_data(as_text=True)
    with app.app_context():
        coders = [user("coder1").id, user("coder2").id]
    assigned = coord.post(f"/fieldwork/{YEAR}/assign",
                          data={"coders": coders, "double_share": "1"}, follow_redirects=True)
    assert "2 instituciones con doble codificación" in assigned.get_data(as_text=True)

    a, b = institution_id(app, A_KEY), institution_id(app, B_KEY)
    best = best_answers(instruments())
    for who in ("coder1", "coder2"):
        client = signed_in(app, who)
        mine = client.get(f"/fieldwork/{YEAR}/mine").get_data(as_text=True)
        assert "SYNTHETIC institution A" in mine and "0 de 35 reactivos" in mine
        status, text = capture(client, a, best)
        assert status == 200 and "35 respuestas nuevas" in text, text[:3000]
        answers = {**B_ANSWERS, DISPUTED: Answer("open")} if who == "coder2" else B_ANSWERS
        status, text = capture(client, b, answers)
        assert status == 200 and "35 respuestas nuevas" in text
        # The speed of request 1 is shown in business days against the deadline.
        assert "Respondida en 3 días hábiles" in text and "a tiempo" in text
        assert "Día de la Constitución" in text  # Monday 2 February 2026 does not count

    # Not frozen while the disagreement is open: the reason is shown, in either language.
    refused = coord.post(f"/fieldwork/{YEAR}/freeze", data={"freeze-confirm": "y"})
    assert refused.status_code == 422
    assert "1 reactivos en disputa sin conciliar y 0 reactivos sin respuesta" in \
        refused.get_data(as_text=True)
    refused = coord.post(f"/fieldwork/{YEAR}/freeze?lang=en", data={"freeze-confirm": "y"})
    assert "1 items in dispute (unreconciled) and 0 items without an answer" in \
        refused.get_data(as_text=True)
    unconfirmed = coord.post(f"/fieldwork/{YEAR}/freeze?lang=es", data={})
    assert unconfirmed.status_code == 422
    assert "Marque la casilla para confirmar" in unconfirmed.get_data(as_text=True)

    reviewer = signed_in(app, "reviewer")
    listed = reviewer.get(f"/fieldwork/{YEAR}/disagreements").get_data(as_text=True)
    assert "1 sin conciliar de 1" in listed and "Personas u organizaciones invitadas" in listed
    settle_url = f"/fieldwork/{YEAR}/disagreements/{b}/PG.actors.who/1"
    form = reviewer.get(settle_url).get_data(as_text=True)
    no_reason = reviewer.post(settle_url, data={"answer": "invited", "version": "0",
                                                "base": hidden_base(form)})
    assert no_reason.status_code == 422 and "es obligatorio" in no_reason.get_data(as_text=True)
    settled = reviewer.post(settle_url, data={
        "answer": "invited", "reason": "El acta SYNTHETIC nombra a invitados", "version": "0",
        "base": hidden_base(form)}, follow_redirects=True)
    assert "0 sin conciliar de 1" in settled.get_data(as_text=True)

    page = coord.get(f"/fieldwork/{YEAR}/manage").get_data(as_text=True)
    assert 'id="not-ready"' not in page  # nothing left to settle or answer
    assert coord.post(f"/fieldwork/{YEAR}/freeze",
                      data={"freeze-confirm": "y"}).status_code == 302
    published = coord.post(f"/fieldwork/{YEAR}/publish", data={"publish-confirm": "y"},
                           follow_redirects=True)
    assert published.status_code == 200
    public = published.get_data(as_text=True)
    assert "Componentes: media nacional" in public and "Celeridad de la respuesta" in public

    with app.app_context():
        metric_round = db.session.scalars(select(MetricRound).where(
            MetricRound.year == YEAR)).one()
        scores = {s.institution.key: s for s in db.session.scalars(select(MetricScore).where(
            MetricScore.round_id == metric_round.id))}
        web = {key: {i: getattr(s, i.lower()) for i in INDICES} for key, s in scores.items()}
        for column in EXPECTED_B:
            value = (scores[B_KEY].components[column] if "." in column
                     else getattr(scores[B_KEY], column.lower()))
            assert value == pytest.approx(EXPECTED_B[column], abs=1e-12), column
        assert web[A_KEY] == pytest.approx(dict.fromkeys(INDICES, 1.0), abs=1e-12)

    # Published, it is a round like any other: its metric page (which links back here), the
    # state page of Querétaro (institution B), the API and the scores of the API.
    public_client = app.test_client()
    metric_page = public_client.get(f"/metric/{YEAR}").get_data(as_text=True)
    assert f"/fieldwork/{YEAR}/methodology" in metric_page
    state_page = public_client.get("/states/22").get_data(as_text=True)
    assert f'href="/metric/{YEAR}">{YEAR}</a>' in state_page
    assert "0.5844" in state_page  # Querétaro's GA in 2026: institution B's 0.584375
    api_round = public_client.get(f"/api/v1/rounds/{YEAR}").get_json()
    assert api_round["year"] == YEAR
    by_state = public_client.get(f"/api/v1/rounds/{YEAR}/aggregates?by=state").get_json()
    queretaro = next(r for r in by_state["items"] if r["key"] == "22")
    assert queretaro["GA"] == pytest.approx(EXPECTED_B["GA"], abs=1e-12)

    # Frozen: the capture form is read-only, and a post is refused, said in words.
    coder = signed_in(app, "coder1")
    frozen = coder.get(f"/fieldwork/{YEAR}/institutions/{a}").get_data(as_text=True)
    assert "La ronda está congelada" in frozen and "Guardar respuestas" not in frozen
    status, text = capture(coder, a, {("TG.access_info.unit", 1): Answer("no")})
    assert status == 422 and "La ronda 2026 está congelada: ya no puede cambiar." in text

    # The anonymised fieldwork from the public page, computed by the command line: the same.
    download = app.test_client().get(f"/fieldwork/{YEAR}/fieldwork.json")
    assert download.status_code == 200 and "@example.org" not in download.get_data(as_text=True)
    target = tmp_path / "fieldwork.json"
    target.write_bytes(download.data)
    out = runner.invoke(args=["metric", "fieldwork", "compute", str(target), "--final",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    cli = {r["key"]: r for r in json.loads(out.stdout)}
    for key in (A_KEY, B_KEY):
        for column in INDICES:
            assert cli[key][column] == pytest.approx(web[key][column], abs=1e-12)
            if key == B_KEY:
                assert cli[key][column] == pytest.approx(EXPECTED_B[column], abs=1e-12)


def test_every_page_checks_the_role_and_a_coder_sees_only_their_institutions(bare_round):
    app = bare_round
    with app.app_context():
        s, round_, coord = db.session, fw(), user("coord")
        for who, role in (("coder1", "coder"), ("coder2", "coder"), ("reviewer", "reviewer")):
            service.add_member(s, coord, round_, user(who), role)
        service.draw_sample(s, coord, round_, listed=[A_KEY, B_KEY])
        service.assign_coders(s, coord, round_, [user("coder1"), user("coder2")],
                              double_share=0)
        mine = {who: service.my_institutions(s, user(who), round_)[0].institution.id
                for who in ("coder1", "coder2")}
        s.commit()
    own, theirs = mine["coder1"], mine["coder2"]
    anonymous = app.test_client()
    for path in (f"/fieldwork/{YEAR}/manage", f"/fieldwork/{YEAR}/mine",
                 f"/fieldwork/{YEAR}/institutions/{own}", f"/fieldwork/{YEAR}/disagreements"):
        assert anonymous.get(path).status_code == 302  # sign in first
    coder1 = signed_in(app, "coder1")
    reviewer, outsider = signed_in(app, "reviewer"), signed_in(app, "outsider")
    assert coder1.get(f"/fieldwork/{YEAR}/institutions/{own}").status_code == 200
    # Another coder's institution: refused to read and to write.
    assert coder1.get(f"/fieldwork/{YEAR}/institutions/{theirs}").status_code == 403
    assert coder1.post(f"/fieldwork/{YEAR}/institutions/{theirs}",
                       data={"base": "x"}).status_code == 403
    for client in (reviewer, outsider):
        assert client.get(f"/fieldwork/{YEAR}/institutions/{own}").status_code == 403
    assert coder1.get(f"/fieldwork/{YEAR}/institutions/999999").status_code == 404
    assert coder1.get(f"/fieldwork/{YEAR + 1}/mine").status_code == 404
    for client in (coder1, reviewer, outsider):
        assert client.get(f"/fieldwork/{YEAR}/manage").status_code == 403
        assert client.post(f"/fieldwork/{YEAR}/members", data={
            "email": "outsider@example.org", "role": "coder"}).status_code == 403
        assert client.post(f"/fieldwork/{YEAR}/freeze",
                           data={"freeze-confirm": "y"}).status_code == 403
    for client in (coder1, outsider):
        assert client.get(f"/fieldwork/{YEAR}/disagreements").status_code == 403
        assert client.get(f"/fieldwork/{YEAR}/progress.csv").status_code == 403
    assert outsider.get(f"/fieldwork/{YEAR}/mine").status_code == 403
    assert reviewer.get(f"/fieldwork/{YEAR}/progress.csv?by=coder").status_code == 200
    assert reviewer.get(f"/fieldwork/{YEAR}/progress.csv?by=nope").status_code == 400
    listed = coder1.get(f"/fieldwork/{YEAR}/mine").get_data(as_text=True)
    assert f"/institutions/{own}" in listed and f"/institutions/{theirs}" not in listed
    # The coordinator's page and its CSV: progress per state, coder and component.
    coord_client = signed_in(app, "coord")
    page = coord_client.get(f"/fieldwork/{YEAR}/manage").get_data(as_text=True)
    for table in ("avance-state", "avance-coder", "avance-component", "agreement"):
        assert f'id="{table}"' in page
    csv_text = coord_client.get(f"/fieldwork/{YEAR}/progress.csv?by=component").get_data(
        as_text=True)
    assert csv_text.splitlines()[0] == ",".join(service.PROGRESS_COLUMNS)
    assert len(csv_text.splitlines()) == 1 + 17  # one row per component
    unknown = coord_client.post(f"/fieldwork/{YEAR}/members",
                                data={"email": "nobody@example.org", "role": "coder"})
    assert unknown.status_code == 422
    assert "No hay una cuenta activa con el correo nobody@example.org" in unknown.get_data(
        as_text=True)
    # Every form carries its CSRF token, and a post without it is refused.
    app.config["WTF_CSRF_ENABLED"] = True
    page = coord_client.get(f"/fieldwork/{YEAR}/manage").get_data(as_text=True)
    tokens = re.findall(r'name="(?:\w+-)?csrf_token"', page)
    assert len(tokens) == 4  # the sample, member and freeze forms, and signing out
    capture_page = coder1.get(f"/fieldwork/{YEAR}/institutions/{own}").get_data(as_text=True)
    assert 'name="csrf_token"' in capture_page
    for client, path in ((coord_client, "freeze"), (coord_client, "members"),
                         (coder1, f"institutions/{own}")):
        assert client.post(f"/fieldwork/{YEAR}/{path}", data={"freeze-confirm": "y"}
                           ).status_code == 400
    app.config["WTF_CSRF_ENABLED"] = False
    # The round's set-up is public; its answers are not until it is frozen.
    public = app.test_client()
    assert public.get(f"/fieldwork/{YEAR}").status_code == 200
    assert public.get(f"/fieldwork/{YEAR}/methodology").status_code == 200
    assert public.get(f"/fieldwork/{YEAR}/fieldwork.json").status_code == 404


def test_the_capture_form_checks_with_the_scales_and_speaks_the_readers_language(
    fieldwork_app
):
    app = fieldwork_app
    a = institution_id(app, A_KEY)
    coder = signed_in(app, "coder1")
    status, text = capture(coder, a, {
        ("TG.access_info.unit", 1): Answer("maybe"),
        ("TC.speed.days", 1): Answer("answered", sent_on=date(2026, 2, 9),
                                     answered_on=date(2026, 2, 2)),
    }, **{f"{unit('TG.access_info.platform', 1)}__evidence_url": "ftp://example.org/x",
          f"{unit('TC.clear.clear', 2)}__sent_on": "9 de febrero"})
    assert status == 422
    assert "«maybe» no es una respuesta de la escala (yes, no)" in text
    assert "La fecha de respuesta es anterior a la de envío." in text
    assert "no es una dirección que empiece con http:// o https://" in text
    assert "«9 de febrero» no es una fecha (AAAA-MM-DD)" in text
    assert "No se guardó nada" in text
    with app.app_context():
        assert db.session.scalars(select(FieldworkObservation)).first() is None
    page = coder.get(f"/fieldwork/{YEAR}/institutions/{a}?lang=en")
    data = {"base": hidden_base(page.get_data(as_text=True)),
            f"{unit('TG.access_info.unit', 1)}__answer": "maybe"}
    english = coder.post(f"/fieldwork/{YEAR}/institutions/{a}?lang=en", data=data)
    assert english.status_code == 422
    assert "«maybe» is not an answer of the scale (yes, no)" in english.get_data(as_text=True)
    # The scale is offered as it is in the instruments (here an ordinal one, and "na").
    html = page.get_data(as_text=True)
    assert 'value="partial"' in html and 'value="na"' in html
    # A forged or missing base saves nothing.
    forged = coder.post(f"/fieldwork/{YEAR}/institutions/{a}",
                        data={"base": "forged", f"{unit('TG.access_info.unit', 1)}__answer": "yes"})
    assert forged.status_code == 422


def test_a_stale_save_shows_the_conflict_field_by_field_and_keeps_both_changes(fieldwork_app):
    app = fieldwork_app
    a = institution_id(app, A_KEY)
    item, speed = unit("TG.access_info.unit", 1), unit("TC.speed.days", 1)
    coder = signed_in(app, "coder1")
    status, _ = capture(coder, a, {("TG.access_info.unit", 1): Answer("yes")})
    assert status == 200
    page = coder.get(f"/fieldwork/{YEAR}/institutions/{a}").get_data(as_text=True)
    base = hidden_base(page)
    # Meanwhile the same coder (another window, the command line) changes the answer and
    # records the first request's dates.
    with app.app_context():
        enter("coder1", A_KEY, {("TG.access_info.unit", 1): Answer("no"),
                                ("TC.speed.days", 1): Answer("answered", date(2026, 2, 9),
                                                             answered_on=date(2026, 2, 10))})
        db.session.commit()
    stale = coder.post(f"/fieldwork/{YEAR}/institutions/{a}", data={
        "base": base, f"{item}__answer": "yes", f"{item}__evidence_url": OTHER_EVIDENCE,
        f"{speed}__answer": "unanswered", f"{speed}__sent_on": "2026-02-09"})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "Otra sesión guardó cambios en 2 reactivos" in text
    assert "SYNTHETIC coder1" in text  # who saved meanwhile, from the history
    with app.app_context():
        rows = {o.item: o for o in db.session.scalars(select(FieldworkObservation))}
        assert rows["TG.access_info.unit"].answer == "no"  # nothing saved yet
    # The first item's answer only the other session changed: kept, nothing to choose. Its
    # evidence both changed (the other session recorded none, this form another address),
    # and so the speed's answer: a choice is needed for each.
    assert 'name="keep__TG-access_info-unit-1__answer"' not in text
    assert 'name="keep__TG-access_info-unit-1__evidence_url"' in text
    assert 'name="keep__TC-speed-days-1__answer"' in text
    again = coder.post(f"/fieldwork/{YEAR}/institutions/{a}", data={
        "base": hidden_base(text), f"{item}__answer": "no", f"{item}__evidence_url": OTHER_EVIDENCE,
        f"{speed}__answer": "unanswered", f"{speed}__sent_on": "2026-02-09",
        f"{speed}__answered_on": "2026-02-10"})
    assert again.status_code == 409 and "Elija cuál valor debe quedar" in again.get_data(
        as_text=True)
    done = coder.post(f"/fieldwork/{YEAR}/institutions/{a}", data={
        "base": hidden_base(text), f"{item}__answer": "no", f"{item}__evidence_url": OTHER_EVIDENCE,
        f"{speed}__answer": "unanswered", f"{speed}__sent_on": "2026-02-09",
        f"{speed}__answered_on": "2026-02-10", "keep__TC-speed-days-1__answer": "theirs",
        "keep__TG-access_info-unit-1__evidence_url": "mine"})
    assert done.status_code == 302
    with app.app_context():
        rows = {o.item: o for o in db.session.scalars(select(FieldworkObservation))}
        unit_row, speed_row = rows["TG.access_info.unit"], rows["TC.speed.days"]
        assert (unit_row.answer, unit_row.evidence_url) == ("no", OTHER_EVIDENCE)
        assert (speed_row.answer, speed_row.answered_on) == ("answered", date(2026, 2, 10))


def test_a_reviewer_settling_after_another_sees_the_other_settlement(fieldwork_app):
    app = fieldwork_app
    with app.app_context():
        best = best_answers(service.instruments_of(fw()))
        enter("coder1", B_KEY, B_ANSWERS)
        enter("coder2", B_KEY, {**B_ANSWERS, DISPUTED: Answer("open")})
        enter("coder1", A_KEY, best)
        enter("coder2", A_KEY, best)
        db.session.commit()
    b = institution_id(app, B_KEY)
    url = f"/fieldwork/{YEAR}/disagreements/{b}/PG.actors.who/1"
    reviewer = signed_in(app, "reviewer")
    form = reviewer.get(url).get_data(as_text=True)
    assert reviewer.get(f"/fieldwork/{YEAR}/disagreements/{b}/PG.format.format/1"
                        ).status_code == 404  # no disagreement there
    with app.app_context():
        service.reconcile(db.session, user("reviewer"), fw(), institution(B_KEY),
                          "PG.actors.who", service.ObservationInput("open"), "otra revisión")
        db.session.commit()
    late = reviewer.post(url, data={"answer": "invited", "reason": "El acta", "version": "0",
                                    "base": hidden_base(form)})
    assert late.status_code == 409
    text = late.get_data(as_text=True)
    assert "Otra persona concilió este reactivo" in text and "otra revisión" in text
    with app.app_context():
        assert service.list_disagreements(db.session, user("coord"), fw())[
            0].reconciled.answer == "open"
    # Coders and coordinators do not settle.
    for who in ("coder1", "coord"):
        assert signed_in(app, who).get(url).status_code == 403


def test_the_methodology_page_is_generated_from_the_instruments(fieldwork_app):
    client = fieldwork_app.test_client()
    html = client.get(f"/fieldwork/{YEAR}/methodology").get_data(as_text=True)
    template = load_instruments(TEMPLATE)
    assert "No es el cuestionario del INAI" in html  # the template's notice, as labelled
    for source in template.sources:  # its provenance and the sentences it rests on
        assert f'href="{source.url}"' in html
    assert "TG= AI (.5) + TR (.2) + TP (.2) + DA (.1)" in html
    for component in template.components:
        assert f'id="{component.key}"' in html and component.label in html
        for item in component.items:
            assert item.key in html
    # Scales and scoring as the instruments say, with the round's own deadline.
    assert "Sí = 1; No = 0" in html
    assert "hasta el plazo legal (20 días hábiles) = 0.50" in html
    assert "hasta el plazo con prórroga (30 días hábiles) = 0.25" in html
    assert "Personas u organizaciones invitadas = 0.50" in html
    assert "TG.access_info (0.50) + TG.reactive (0.20)" in html
    assert "publicado en la Métrica 2017" in html and "elección de estos instrumentos" in html
    assert "2 solicitudes de información y 1 propuestas" in html
    english = client.get(f"/fieldwork/{YEAR}/methodology?lang=en").get_data(as_text=True)
    assert "Components and items" in english and "Yes = 1; No = 0" in english
