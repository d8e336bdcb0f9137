"""Citations from the registry on every page; /sources; basis labels; search across languages."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, Assessment, Commitment, PublishedFigure


def _pages(app) -> list[str]:  # noqa: ANN001
    with app.app_context():
        plans = db.session.scalars(select(ActionPlan.id)).all()
        commitments = db.session.scalars(
            select(Commitment.id).where(Commitment.assessments.any())
        ).all()
    return [
        "/", "/exercises", "/plans", "/commitments", "/sources", "/metric/", "/metric/2017",
        "/metric/2021", "/states/10", "/states/02", "/states/11",
        *(f"/plans/{p}" for p in plans), *(f"/commitments/{c}" for c in commitments[:40]),
    ]


def test_no_page_names_a_stored_source_file(seeded_app):
    client = seeded_app.test_client()
    for url in _pages(seeded_app):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "shared/sources/" not in response.get_data(as_text=True), url


def test_citations_name_publisher_title_and_link_the_public_address(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        plan = db.session.scalars(select(ActionPlan).where(ActionPlan.key == "mx-4")).one()
    html = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert re.search(
        r'Open Government Partnership, Independent Reporting Mechanism, <a href="https://www\.'
        r'opengovpartnership\.org/documents/mexico-results-report-2019-2022/" rel="noopener">'
        r"<cite>Mexico Results Report 2019-2022</cite></a>, 2023", html,
    )
    sources = client.get("/sources").get_data(as_text=True)
    assert "Mexico Design Report 2019-2021" in sources and "Compromiso" in sources


def test_every_value_not_as_published_is_labelled_on_its_page(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        labelled = db.session.scalars(
            select(Assessment).where(Assessment.basis != "published")
        ).all()
        limited = db.session.scalars(
            select(Assessment).join(Commitment).join(ActionPlan)
            .where(Assessment.aspect == "completion", Assessment.value == "limited",
                   ActionPlan.scope == "national")
        ).all()
    assert limited == []  # the inferred plan-4 levels stay unknown (OGP Local prints its own)
    for a in labelled:
        html = client.get(f"/commitments/{a.commitment_id}").get_data(as_text=True)
        assert f"basis-{a.basis}" in html


def test_2017_computed_subindices_are_not_labelled_published(seeded_app):
    with seeded_app.app_context():
        rows = db.session.scalars(
            select(PublishedFigure).where(
                PublishedFigure.scope == "national",
                PublishedFigure.index_name.in_(("TG", "TC", "PG", "PC")),
            )
        ).all()
        by_year = {(f.round.year, f.index_name): f.basis for f in rows}
    assert {by_year[(2017, i)] for i in ("TG", "TC", "PG", "PC")} == {"computed"}
    assert {by_year[(2019, i)] for i in ("TG", "TC", "PG", "PC")} == {"press"}


def test_plans_lists_every_national_plan_with_87_ogp_ids_and_filters_by_programme(seeded_app):
    client = seeded_app.test_client()
    html = client.get("/plans?programme=ogp_national").get_data(as_text=True)
    for title in ("Primer Plan de Acción (2011)", "Plan de Acción Ampliado 2011-2012",
                  "Segundo Plan de Acción 2013-2015", "Tercer Plan de Acción 2016-2018",
                  "Cuarto Plan de Acción 2019-2021"):
        assert title in html
    assert "Plan de Acción Local" not in html
    with seeded_app.app_context():
        ids = db.session.scalars(
            select(Commitment.ogp_id).where(Commitment.ogp_id.like("MX00%"))
        ).all()
    assert sorted(ids) == [f"MX{n:04d}" for n in range(1, 88)]
    assert client.get("/plans?programme=nope").status_code == 400


def test_search_matches_the_spanish_title_of_an_english_commitment(seeded_app):
    html = seeded_app.test_client().get("/commitments?q=gasto").get_data(as_text=True)
    assert "Citizen Oversight of Social Program Spending" in html
