"""No stored text breaks a public page or file (issue 19).

Every control character (C0, DEL and C1; NUL only on SQLite: PostgreSQL cannot store it) and
the two non-characters XML forbids are written straight into the database, as an older
version, an import or a hand edit could have left them (the forms refuse them now), in the
free text of plans, commitments, milestones, evidence, secretariat members, exercises, the
sources and the change history. Then every public format is fetched: pages, Atom feeds, the
lists' CSV, XLSX and JSON, every /data table in the three formats (audit_event included), the
API, and the state's spreadsheet download for its editor. Each answers 200, and each file
parses (XML, XLSX, JSON, CSV).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from flask import Flask
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from app.accounts.service import find_user
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    Evidence,
    LocalExercise,
    Milestone,
    Source,
    StlMember,
)
from app.opendata.package import tables
from app.opendata.service import public_table
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, add_milestone, commitment_of, login

local_app = editing_fixtures.local_app

SOURCE = "https://idaip.example.org/acta.pdf"


def _controls(app: Flask) -> str:
    """Every control character the database can store, and U+FFFE, U+FFFF."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    codes = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF]
    return "".join(chr(c) for c in codes if not (postgres and c == 0))


@pytest.fixture
def dirty(local_app: Flask, tmp_path) -> dict[str, int]:  # noqa: ANN001
    """Durango's records with control characters in their text, written in SQL directly."""
    local_app.config["DOWNLOAD_CACHE_DIR"] = str(tmp_path / "downloads")
    bad = _controls(local_app)
    text = f"Texto con controles [{bad}] fin"
    with local_app.app_context():
        s = db.session
        admin = find_user(s, "admin@example.org")
        c_id = commitment_of(DURANGO)
        c = s.get(Commitment, c_id)
        m = add_milestone(s, admin, c, {"title": "Hito", "status": "in_progress",
                                                "progress": 0.5, "due_date": date(2020, 1, 1)},
                                  source=SOURCE)
        s.flush()
        s.add(Evidence(commitment_id=c_id, milestone_id=m.id, url=SOURCE, title="Acta",
                       added_by_label=f"Organismo {bad}"))
        s.flush()
        plan_id = c.plan_id
        s.execute(update(Commitment).where(Commitment.id == c_id).values(
            title=text, objective=text, responsible=text, counterpart=text, problem=text))
        s.execute(update(ActionPlan).where(ActionPlan.id == plan_id).values(title=text,
                                                                           notes=text))
        s.execute(update(Milestone).where(Milestone.id == m.id).values(title=text))
        s.execute(update(Evidence).where(Evidence.commitment_id == c_id).values(
            title=text, proves=text))
        s.execute(update(LocalExercise).where(LocalExercise.state_cve == DURANGO).values(
            status_text=text, facilitator=text))
        s.execute(update(StlMember).where(StlMember.exercise_id.in_(
            select(LocalExercise.id).where(LocalExercise.state_cve == DURANGO))).values(
            name=StlMember.name + text))
        s.execute(update(Source).values(note=text))
        s.execute(insert(AuditEvent).values(
            actor=f"Organismo {bad}", action="update", entity="commitment",
            entity_id=str(c_id), state_cve=DURANGO, commitment_id=c_id, summary=text[:300],
            source=text, before={"title": "antes"}, after={"title": text, bad: text}))
        s.commit()
        return {"commitment": c_id, "plan": plan_id, "milestone": m.id}


def _public_urls(ids: dict[str, int]) -> list[str]:
    c, p = ids["commitment"], ids["plan"]
    lists = ["/exercises", "/plans", "/commitments", f"/commitments?state={DURANGO}",
             "/map/exercises", "/sources"]
    urls = ["/", "/states/", f"/states/{DURANGO}", f"/plans/{p}", f"/commitments/{c}",
            f"/states/{DURANGO}/feed.atom", f"/commitments/{c}/feed.atom", "/data",
            "/data/datapackage.json", "/find?q=controles", "/map/exercises.csv",
            "/map/exercises.geojson", "/commitments?q=controles",
            f"/api/v1/commitments/{c}", f"/api/v1/plans/{p}", f"/api/v1/states/{DURANGO}",
            "/api/v1/commitments?state=10", "/api/v1/milestones", "/api/v1/evidence",
            "/api/v1/changes?state=10", "/api/v1/exercises", "/api/v1/secretariat-members",
            "/api/v1/sources"]
    urls += [f"{u}{'&' if '?' in u else '?'}format={f}" for u in lists
             for f in ("csv", "xlsx", "json")] + lists
    urls += [f"/data/{t.name}.{f}" for t in tables()
             for f in ("csv", "xlsx", "json")]
    return urls


def _check_body(url: str, body: bytes, mimetype: str) -> None:
    """The body parses as what it claims to be."""
    if mimetype == "application/atom+xml":
        feed = etree.fromstring(body)  # well-formed XML 1.0
        assert "\ufffd" in "".join(feed.itertext()), url  # the controls shown as U+FFFD
    elif "spreadsheetml" in mimetype:
        book = load_workbook(io.BytesIO(body), read_only=True)
        assert sum(1 for ws in book for _ in ws.iter_rows()) > 0, url
    elif "json" in mimetype:
        json.loads(body)
    elif mimetype == "text/csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows and rows[0], url


def test_every_public_format_renders_stored_control_characters(local_app, dirty):
    assert public_table("audit_event") is not None
    client = local_app.test_client()
    failures = []
    for url in _public_urls(dirty):
        response = client.get(url)
        if response.status_code != 200:
            failures.append((url, response.status_code))
            continue
        try:
            _check_body(url, response.get_data(), response.mimetype)
        except Exception as exc:  # noqa: BLE001  (collect every failure, then report)
            failures.append((url, repr(exc)[:200]))
    assert failures == []


def test_the_text_comes_through_where_the_format_can_hold_it(local_app, dirty):
    """JSON keeps every character as stored (escaped); XLSX and Atom show U+FFFD for those
    XML cannot hold and keep the rest of the text."""
    client = local_app.test_client()
    bad = _controls(local_app)
    api = client.get(f"/api/v1/commitments/{dirty['commitment']}").get_json()
    assert bad in api["title"]
    sheet = load_workbook(io.BytesIO(client.get("/data/commitment.xlsx").data), read_only=True)
    titles = [row[0] for ws in sheet for row in ws.iter_rows(values_only=True)
              if any(isinstance(v, str) and "Texto con controles" in v for v in row)]
    assert titles, "the commitment's row is in the download"
    feed = client.get(f"/commitments/{dirty['commitment']}/feed.atom").get_data(as_text=True)
    assert "Texto con controles [" in feed and "] fin" in feed


def test_the_editors_spreadsheet_and_edit_pages_render_stored_control_characters(
        local_app, dirty):
    client = local_app.test_client()
    assert login(client, "durango@example.org").status_code == 302
    c = dirty["commitment"]
    urls = [f"/edit/states/{DURANGO}", f"/edit/states/{DURANGO}/upload",
            f"/edit/states/{DURANGO}/records.xlsx", f"/edit/commitment/{c}",
            f"/edit/plan/{dirty['plan']}", f"/edit/milestone/{dirty['milestone']}",
            *(f"/edit/states/{DURANGO}/records.csv?sheet={s}"
              for s in ("plans", "commitments", "milestones"))]
    failures = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            failures.append((url, response.status_code))
            continue
        try:
            _check_body(url, response.get_data(), response.mimetype)
        except Exception as exc:  # noqa: BLE001
            failures.append((url, repr(exc)[:200]))
    assert failures == []
