"""Atom feeds of the audit trail, so people can follow a state or a commitment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator
from flask import Response, current_app, url_for
from flask_babel import get_locale

from app.models import AuditEvent
from app.schema.history import describe
from common.text import xml_safe

FEED_LIMIT = 100


def site_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint`` on the configured SITE_URL.

    Feed ids and links must not come from the request's Host header (anyone can send
    ``Host: evil.example``), so only the path comes from ``url_for``.
    """
    base = current_app.config["SITE_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


# The page of a changed record, by its table: (endpoint, its argument, where the value comes
# from). Parts of a commitment (milestones, evidence, progress reports, assessments, themes,
# goals) show on the commitment's page; a state's exercise and its secretariat on the state's
# page.
_RECORD_PAGES: dict[str, tuple[str, str, str]] = {
    "commitment": ("plans.commitment", "commitment_id", "entity_id"),
    "milestone": ("plans.commitment", "commitment_id", "commitment_id"),
    "evidence": ("plans.commitment", "commitment_id", "commitment_id"),
    "progress_entry": ("plans.commitment", "commitment_id", "commitment_id"),
    "assessment": ("plans.commitment", "commitment_id", "commitment_id"),
    "commitment_theme": ("plans.commitment", "commitment_id", "commitment_id"),
    "commitment_sdg": ("plans.commitment", "commitment_id", "commitment_id"),
    "action_plan": ("plans.plan", "plan_id", "entity_id"),
    "state": ("states.detail", "cve_ent", "entity_id"),
    "local_exercise": ("states.detail", "cve_ent", "state_cve"),
    "stl_member": ("states.detail", "cve_ent", "state_cve"),
    "institution": ("metric.institution", "id", "entity_id"),
}
# Tables whose records have no page of their own: the page that lists them.
_LIST_PAGES = {"programme_count": "plans.exercises", "source": "sources.index",
               "source_link": "sources.index", "metric_round": "metric.index",
               "metric_score": "metric.index", "published_figure": "metric.index"}


def record_url(event: AuditEvent) -> str | None:
    """The absolute address of the page showing the record ``event`` changed, or None."""
    if event.entity in _LIST_PAGES:
        return site_url(_LIST_PAGES[event.entity])
    page = _RECORD_PAGES.get(event.entity)
    if page is None:
        return None
    endpoint, argument, attribute = page
    value = getattr(event, attribute)
    if value is None or not str(value).isdigit():
        return None
    return site_url(endpoint, **{argument: str(value) if argument == "cve_ent" else int(value)})


def event_title(event: AuditEvent) -> str:
    """Return a one-line title: what happened to which record, in words."""
    return describe(event).what


def event_text(event: AuditEvent) -> str:
    """Return the change as plain text lines: field label: before → after, then the author."""
    return describe(event).text


def atom_response(
    *, feed_id: str, title: str, self_url: str, page_url: str, events: Sequence[AuditEvent]
) -> Response:
    """Render ``events`` (newest first) as an Atom feed in the reader's language; each entry
    links to the page of the record it changed (``page_url`` when that has none)."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(xml_safe(title))
    fg.link(href=self_url, rel="self")
    fg.link(href=page_url, rel="alternate")
    fg.language(str(get_locale()))  # xml:lang: the reader's language, as the text is
    newest = events[0].at if events else datetime(2000, 1, 1)
    fg.updated(newest.replace(tzinfo=UTC))
    for event in reversed(events):  # feedgen prepends: add oldest first
        entry = fg.add_entry()
        entry.id(f"{feed_id}:event:{event.id}")
        # Stored text may hold characters XML cannot (control characters): U+FFFD instead.
        entry.title(xml_safe(event_title(event)))
        entry.updated(event.at.replace(tzinfo=UTC))
        entry.author({"name": xml_safe(event.actor)})
        entry.link(href=record_url(event) or page_url)
        entry.content(xml_safe(event_text(event)), type="text")
    return Response(fg.atom_str(pretty=True), mimetype="application/atom+xml")
