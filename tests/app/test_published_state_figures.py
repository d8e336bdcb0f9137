"""Published state figures on the state and round pages: basis, caveat, source, disagreements."""

from __future__ import annotations

import re

from app.extensions import db
from app.metric.published import published_rows
from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start:html.index("</table>", start)]


def test_press_figures_of_rounds_without_data_are_labelled_published_only(seeded_app):
    html = seeded_app.test_client().get("/states/02").get_data(as_text=True)
    table = _section(html, "published-figures")
    # Baja California 2023: 0.46 from Zeta, labelled press and published only, cited by link.
    row = next(r for r in table.split("<tr>") if ">2023</a>" in r and ">GA<" in r)
    assert "0.46" in row
    assert "Según la prensa" in row and "solo publicada" in row
    assert 'href="https://zetatijuana.com/2025/02/' in row
    assert "lugar 17 de los 32 estados" in row  # the quoted sentence, beside the figure


def test_disagreeing_publications_are_both_shown(seeded_app):
    html = seeded_app.test_client().get("/states/11").get_data(as_text=True)
    table = _section(html, "published-figures")
    rows = [r for r in table.split("<tr>") if ">2021</a>" in r and ">GA<" in r]
    values = {re.search(r'class="num">(0\.\d+)<', r).group(1) for r in rows}
    assert {"0.65", "0.66"} <= values
    assert any("otra publicación da 0.66" in r for r in rows)
    assert any("otra publicación da 0.65" in r for r in rows)


def test_every_published_note_reaches_the_state_page(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        rows = [r for r in published_rows(db.session, "state") if r.note]
        assert rows
        keys = {r.scope_key for r in rows if r.scope_key != "federal"}
    for key in keys:
        html = client.get(f"/states/{key}").get_data(as_text=True)
        for r in rows:
            if r.scope_key == key:
                assert r.note.replace('"', "&#34;") in html or r.note in html, (key, r.note)


def test_round_page_without_data_lists_state_press_figures(seeded_app):
    html = seeded_app.test_client().get("/metric/2021").get_data(as_text=True)
    table = _section(html, "state-published")
    assert "Guanajuato" in table and "Guerrero" in table
    assert "solo publicada" in table and "Según la prensa" in table
    assert "heraldodemexico.com.mx" in table


def test_round_with_data_lists_only_what_its_state_table_does_not_show(metric_app):
    with metric_app.app_context():
        rows = published_rows(db.session, "state", year=2017, only="extra")
        everything = published_rows(db.session, "state", year=2017)
    assert all(not r.published_only for r in everything)
    assert all(r.publication or r.note or r.others for r in rows)
    assert len(rows) < len(everything)
    # Baja California 2017: the press prints 0.40 where the official annex prints 0.41.
    press = [r for r in rows if r.scope_key == "02" and r.index == "GA"]
    assert press and press[0].others
    html = metric_app.test_client().get("/metric/2017").get_data(as_text=True)
    table = _section(html, "state-published")
    assert "zetatijuana.com" in table and "solo publicada" not in table
