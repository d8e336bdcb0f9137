"""Sourced seed data and its idempotent loaders, in the order ``flask seed all`` runs them.

Each loader takes a session, adds or updates rows (never commits) and returns a LoadReport.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from .base import LoadReport, SeedError
from .local import load_local
from .metric_published import load_metric_published
from .national import load_national
from .states import load_states

Loader = Callable[[Session], LoadReport]

# name -> (loader, one-line help); order matters: later datasets refer to earlier ones.
LOADERS: dict[str, tuple[Loader, str]] = {
    "states": (load_states, "The 32 states with INEGI codes, official names and ISO codes."),
    "local": (
        load_local,
        "Local co-creation exercises: stages, STL members, headline counts, plans, commitments.",
    ),
    "national": (
        load_national,
        "National OGP plans: 2011-2012 extended plan and plan 4, commitments, assessments.",
    ),
    "metric": (
        load_metric_published,
        "Metric rounds, their weight schemes and the figures INAI published (with sources).",
    ),
}

__all__ = ["LOADERS", "LoadReport", "Loader", "SeedError"]
