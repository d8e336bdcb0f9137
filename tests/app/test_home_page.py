"""The home page: the latest round's map first, 'find your state', the programme, changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, true

from app.accounts.service import find_user
from app.extensions import db
from app.models import AuditEvent, Commitment, MetricRound, MetricScore
from app.plans.service import latest_events
from app.schema.history import SYSTEM_ACTORS, grouped, recent_groups
from tests.app import editing_fixtures, metric_fixtures
from tests.app.editing_fixtures import DURANGO, add_milestone, commitment_of
from tests.app.pages import visible_text

metric_seeded = metric_fixtures.metric_seeded
metric_app = metric_fixtures.metric_app
local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user


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


# --- The programme's published figures beside what is recorded --------------------------------


def test_the_programmes_published_figures_beside_the_recorded_ones(seeded_app):
    client = seeded_app.test_client()
    for lang, words in (("es", ("Publicado (2019)", "Registrado aquí", "Estados adheridos",
                                "25 con declaratoria o más", "15 planes del programa",
                                "10 identificados en la cifra publicada", "80 con su título")),
                        ("en", ("Published (2019)", "Recorded here", "States joined",
                                "25 with a declaration or more", "15 of the programme's plans",
                                "10 identified in the published figure", "80 with their title"))):
        html = client.get(f"/?lang={lang}").get_data(as_text=True)
        section = html[html.index('id="programme-h"'):html.index('id="recent-h"')]
        cells = re.findall(r'<td class="num">(\d+)</td>', section)
        assert cells == ["28", "12", "71"], cells
        text = visible_text(section)
        for w in words:
            assert w in text, (w, text)
        assert "None" not in text
        assert "Strategy for Institutional Openness" in text  # the count's source, cited
        assert 'href="/exercises#reconciliation"' in section


def test_without_a_dated_count_the_recorded_figures_alone(states_app):
    html = states_app.test_client().get("/").get_data(as_text=True)
    section = html[html.index('id="programme-h"'):html.index('id="recent-h"')]
    assert "No hay cifras publicadas del programa con fecha cargadas." in section
    assert "None" not in section


# --- Recent changes: one line per import, upload or save -------------------------------------


def _recent(client, lang: str = "es") -> list[str]:  # noqa: ANN001
    html = client.get(f"/?lang={lang}").get_data(as_text=True)
    section = html[html.index('id="recent-h"'):html.index('id="holdings"')]
    return [" ".join(visible_text(item).split())
            for item in re.findall(r"<li>.*?</li>", section, re.S)]


def test_a_metric_import_is_one_line(metric_app, tmp_path):
    lines = _recent(metric_app.test_client())
    imported = [line for line in lines if "Métrica 2017 importada" in line]
    assert len(imported) == 1 and "908 instituciones" in imported[0], lines
    assert not any("metric_score" in line or "Resultado de la Métrica" in line
                   for line in lines), lines
    synthetic = metric_fixtures.write_synthetic_2019(tmp_path / "synthetic.csv")
    metric_fixtures.import_file(metric_app, synthetic, 2019)
    with metric_app.app_context():
        scores = db.session.scalar(select(func.count()).select_from(MetricScore).join(
            MetricRound).where(MetricRound.year == 2019))
    lines = _recent(metric_app.test_client(), "en")
    assert lines[0].split(" · ")[-3:-1] == [
        f"Metric 2019 imported: {scores} institutions", "by a file import"], lines[0]
    assert any("Metric 2017 imported: 908 institutions" in line for line in lines[1:3]), lines


def test_an_upload_and_a_save_are_one_line_each(local_app, as_user):
    from tests.app.test_editing_sheets import SOURCE, XLSX, _book, _col, _row, _upload

    client = as_user("durango@example.org")
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        ids = [add_milestone(db.session, admin, c, {"title": f"Hito {n}",
                                                    "status": "not_started"},
                             source=SOURCE).id for n in (1, 2, 3)]
        db.session.commit()
        commitment_id = c.id
    assert client.get(XLSX).status_code == 200
    book = _book(client)
    sheet = book["milestones"]
    for n, ident in enumerate(ids):
        sheet.cell(_row(sheet, ident), _col(sheet, "title"), f"Hito {n} revisado")
    assert _upload(client, book, source=SOURCE).status_code == 200
    lines = _recent(client)
    assert "IDAIP Durango subió una hoja de cálculo: 3 cambios" in lines[0], lines
    assert "Durango" in lines[0] and "cambios (" not in lines[0]
    # A form's save with its evidence: one line naming the record.
    response = client.post(f"/edit/milestone/new/{commitment_id}", data={
        "title": "Mesa instalada", "status": "complete", "completed_on": "2024-03-01",
        "evidence_url": SOURCE, "evidence_title": "Acta"})
    assert response.status_code == 302
    lines = _recent(client)
    assert "Creación · Hito: Mesa instalada (con 1 evidencia)" in lines[0], lines
    assert "por IDAIP Durango" in lines[0]
    assert "subió una hoja de cálculo: 3 cambios" in lines[1]
    # The three milestones the admin added one by one, with one source: one line.
    assert "SESNA: 3 cambios (Hito: 3)" in lines[2], lines
    with local_app.test_request_context("/"):
        events = latest_events(db.session, true(), limit=None)
        assert [(g.text, g.count, g.kind) for g in recent_groups(db.session, limit=5)] == [
            (g.text, g.count, g.kind) for g in grouped(events, db.session)[:5]]


def test_recent_groups_counted_in_the_database_match_the_grouping_of_the_events(seeded_app):
    with seeded_app.test_request_context("/"):
        events = latest_events(db.session, true(), limit=None)
        expected = [(g.text, g.count, g.first.event.id) for g in grouped(events, db.session)]
        found = [(g.text, g.count, g.first.event.id)
                 for g in recent_groups(db.session, limit=12)]
    assert len(found) == 12 and found == expected[:12]


def test_grouping_rules(app):
    def event(ident: int, minutes: int, actor: str = "IDAIP Durango", source: str = "s",
              entity: str = "milestone") -> AuditEvent:
        return AuditEvent(id=ident, at=datetime(2024, 5, 1, 12) - timedelta(minutes=minutes),
                          user_id=1, actor=actor, action="update", entity=entity,
                          entity_id=str(ident), summary=f"Hito {ident}", source=source)

    events = [event(10, 0), event(9, 2), event(8, 2), event(7, 3), event(6, 5),
              event(5, 6, source="t"), event(4, 7, source="t"), event(3, 200, source="t"),
              event(2, 201, actor="x")]
    with app.test_request_context("/"):
        groups = grouped(events)
    # A save; an upload (two milestones in one write) alone; two saves; a new source; a gap
    # over an hour; a new actor.
    assert [g.count for g in groups] == [1, 2, 2, 2, 1, 1]
    assert [g.writes for g in groups] == [1, 1, 2, 2, 1, 1]
    assert [g.kind for g in groups] == ["single", "upload", "many", "many", "single", "single"]


def test_system_actors_are_named_in_words():
    from app.metric.importer import IMPORT_ACTOR
    from seeds.base import SEED_ACTOR

    assert set(SYSTEM_ACTORS) == {SEED_ACTOR, IMPORT_ACTOR}
