"""The /sources page and the ``citations`` helper of every template."""

from __future__ import annotations

from flask import g, render_template

from app.extensions import db
from common.codes import SOURCE_KINDS, TITLE_BASES

from . import bp, service


def citations(text: str | None) -> list[service.Cited]:
    """Resolve a record's source text against the registry (read once per request)."""
    if "source_registry" not in g:
        g.source_registry = service.registry(db.session)
    return service.resolve(g.source_registry, text)


@bp.app_context_processor
def citation_helpers() -> dict[str, object]:
    return {"citations": citations, "source_kinds": SOURCE_KINDS, "title_bases": TITLE_BASES}


@bp.get("/sources")
def index() -> str:
    return render_template("sources/index.html", sources=service.sources_list(db.session))
