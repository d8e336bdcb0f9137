"""No page shows the database to a reader: a crawl of the public pages of a seeded app, with a
few SYNTHETIC milestones and evidence (test data, not real records) and a recorded edit, finds
in the visible text no ``None``, no raw snake_case field name and no raw status code, in
Spanish and in English. Identifiers deliberately shown as code (``<code>``) and web addresses
are not text to read."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.service import create_user
from app.extensions import db
from app.models import ActionPlan, Commitment
from common.codes import (
    BASES,
    COMMITMENT_STATUSES,
    COUNT_ROLES,
    MILESTONE_STATUSES,
    PROGRESS_STATES,
    STAGES,
    TITLE_BASES,
)
from tests.app.editing_fixtures import add_milestone
from tests.app.pages import crawl, visible_text

SKIP = ("/data/", "/api/", "/static/", "/login", "/logout", "/edit/", "/admin/", "/account",
        "/map/embed", "/maps/embed")
NONE = re.compile(r"\bNone\b")
SNAKE = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])")
ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+|\S+\.(?:php|html?|pdf|csv|xlsx)\b")
# Codes of statuses and bases that are not Spanish words: a Spanish page shows their labels.
CODES = sorted({c for codes in (MILESTONE_STATUSES, COMMITMENT_STATUSES, PROGRESS_STATES,
                                STAGES, BASES, COUNT_ROLES, TITLE_BASES) for c in codes}
               - {"plan"})
RAW_CODE = re.compile(r"\b(?:" + "|".join(CODES) + r")\b")


def _add_synthetic_records(app: Flask) -> tuple[int, int, str]:
    """SYNTHETIC milestones (in progress with a stated share and dates, complete, verified,
    not started) and dated evidence on a local commitment, added through the edit service by
    an agency's account; returns the commitment's id, its plan's id and its state."""
    with app.app_context():
        s = db.session
        user = create_user(s, "synthetic@example.org", "correct horse battery",
                           role="editor", state_cve="10", agency="SYNTHETIC agency")
        c = s.scalars(select(Commitment).join(ActionPlan)
                      .where(ActionPlan.state_cve == "10").order_by(Commitment.id)).first()
        assert c is not None
        source = "https://example.org/synthetic/acta.pdf"
        add_milestone(s, user, c, {
            "title": "Hito SYNTHETIC en proceso", "status": "in_progress",
            "progress": 0.4, "weight": 2.0, "start_date": date(2024, 1, 15),
            "due_date": date(2099, 6, 30)}, source=source, evidence={
            "url": "https://example.org/synthetic/minuta", "title": "Minuta SYNTHETIC",
            "dated": date(2024, 3, 1), "proves": "SYNTHETIC: la mesa sesionó"})
        add_milestone(s, user, c, {
            "title": "Hito SYNTHETIC terminado", "status": "complete", "weight": 1.0,
            "completed_on": date(2024, 5, 2)}, source=source)
        add_milestone(s, user, c, {
            "title": "Hito SYNTHETIC comprobado", "status": "verified", "weight": 1.0},
            source=source, evidence={"url": "https://example.org/synthetic/informe",
                                     "title": "Informe SYNTHETIC"})
        add_milestone(s, user, c, {
            "title": "Hito SYNTHETIC vencido", "status": "not_started", "weight": 1.0,
            "due_date": date(2020, 1, 31)}, source=source)
        s.commit()
        return c.id, c.plan_id, "10"


def _problems(url: str, html: str, lang: str) -> list[str]:
    text = ADDRESS.sub(" ", visible_text(html, code=False))
    found = [f"None: …{text[max(0, m.start() - 50):m.end() + 20]}…"
             for m in NONE.finditer(text)]
    if url.startswith("/data"):  # the data page documents the columns and codes of the files
        return found
    found += [f"field name {m.group()}: …{text[max(0, m.start() - 50):m.end() + 20]}…"
              for m in SNAKE.finditer(text)]
    if lang == "es":
        own = ADDRESS.sub(" ", visible_text(html, lang="es", code=False))
        found += [f"code {m.group()}: …{own[max(0, m.start() - 50):m.end() + 20]}…"
                  for m in RAW_CODE.finditer(own)]
    return found


@pytest.mark.parametrize("lang", ["es", "en"])
def test_public_pages_show_no_none_field_name_or_code(seeded_app, lang):
    commitment, plan, state = _add_synthetic_records(seeded_app)
    client = seeded_app.test_client()
    client.get(f"/?lang={lang}")
    must = ("/", f"/commitments/{commitment}", f"/plans/{plan}", f"/states/{state}", "/data",
            "/sources", "/exercises", "/commitments", "/plans")
    seen, problems = [], {}
    for url, html in crawl(client, "/", per_route=3, skip=SKIP, must=must, limit=80):
        seen.append(url)
        if found := _problems(url, html, lang):
            problems[url] = found
    assert set(must) <= set(seen) and len(seen) >= 25, seen
    assert not problems, problems
    # The SYNTHETIC records are on the commitment page, in words.
    page = visible_text(client.get(f"/commitments/{commitment}").get_data(as_text=True))
    assert "SYNTHETIC: la mesa sesionó" in page and "Minuta SYNTHETIC" in page


def test_the_checks_can_fail():
    html = ('<html lang="es"><body><p>Estados adheridos (publicado, None)</p>'
            '<p>status: in_progress</p><p>Estado: verified</p>'
            '<code>state_cve</code><a href="https://x.org/a_b">https://x.org/a_b</a></body></html>')
    found = _problems("/x", html, "es")
    assert len(found) == 4, found  # None, in_progress twice (a field and a code), verified
