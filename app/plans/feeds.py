"""Atom feeds of the audit trail, so people can follow a state or a commitment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from flask import Response, current_app, url_for
from flask_babel import gettext as _

from app.models import AuditEvent
from common.text import xml_safe

from .labels import ACTION_LABELS, ENTITY_LABELS, label

FEED_LIMIT = 100


def site_url(endpoint: str, **values: object) -> str:
    """Return the absolute URL of ``endpoint`` on the configured SITE_URL.

    Feed ids and links must not come from the request's Host header (anyone can send
    ``Host: evil.example``), so only the path comes from ``url_for``.
    """
    base = current_app.config["SITE_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def event_title(event: AuditEvent) -> str:
    """Return a one-line title: what happened to which record."""
    what = f"{label(ACTION_LABELS, event.action)} · {label(ENTITY_LABELS, event.entity)}"
    return f"{what}: {event.summary}" if event.summary else what


def event_text(event: AuditEvent) -> str:
    """Return the change as plain text lines: field: before → after."""
    before, after = event.before or {}, event.after or {}
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if event.action == "create":
            lines.append(f"{name}: {new}")
        else:
            lines.append(f"{name}: {old} → {new}")
    lines.append(_("Autor: %(actor)s", actor=event.actor))
    return "\n".join(lines)


def atom_response(
    *, feed_id: str, title: str, self_url: str, page_url: str, events: Sequence[AuditEvent]
) -> Response:
    """Render ``events`` (newest first) as an Atom feed."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(xml_safe(title))
    fg.link(href=self_url, rel="self")
    fg.link(href=page_url, rel="alternate")
    fg.language("es")
    newest = events[0].at if events else datetime(2000, 1, 1)
    fg.updated(newest.replace(tzinfo=UTC))
    for event in reversed(events):  # feedgen prepends: add oldest first
        entry = fg.add_entry()
        entry.id(f"{feed_id}:event:{event.id}")
        # Stored text may hold characters XML cannot (control characters): U+FFFD instead.
        entry.title(xml_safe(event_title(event)))
        entry.updated(event.at.replace(tzinfo=UTC))
        entry.author({"name": xml_safe(event.actor)})
        entry.link(href=page_url)
        entry.content(xml_safe(event_text(event)), type="text")
    return Response(fg.atom_str(pretty=True), mimetype="application/atom+xml")
