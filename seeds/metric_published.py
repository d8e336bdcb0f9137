"""Metric rounds, their weight schemes and the figures their reports published, with sources."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.models import MetricRound, PublishedFigure
from common.codes import BASES, FIGURE_SCOPES, INSTITUTION_TYPES
from metrics import SchemeError, validate_scheme

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, read_csv

ROUNDS_CSV = DATA_DIR / "metric_rounds.csv"
WEIGHTS_CSV = DATA_DIR / "metric_weights.csv"
PUBLISHED_CSV = DATA_DIR / "metric_published.csv"
# CMP: a figure the publication does not name as one of the indices (its words in ``measure``).
FIGURE_INDICES = ("GA", "T", "P", "TG", "TC", "PG", "PC", "GAg", "GAc", "N", "CMP")
LEVEL_KEYS = ("federal", "state", "municipal")


def _year(path: Path, number: int, text: str) -> int:
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise SeedError(path, number, "year", f"'{text}' is not a year")
    return int(text)


def _number(path: Path, number: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeedError(path, number, name, f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise SeedError(path, number, name, f"'{text}' is not a finite number")
    return value


def _state_key(key: str) -> bool:
    return key == "federal" or (key.isdigit() and len(key) == 2 and 1 <= int(key) <= 32)


def _institution_key(key: str) -> bool:
    """Whether ``key`` is "<cve_ent or federal>:<institution type code>:<name as printed>"."""
    parts = key.split(":", 2)
    return len(parts) == 3 and _state_key(parts[0]) and parts[1] in INSTITUTION_TYPES and bool(
        parts[2].strip()
    )


def load_weight_schemes() -> dict[int, dict[str, dict[str, float]]]:
    """Read every round's weight scheme from the seed file, validated."""
    schemes: dict[int, dict[str, dict[str, float]]] = defaultdict(dict)
    for number, row in read_csv(
        WEIGHTS_CSV, ("year", "subindex", "component", "label", "weight", "source")
    ):
        year = _year(WEIGHTS_CSV, number, row["year"])
        weight = _number(WEIGHTS_CSV, number, "weight", row["weight"])
        per_sub = schemes[year].setdefault(row["subindex"], {})
        if row["component"] in per_sub:
            raise SeedError(WEIGHTS_CSV, number, "component", "appears twice in its sub-index")
        per_sub[row["component"]] = weight
    for year, scheme in schemes.items():
        try:
            schemes[year] = validate_scheme(scheme)
        except SchemeError as exc:
            raise SeedError(WEIGHTS_CSV, None, "weight", f"{year}: {exc}") from None
    return dict(schemes)


def component_labels() -> dict[tuple[int, str, str], str]:
    """Return (year, sub-index, component) -> Spanish label as the report names it."""
    return {
        (int(row["year"]), row["subindex"], row["component"]): row["label"]
        for _, row in read_csv(WEIGHTS_CSV, ("year", "subindex", "component", "label"))
    }


def load_metric_published(session: Session) -> LoadReport:
    """Load the rounds, their weight schemes and their published figures."""
    report = LoadReport("metric")
    schemes = load_weight_schemes()
    rounds: dict[int, MetricRound] = {}
    for number, row in read_csv(ROUNDS_CSV, ("year", "label", "institutions", "source")):
        year = _year(ROUNDS_CSV, number, row["year"])
        if year in rounds:
            raise SeedError(ROUNDS_CSV, number, "year", f"{year} appears twice")
        values = {
            "label": row["label"],
            "source": row["source"],
            "weight_scheme": schemes.get(year, {}),
            "notes": row["notes"],
        }
        rounds[year], outcome = records.upsert(
            session, MetricRound, {"year": year}, values,
            actor=SEED_ACTOR, source=row["source"], summary=row["label"],
        )
        report.count(outcome)
    session.flush()

    seen: set[tuple] = set()
    figures: list[tuple[dict, dict, str]] = []
    required = ("year", "scope", "index", "source")
    for number, row in read_csv(PUBLISHED_CSV, required):
        year = _year(PUBLISHED_CSV, number, row["year"])
        if year not in rounds:
            raise SeedError(PUBLISHED_CSV, number, "year", f"{year} is not in {ROUNDS_CSV.name}")
        scope, key, index = row["scope"], row["scope_key"] or "", row["index"]
        if scope not in FIGURE_SCOPES:
            raise SeedError(
                PUBLISHED_CSV, number, "scope", f"'{scope}' is not one of {FIGURE_SCOPES}"
            )
        if index not in FIGURE_INDICES:
            raise SeedError(PUBLISHED_CSV, number, "index", f"'{index}' is not a known index")
        if scope == "national" and key:
            raise SeedError(PUBLISHED_CSV, number, "scope_key", "must be empty for national")
        if scope == "state" and not _state_key(key):
            raise SeedError(PUBLISHED_CSV, number, "scope_key", f"'{key}' is not a cve_ent")
        if scope == "level" and key not in LEVEL_KEYS:
            raise SeedError(PUBLISHED_CSV, number, "scope_key", f"'{key}' is not a level")
        if scope == "institution" and not _institution_key(key):
            raise SeedError(
                PUBLISHED_CSV, number, "scope_key",
                f"'{key}' is not <cve_ent or federal>:<institution type>:<name>",
            )
        rank = row.get("rank_printed")
        if row["value"] is None and not rank:
            raise SeedError(PUBLISHED_CSV, number, "value", "is empty and no rank_printed is given")
        value = None if row["value"] is None else _number(
            PUBLISHED_CSV, number, "value", row["value"])
        if value is not None and index != "N" and not 0 <= value <= 1:
            raise SeedError(PUBLISHED_CSV, number, "value", f"{value} is outside [0, 1]")
        if (index == "CMP") != bool(row.get("measure")):
            raise SeedError(PUBLISHED_CSV, number, "measure",
                            "is what a CMP figure measures, and only a CMP figure has one")
        publication = row.get("publication") or ""
        basis = row.get("basis") or "published"
        if basis not in BASES:
            raise SeedError(PUBLISHED_CSV, number, "basis", f"'{basis}' is not a known basis")
        if basis in ("computed", "inferred") and not row.get("reasoning"):
            raise SeedError(PUBLISHED_CSV, number, "reasoning", f"a {basis} figure needs it")
        for name, text in (("scope_key", key), ("publication", publication),
                           ("rank_printed", rank)):
            limit = getattr(PublishedFigure.__table__.c[name].type, "length", None)
            if text and limit and len(text) > limit:
                raise SeedError(PUBLISHED_CSV, number, name,
                                f"is {len(text)} characters long, at most {limit} fit")
        identity = (year, scope, key, index, publication)
        if identity in seen:
            raise SeedError(PUBLISHED_CSV, number, None, f"{identity} appears twice")
        seen.add(identity)
        decimals = int(row["decimals"]) if row["decimals"] else None
        figures.append((
            {
                "round_id": rounds[year].id, "scope": scope, "scope_key": key,
                "index_name": index, "publication": publication,
            },
            {
                "value": value, "decimals": decimals, "note": row["note"], "basis": basis,
                "reasoning": row.get("reasoning"), "rank_printed": rank,
                "measure": row.get("measure"), "source": row["source"],
            },
            f"{year} · {scope} {key} · {index}: {row['value'] or rank}".replace("  ", " "),
        ))
    for ident, values, summary in figures:
        _, outcome = records.upsert(
            session, PublishedFigure, ident, values,
            actor=SEED_ACTOR, source=values["source"], summary=summary,
        )
        report.count(outcome)
    # A seeded figure the file no longer holds (e.g. one that only the press prints, once
    # listed as the report's) is withdrawn: soft-deleted, its history kept.
    wanted = {tuple(ident.values()) for ident, _, _ in figures}
    for stale in session.scalars(select(PublishedFigure)):
        stale_ident = (stale.round_id, stale.scope, stale.scope_key, stale.index_name,
                       stale.publication)
        if stale_ident not in wanted and records.soft_delete(
            session, stale, actor=SEED_ACTOR, source=stale.source,
            summary="Cifra retirada del archivo de cifras publicadas",
        ):
            report.count("updated")
    return report
