"""The programme's published counts reconciled with the record: on /exercises (linked from the
home page), in the API and in the data package; 2019's 28 / 12 / 71 accounted for."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProgrammeCountPlan
from app.plans.reconcile import programme_reconciliation, within

TEN_FIRST = {"local-04-2017", "local-05-2016", "local-10-2015", "local-14-2016-2018",
             "local-17-2015", "local-20-2016", "local-24-2017", "local-29-2016",
             "local-30-2016", "local-32"}


def _by_key(seeded_app):  # noqa: ANN001, ANN202
    with seeded_app.test_request_context():
        rec = programme_reconciliation(db.session)
        return rec, {r.count.key: r for r in rec.counts}


def test_partial_dates_compare_at_the_count_precision():
    assert within("2016-06-20", "2016") and within("2015-07", "2018-12")
    assert not within("2017-08-31", "2016") and not within(None, "2019")
    assert not within("2016", None)


def test_2019_count_is_accounted_for(seeded_app):
    rec, counts = _by_key(seeded_app)
    r = counts["2019-inai-ocde"]
    c = r.count
    assert (c.states_joined, c.plans_published, c.commitments) == (28, 12, 71)
    # 12 plans: 10 identified, 2 unidentified; 71 commitments: 62 identified, 9 unidentified.
    assert {p.key for p in r.counted} == TEN_FIRST
    assert (r.plans_identified, r.plans_unidentified) == (10, 2)
    assert (r.commitments_identified, r.commitments_unidentified) == (62, 9)
    # Of the 62, the titles recorded here: all but Jalisco's seventh.
    assert r.titles_recorded == 61
    # Recorded plans outside the count, each with its reason; Durango's second undetermined.
    outside = {p.key: p for p in r.outside}
    assert {"local-10", "local-15", "local-11-2019", "local-25"} == set(outside)
    assert all(p.reasoning and p.basis == "inferred" for p in outside.values())
    assert "2022" in outside["local-10"].reasoning  # Durango's third: results of 2022
    assert "2019" in outside["local-15"].reasoning  # the State of Mexico's first
    assert [p.key for p in r.undetermined] == ["local-10-2017-2019"]
    # The recorded count of states beside the published 28.
    assert r.states_recorded >= 25 and r.states_recorded_by_date is not None
    words = " ".join(r.explanation)
    assert "10 identificados aquí y 2 sin identificar" in words
    assert "62 son de los planes identificados" in words and "9 de planes sin identificar" in words
    assert "Durango" in words and "México" in words
    assert rec.plans_recorded >= 15


def test_end_2017_count_is_exactly_the_ten_first_plans(seeded_app):
    _rec, counts = _by_key(seeded_app)
    r = counts["2018-01-eluniversal"]
    assert {p.key for p in r.counted} == TEN_FIRST
    assert (r.plans_unidentified, r.commitments_identified, r.commitments_unidentified) == (
        0, 62, 0)
    dec = counts["2018-12-lja"]
    assert (dec.plans_identified, dec.plans_unidentified) == (10, 2)
    assert dec.commitments_identified == 62 and dec.commitments_unidentified is None
    # Counts that name no plans: nothing identified, the gap said in words.
    undated = counts["sin-fecha-capitalqueretaro"]
    assert not undated.reconciled and "ninguno se identifica" in " ".join(undated.explanation)
    later = counts["posterior-mas-de-140"]
    assert "La fuente no dice qué planes cuenta" in " ".join(later.explanation)


def test_every_placement_has_basis_reasoning_and_source(seeded_app):
    with seeded_app.app_context():
        links = db.session.scalars(select(ProgrammeCountPlan)).all()
    assert len(links) == 45
    assert all(link.source and link.basis in ("inferred", "published") for link in links)
    assert all(link.reasoning for link in links if link.basis == "inferred")


def test_exercises_page_shows_the_reconciliation_and_home_links_to_it(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/exercises").get_data(as_text=True)
    start = html.index('id="reconciliation"')
    section = html[start:html.index("</section>", start)]
    block = section[section.index('id="count-2019-inai-ocde"'):]
    block = block[:block.index("</article>")]
    assert "28 estados" in block and "12 planes" in block and "71 compromisos" in block
    row = re.search(r"<th scope=\"row\">Planes</th>(.*?)</tr>", block, re.S).group(1)
    assert re.findall(r'class="num">(\d+)', row) == ["12", "10", "2"]
    row = re.search(r"<th scope=\"row\">Compromisos</th>(.*?)</tr>", block, re.S).group(1)
    assert re.findall(r'class="num">(\d+)', row) == ["71", "62", "9"]
    assert "Fuera de la cifra (4)" in block and "No se sabe si está dentro (1)" in block
    assert "Tercer Plan de Acción Local" in block
    assert "Strategy for Institutional Openness" in block  # the count's source, beside it
    home = client.get("/").get_data(as_text=True)
    assert 'href="/exercises#reconciliation"' in home


def test_api_and_data_package_give_the_same_reconciliation(seeded_app):
    client = seeded_app.test_client()
    body = client.get("/api/v1/reconciliation").get_json()
    counts = {c["key"]: c for c in body["counts"]}
    r = counts["2019-inai-ocde"]
    assert (r["plans_published"], r["plans_identified"], r["plans_unidentified"]) == (12, 10, 2)
    assert (r["commitments"], r["commitments_identified"],
            r["commitments_unidentified"]) == (71, 62, 9)
    assert {p["key"] for p in r["outside"]} == {"local-10", "local-15", "local-11-2019",
                                                "local-25"}
    assert all(p["reasoning"] for p in r["outside"])
    assert r["explanation"]
    package = client.get("/data/datapackage.json").get_json()
    names = {res["name"] for res in package["resources"]}
    assert {"programme_count_plan", "programme_fact"} <= names
    # One object a placement.
    rows = json.loads(client.get("/data/programme_count_plan.json").get_data(as_text=True))
    with seeded_app.app_context():
        placed = db.session.scalar(select(func.count()).select_from(ProgrammeCountPlan))
    assert len(rows) == placed > 40
    assert {"count_id", "plan_id", "role", "basis", "reasoning"} <= set(rows[0])
