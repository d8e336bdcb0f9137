"""The tracker's pages on the seeded data: exercises, plans, commitments, filters, search,
sorting, pagination, permalinks, CSV downloads and Atom feeds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, Commitment, LocalExercise, State
from tests.app.downloads import csv_rows

ATOM = "{http://www.w3.org/2005/Atom}"



def _ids(app, key: str) -> int:
    with app.app_context():
        return db.session.scalars(select(ActionPlan.id).where(ActionPlan.key == key)).one()


@pytest.fixture
def client(seeded_app):
    return seeded_app.test_client()


def test_nav_shows_the_tracker(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/exercises"' in html and 'href="/plans"' in html


def test_exercises_lists_every_state_with_stage_dates_and_source(seeded_app, client):
    html = client.get("/exercises").get_data(as_text=True)
    with seeded_app.app_context():
        exercises = db.session.scalars(select(LocalExercise)).all()
        names = {s.cve_ent: s.name for s in db.session.scalars(select(State))}
    assert len(exercises) == 32
    for ex in exercises:
        assert names[ex.state_cve] in html
    assert "Plan publicado" in html and "Sin firmar" in html and "Declaratoria firmada" in html
    assert "2015-04-10" in html  # Durango's STL installation
    assert "https://www.lja.mx/2019/01/aguascalientes" in html
    # Honest counts: the published headline beside what is recorded here.
    # 61 of the plans INAI counted (Jalisco's 2-6 in English), Durango's second (8) and third
    # plans (7 of 9), the State of Mexico's (3) and Sinaloa's first commitment (1).
    assert "Publicados: 71 compromisos (2019); registrados aquí con título: 80." in html


def test_exercises_filter_sort_and_csv(client):
    html = client.get("/exercises?stage=none").get_data(as_text=True)
    listed = html[html.index('id="list-h"'):]  # the list, not the counts above it
    assert "Baja California Sur" in listed and "Durango" not in listed
    rows = csv_rows(client.get("/exercises?stage=plan&format=csv"))
    # The ten states of plans.csv, the State of Mexico (its first plan, installed 2019),
    # Guanajuato (plan presented July 2019) and Sinaloa (plan signed after February 2019).
    assert {r["cve_ent"] for r in rows} == {"04", "05", "10", "11", "14", "15", "17", "20",
                                            "24", "25", "29", "30", "32"}
    assert all(r["source"] for r in rows)
    ordered = csv_rows(client.get("/exercises?sort=declaration&format=csv"))
    dates = [r["declaration_date"] for r in ordered if r["declaration_date"]]
    assert dates == sorted(dates) and ordered[-1]["declaration_date"] == ""
    searched = csv_rows(client.get("/exercises?q=michoacan&format=csv"))
    assert [r["state"] for r in searched] == ["Michoacán de Ocampo"]


def test_exercises_link_to_the_stage_map_only_when_it_exists(seeded_app, client):
    html = client.get("/exercises").get_data(as_text=True)
    has_map = "maps.exercise_map" in seeded_app.view_functions
    assert ("Ver el mapa de etapas" in html) == has_map


def test_plans_list_shows_published_and_recorded_counts(seeded_app, client):
    html = client.get("/plans").get_data(as_text=True)
    assert "Cuarto Plan de Acción 2019-2021" in html
    assert "Plan de Acción Ampliado 2011-2012" in html
    rows = csv_rows(client.get("/plans?format=csv"))
    by_key = {r["key"]: r for r in rows}
    assert by_key["mx-4"]["commitments_recorded"] == "13"
    jalisco = by_key["local-14-2016-2018"]
    # Jalisco: commitment 1 in Spanish and English, 2-6 in English as OGP prints them.
    assert (jalisco["commitments_published"], jalisco["commitments_recorded"]) == ("7", "6")
    assert jalisco["progress"] == ""  # unknown, not 0
    local = csv_rows(client.get("/plans?scope=local&format=csv"))
    # INAI's programme: 10 of plans.csv, 3 later ones, Guanajuato's and Sinaloa's; OGP Local: 8.
    assert len(local) == 23 and {r["scope"] for r in local} == {"local"}
    programmes = [r["programme"] for r in local]
    assert (programmes.count("inai_cocreacion"), programmes.count("ogp_local")) == (15, 8)


def test_national_plan_4_lists_its_13_commitments(seeded_app, client):
    html = client.get(f"/plans/{_ids(seeded_app, 'mx-4')}").get_data(as_text=True)
    for n in range(75, 88):
        assert f"MX{n:04d}" in html
    assert "registrados aquí con título: 13" in html
    assert "su avance es desconocido, no cero" in html


def test_extended_plan_shows_the_civil_society_grades(seeded_app, client):
    html = client.get(f"/plans/{_ids(seeded_app, 'mx-2011-ampliado')}").get_data(as_text=True)
    assert "Evaluación de las organizaciones de la sociedad civil" in html
    assert html.count('class="grade-null"') >= 10
    assert "parte 45a" in html and "parte 45b" in html


def test_local_plan_page_says_what_is_missing(seeded_app, client):
    html = client.get(f"/plans/{_ids(seeded_app, 'local-14-2016-2018')}").get_data(as_text=True)
    assert ("Faltan compromisos: la fuente publica 7 y aquí hay 6 con título; los que faltan "
            "figuran abajo como «título desconocido»." in html)


def test_search_is_case_and_accent_insensitive(client):
    plain = csv_rows(client.get("/commitments?q=publica+obra&format=csv"))
    accented = csv_rows(client.get("/commitments?q=PÚBLICA+Obra&format=csv"))
    assert plain == accented and plain
    assert all("obra" in r["title"].lower() for r in plain)
    assert "Seguimiento ciudadano a la obra pública en el Estado de Campeche." in {
        r["title"] for r in plain}
    assert csv_rows(client.get("/commitments?q=MX0084&format=csv"))[0]["ogp_id"] == "MX0084"
    assert csv_rows(client.get("/commitments?q=100%25&format=csv")) == []


def test_commitment_filters(seeded_app, client):
    rows = csv_rows(client.get("/commitments?state=17&format=csv"))
    assert len(rows) == 8 and {r["state"] for r in rows} == {"Morelos"}
    assert {r["label"] for r in rows} >= {"P1", "P2"}
    plan4 = _ids(seeded_app, "mx-4")
    rows = csv_rows(client.get(f"/commitments?plan={plan4}&theme=Gender&format=csv"))
    assert {r["ogp_id"] for r in rows} == {"MX0076", "MX0079", "MX0080", "MX0087"}
    # No milestones anywhere in the sources: every progress is unknown.
    # 80 local commitments of INAI's programme (56 + 11 before, Jalisco's 5 in English,
    # Durango's third plan's 7, Sinaloa's 1), 24 of OGP Local, 49 of the extended plan and
    # plan 4, 74 of plans 1-3.
    assert len(csv_rows(client.get("/commitments?status=unknown&format=csv"))) == (
        80 + 24 + 49 + 74)
    assert csv_rows(client.get("/commitments?status=off_track&format=csv")) == []
    html = client.get("/commitments?status=verified").get_data(as_text=True)
    assert "Ningún compromiso coincide con estos filtros." in html
    national = csv_rows(client.get("/commitments?scope=national&format=csv"))
    assert len(national) == 49 + 74  # the extended plan and plan 4, and plans 1-3


def test_pagination_sorting_and_permalinks(seeded_app):
    seeded_app.config["PAGE_SIZE"] = 10
    client = seeded_app.test_client()
    first = client.get("/commitments?scope=local&sort=title").get_data(as_text=True)
    assert "Filas 1–10 de 104" in first and "Página 1 de 11" in first
    assert 'href="/commitments?scope=local&amp;sort=title&amp;page=2"' in first
    last = client.get("/commitments?scope=local&sort=title&page=11").get_data(as_text=True)
    assert "Filas 101–104 de 104" in last and 'rel="next"' not in last
    beyond = client.get("/commitments?scope=local&sort=title&page=99").get_data(as_text=True)
    # Past the last page: no rows, no next link, a link back to the last page.
    assert "Filas" not in beyond and 'rel="next"' not in beyond
    assert 'href="/commitments?scope=local&amp;sort=title&amp;page=11" rel="prev"' in beyond
    titles = [r["title"] for r in csv_rows(client.get("/commitments?scope=local&sort=title"
                                                    "&format=csv"))]
    assert len(titles) == 104  # the CSV is the whole filtered list, not one page
    from common.text import fold as fold_text

    assert [fold_text(t) for t in titles] == sorted(fold_text(t) for t in titles)
    reverse = [r["title"] for r in csv_rows(client.get("/commitments?scope=local&sort=-title"
                                                     "&format=csv"))]
    assert reverse == titles[::-1]
    # The CSV link keeps the filters.
    assert 'href="/commitments?scope=local&amp;sort=title&amp;format=csv"' in first


def test_commitment_page_shows_everything_known_and_unknown(seeded_app, client):
    with seeded_app.app_context():
        c = db.session.scalars(select(Commitment).where(Commitment.ogp_id == "MX0075")).one()
        cid = c.id
    html = client.get(f"/commitments/{cid}").get_data(as_text=True)
    assert "Citizen Oversight of Social Program Spending" in html
    assert "GESOC, Transparencia Mexicana, FUNDAR" in html  # counterpart
    assert "Apertura fiscal" in html  # theme label
    assert "Inactivo" in html
    # The results report does not name the four "limited" commitments: their level is unknown.
    assert "Limitado" not in html
    assert "su avance es desconocido (no cero)" in html
    assert "Historial de cambios" in html and "por datos de referencia del proyecto" in html
    assert f'href="/commitments/{cid}/feed.atom"' in html
    assert client.get("/commitments/999999").status_code == 404


def test_feeds_per_commitment_and_per_state(seeded_app, client):
    with seeded_app.app_context():
        cid = db.session.scalars(
            select(Commitment.id).join(ActionPlan).where(ActionPlan.state_cve == "10")
        ).first()
    response = client.get(f"/commitments/{cid}/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].find(f"{ATOM}title").text.startswith("Creación · Compromiso: ")
    state = ET.fromstring(client.get("/states/10/feed.atom").data)
    titles = [e.find(f"{ATOM}title").text for e in state.findall(f"{ATOM}entry")]
    assert any("Ejercicio local: Durango" in t for t in titles)
    assert any("Secretariado Técnico Local de Durango" in t for t in titles)
    assert all("Morelos" not in t for t in titles)
    assert client.get("/states/99/feed.atom").status_code == 404


def test_an_update_appears_in_history_and_feed(seeded_app, monkeypatch, tmp_path):
    from app.cli import run_loaders
    from seeds import local as local_module

    source = local_module.COMMITMENTS_CSV.read_text(encoding="utf-8")
    old = "Detener la depredación del río San Rodrigo."
    new = "Detener la depredación del río San Rodrigo (título corregido en prueba sintética)."
    assert old in source
    path = str(tmp_path / "local_commitments.csv")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source.replace(old, new))
    from pathlib import Path

    monkeypatch.setattr(local_module, "COMMITMENTS_CSV", Path(path))
    with seeded_app.app_context():
        run_loaders(["local"])
        cid = db.session.scalars(select(Commitment.id).where(Commitment.title == new)).one()
    client = seeded_app.test_client()
    html = client.get(f"/commitments/{cid}").get_data(as_text=True)
    assert "Modificación · Compromiso" in html
    assert f"<dt>Compromiso (título)</dt><dd>{old} → {new}</dd>" in html
    feed = ET.fromstring(client.get(f"/commitments/{cid}/feed.atom").data)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    assert entries[0].find(f"{ATOM}title").text.startswith("Modificación · Compromiso")
    assert "→" in entries[0].find(f"{ATOM}content").text


def test_empty_database_shows_helpful_empty_states(app):
    client = app.test_client()
    assert "Aún no hay estados cargados" in client.get("/exercises").get_data(as_text=True)
    assert "Aún no hay planes cargados" in client.get("/plans").get_data(as_text=True)
    assert "Ningún compromiso coincide" in client.get("/commitments").get_data(as_text=True)
