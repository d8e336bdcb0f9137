"""The Atom feeds as a reader gets them: in the reader's language, each entry linking to the
record it changed (not every entry to one page), and open to other sites' scripts (CORS)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _entries(client, url: str, **headers: str) -> tuple[ET.Element, list[ET.Element]]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    return feed, feed.findall(f"{ATOM}entry")


def _link(entry: ET.Element) -> str:
    return entry.find(f"{ATOM}link").get("href")


def test_the_feed_speaks_the_readers_language(seeded_app):
    client = seeded_app.test_client()
    spanish, _ = _entries(client, "/states/10/feed.atom")
    assert spanish.get(XML_LANG) == "es"
    english, entries = _entries(client, "/states/10/feed.atom?lang=en")
    assert english.get(XML_LANG) == "en"
    assert english.find(f"{ATOM}title").text.startswith("Changes in ")
    assert entries[0].find(f"{ATOM}title").text.split(" · ")[0] in (
        "Creation", "Update", "Deletion", "Restoration")
    by_header, _ = _entries(client, "/states/10/feed.atom", **{"Accept-Language": "en"})
    assert by_header.get(XML_LANG) == "en"


def test_each_entry_links_to_the_record_it_changed(seeded_app):
    client = seeded_app.test_client()
    base = seeded_app.config["SITE_URL"].rstrip("/")
    with seeded_app.app_context():
        events = {e.id: e for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.state_cve == "10"))}
        plans = set(db.session.scalars(select(ActionPlan.id).where(ActionPlan.state_cve == "10")))
        commitments = set(db.session.scalars(
            select(Commitment.id).join(ActionPlan).where(ActionPlan.state_cve == "10")))
    _feed, entries = _entries(client, "/states/10/feed.atom")
    links = {}
    for entry in entries:
        event = events[int(entry.find(f"{ATOM}id").text.rsplit(":", 1)[1])]
        links[(event.entity, event.entity_id)] = _link(entry)
    assert len(set(links.values())) > 1  # not every entry to one page
    for (entity, entity_id), link in links.items():
        if entity == "commitment":
            assert link == f"{base}/commitments/{entity_id}" and int(entity_id) in commitments
        elif entity == "action_plan":
            assert link == f"{base}/plans/{entity_id}" and int(entity_id) in plans
        elif entity in ("local_exercise", "stl_member"):
            assert link == f"{base}/states/10"
    assert {"commitment", "action_plan", "local_exercise"} <= {e for e, _ in links}
    # Every link opens.
    for link in set(links.values()):
        assert client.get(link.removeprefix(base)).status_code == 200, link


def test_a_commitments_feed_links_its_entries_to_the_commitment(seeded_app):
    client = seeded_app.test_client()
    base = seeded_app.config["SITE_URL"].rstrip("/")
    with seeded_app.app_context():
        cid = db.session.scalars(select(Commitment.id).order_by(Commitment.id)).first()
    _feed, entries = _entries(client, f"/commitments/{cid}/feed.atom")
    assert entries and {_link(e) for e in entries} == {f"{base}/commitments/{cid}"}


def test_feeds_are_open_to_other_sites(seeded_app):
    client = seeded_app.test_client()
    response = client.get("/states/10/feed.atom", headers={"Origin": "https://reader.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
