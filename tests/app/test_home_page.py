"""The home page: the latest round's map first, 'find your state', the programme, changes."""

from __future__ import annotations

from tests.app import metric_fixtures

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app


def test_home_leads_with_the_map_and_finds_states_ignoring_accents(metric_app):
    client = metric_app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert html.index('class="chart chart-map"') < html.index('id="programme-h"')
    assert html.index('id="programme-h"') < html.index('id="recent-h"')
    assert html.count('aria-label="') >= 32 and 'aria-label="Ciudad de México: 0.51"' in html
    found = client.get("/find?q=queretaro")
    assert found.status_code == 302 and found.headers["Location"].endswith("/states/22")
    assert client.get("/find?q=QUERÉTARO").headers["Location"].endswith("/states/22")
    several = client.get("/find?q=baja").get_data(as_text=True)
    assert "Baja California Sur" in several and "/states/03" in several
    assert "Ningún estado coincide" in client.get("/find?q=atlantis").get_data(as_text=True)
