"""The metric pages: landing page, a round, institutions, comparison, CSV downloads."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.extensions import db
from app.models import Institution
from tests.app import metric_fixtures
from tests.app.downloads import csv_rows
from tests.app.metric_fixtures import import_file, write_synthetic_2019

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_landing_page_empty_state_says_how_to_import(client):
    html = client.get("/metric/").get_data(as_text=True)
    assert "flask metric import" in html
    assert "flask seed metric" in html  # no rounds registered at all


def test_landing_page_lists_rounds_with_published_figures(metric_seeded):
    client = metric_seeded.test_client()
    html = client.get("/metric/").get_data(as_text=True)
    assert "flask metric import" in html
    assert html.count("solo cifras publicadas") == 4
    assert "/metric/2021" in html and "0.48" in html
    page = client.get("/metric/2019").get_data(as_text=True)
    assert "0.52" in page and "flask metric import RUTA --round 2019" in page
    assert client.get("/metric/1999").status_code == 404


def test_landing_page_links_loaded_rounds_in_the_nav(metric_app):
    client = metric_app.test_client()
    html = client.get("/metric/").get_data(as_text=True)
    assert 'href="/metric/2017"' in html
    assert "0.3887" in html and "0.39" in html
    assert 'href="/metric/"' in client.get("/").get_data(as_text=True)  # nav entry


def test_round_page_shows_computed_beside_published(metric_app):
    client = metric_app.test_client()
    html = client.get("/metric/2017").get_data(as_text=True)
    # National: computed, published and the difference.
    assert "0.3887" in html and "0.39" in html and "-0.0013" in html
    assert "0.5013" in html and "0.2761" in html
    # Per state: Querétaro computed 0.2742 against published 0.27.
    assert "Querétaro" in html and "0.2742" in html and "+0.0042" in html
    assert "Federación" in html and "0.4607" in html
    # Per type, best and worst, distribution.
    assert "Sindicato" in html and "Fideicomiso" in html
    assert "Coyoacan" in html and "0.8953" in html  # best institution of 2017
    assert "Mejores y peores" in html and "Distribución de GA por tipo" in html
    assert 'aria-sort="descending"' in html
    assert "/metric/2017/state.csv" in html


def test_state_table_sorts_by_the_url(metric_app):
    client = metric_app.test_client()
    html = client.get("/metric/2017?sort=GA&order=asc").get_data(as_text=True)
    table = html[html.index('id="state-table"'):]
    assert table.index("Querétaro") < table.index("Ciudad de México")
    html = client.get("/metric/2017?sort=name&order=asc").get_data(as_text=True)
    table = html[html.index('id="state-table"'):]
    assert table.index("Aguascalientes") < table.index("Zacatecas")
    assert 'aria-sort="ascending"' in html
    # An unknown column is refused with the site's page naming the argument (input policy).
    bad = client.get("/metric/2017?sort=evil&order=sideways")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "«<code>sort</code>»" in text and "«<code>order</code>»" in text


def test_csv_downloads(metric_app):
    client = metric_app.test_client()
    rows = csv_rows(client.get("/metric/2017/state.csv"))
    assert len(rows) == 33
    queretaro = next(r for r in rows if r["key"] == "22")
    assert queretaro["GA_published"] == "0.27" and queretaro["GA_rank"] == "32"
    assert round(float(queretaro["GA"]), 2) == 0.27
    institutions = list(
        csv.DictReader(io.StringIO(client.get("/metric/2017/institutions.csv").get_data(
            as_text=True)))
    )
    assert len(institutions) == 908
    assert client.get("/metric/2017/colours.csv").status_code == 404


def test_institutions_list_filters_sorts_and_paginates(metric_app):
    client = metric_app.test_client()
    html = client.get("/metric/2017/institutions").get_data(as_text=True)
    assert "908 instituciones" in html and "Página 1 de 19" in html
    assert 'rel="next"' in html
    html = client.get("/metric/2017/institutions?state=09&sort=GA&order=desc").get_data(
        as_text=True
    )
    assert "26 instituciones" in html and "Coyoacan" in html
    first_row = html[html.index("<tbody>"):].split("</tr>")[0]
    assert "Coyoacan" in first_row  # the best institution of 2017 heads the GA order
    html = client.get("/metric/2017/institutions?type=union&q=sindicato").get_data(as_text=True)
    assert "Sindicato" in html
    past = client.get("/metric/2017/institutions?page=99").get_data(as_text=True)
    assert 'href="/metric/2017/institutions?page=19" rel="prev"' in past  # the last page
    assert 'rel="next"' not in past and "<tbody>" not in past


def test_institution_page_shows_every_round(metric_app, tmp_path):
    import_file(metric_app, write_synthetic_2019(tmp_path / "r2019.csv"), 2019)
    with metric_app.app_context():
        asf = db.session.scalars(select(Institution).where(Institution.key == "federal:fed:asf")
                                 ).one()
        asf_id = asf.id
    client = metric_app.test_client()
    html = client.get(f"/institutions/{asf_id}").get_data(as_text=True)
    assert "ASF" in html and "0.5054" in html
    assert "/metric/2017" in html and "/metric/2019" in html
    assert "Auditoria Superior de la Federacion" in html  # the name variant
    assert client.get("/institutions/999999").status_code == 404


def test_compare_page_over_matched_institutions(metric_app, tmp_path):
    client = metric_app.test_client()
    # one institution round: the published figures are compared instead
    assert "Cifras publicadas, 2017" in client.get("/metric/compare").get_data(as_text=True)
    import_file(metric_app, write_synthetic_2019(tmp_path / "r2019.csv"), 2019)
    html = client.get("/metric/compare?from=2017&to=2019&by=state").get_data(as_text=True)
    assert "Instituciones en ambas rondas" in html
    assert "<dd>4</dd>" in html and "<dd>1</dd>" in html and "<dd>904</dd>" in html
    assert "no comparable" in html
    download = client.get("/metric/compare?from=2017&to=2019&by=state&download=csv")
    rows = csv_rows(download)
    assert len(rows) == 4 and "GA_delta" in rows[0]

