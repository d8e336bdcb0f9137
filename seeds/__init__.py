"""Sourced seed data and its idempotent loaders, in the order ``flask seed all`` runs them.

Each loader takes a session, adds or updates rows (never commits) and returns a LoadReport.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from sqlalchemy.orm import Session

from .base import LoadReport, SeedError
from .facts import load_facts
from .local import load_local
from .metric_published import load_metric_published
from .national import load_national
from .ogp_local import load_ogp_local
from .sources import link_sources, load_sources
from .states import load_states

Loader = Callable[[Session], LoadReport]


def _cited(loader: Loader) -> Loader:
    """Run ``loader`` with the source registry loaded first and its rows' sources linked after."""

    @wraps(loader)
    def run(session: Session) -> LoadReport:
        registry = load_sources(session)
        report = loader(session)
        links = link_sources(session)
        if registry.changed or links:
            report.notes.append(f"{registry}; {links} source links changed")
        return report

    return run


# name -> (loader, one-line help); order matters: later datasets refer to earlier ones.
LOADERS: dict[str, tuple[Loader, str]] = {
    "states": (
        _cited(load_states),
        "The 32 states with INEGI codes, official names and ISO codes.",
    ),
    "local": (
        _cited(load_local),
        "Local co-creation exercises: stages, STL members, headline counts, plans, commitments.",
    ),
    "national": (
        _cited(load_national),
        "National OGP plans: 2011-2012 extended plan and plan 4, commitments, assessments.",
    ),
    "ogp_local": (
        _cited(load_ogp_local),
        "OGP Local members' action plans, commitments (OGP ids) and End of Commitment levels.",
    ),
    "facts": (
        _cited(load_facts),
        "Dated programme facts no other table holds (joining, leaving, plans presented), quoted.",
    ),
    "metric": (
        _cited(load_metric_published),
        "Metric rounds, their weight schemes and the figures INAI published (with sources).",
    ),
}

__all__ = ["LOADERS", "LoadReport", "Loader", "SeedError"]
