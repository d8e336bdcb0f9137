"""Published figures: the rounds' reports and other publications, as pages list them.

Figures exactly as printed (``PublishedFigure``): by scope, with their precision, caveat,
basis and source; the values other publications (the press) print; the best-scoring
institution of each entity as published, beside what is computed for it. Functions take a
session and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Institution, InstitutionAlias, MetricRound, MetricScore, PublishedFigure
from app.states.service import state_names
from common.codes import FEDERATION as FEDERATION_LABEL
from common.codes import INSTITUTION_TYPES, translate
from common.codes import NATIONAL as NATIONAL_LABEL
from common.text import fold
from metrics import INDICES
from metrics.names import institution_key

from .scores import round_years


def published_figures(
    session: Session, scope: str, scope_key: str | None = None
) -> dict[int, dict[str, dict[str, float]]]:
    """Return year -> scope_key -> index -> published value for ``scope``."""
    stmt = (
        select(MetricRound.year, PublishedFigure.scope_key, PublishedFigure.index_name,
               PublishedFigure.value)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        # The round's official report; other publications (the press) are listed apart.
        .where(PublishedFigure.scope == scope, PublishedFigure.publication == "",
               PublishedFigure.value.is_not(None))
    )
    if scope_key is not None:
        stmt = stmt.where(PublishedFigure.scope_key == scope_key)
    result: dict[int, dict[str, dict[str, float]]] = {}
    for year, key, index, value in session.execute(stmt):
        if value is not None:  # (filtered above)
            result.setdefault(year, {}).setdefault(key, {})[index] = value
    return result



@dataclass(frozen=True)
class PublishedRow:
    """One published figure as a page lists it: value, basis, caveat and source.

    ``published_only`` when its round has no institution data (nothing computed beside it);
    ``others`` holds the values other publications print for the same figure, when they
    differ (both are shown, neither is chosen).
    """

    year: int
    scope_key: str
    name: str
    index: str
    value: float | None  # None: the publication prints only a place
    decimals: int | None
    publication: str
    basis: str
    note: str | None
    source: str
    published_only: bool
    others: tuple[float, ...] = ()
    rank_printed: str | None = None
    measure: str | None = None  # the publication's words for a CMP figure
    other_ranks: tuple[str, ...] = ()  # places other publications print for the same figure


def _rank_key(text: str) -> str:
    """A printed place reduced to what it says: its leading number, else its folded words."""
    number = re.match(r"\d+", text.strip())
    return number.group() if number else fold(text)


def published_rows(
    session: Session, scope: str = "state", *, scope_key: str | None = None,
    year: int | None = None, only: str = "all",
) -> list[PublishedRow]:
    """Published figures of ``scope`` (every publication), oldest round first.

    ``only="unloaded"`` keeps rounds without institution data; ``only="extra"`` keeps, for
    rounds with data, what the computed tables do not show (other publications, caveats,
    disagreements); "all" keeps everything.
    """
    stmt = (
        select(MetricRound.year, PublishedFigure)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        .where(PublishedFigure.scope == scope)
    )
    if scope_key is not None:
        stmt = stmt.where(PublishedFigure.scope_key == scope_key)
    if year is not None:
        stmt = stmt.where(MetricRound.year == year)
    found = session.execute(stmt).all()
    values: dict[tuple[int, str, str], set[float]] = {}
    ranks: dict[tuple[int, str, str], set[str]] = {}
    for y, f in found:
        # A CMP figure is only compared with figures of the same words.
        ident = (y, f.scope_key, f.index_name if f.index_name != "CMP" else f"CMP:{f.measure}")
        if f.value is not None:
            values.setdefault(ident, set()).add(f.value)
        if f.rank_printed:
            ranks.setdefault(ident, set()).add(f.rank_printed)
    place = {ident: {_rank_key(r): r for r in found_ranks} for ident, found_ranks in ranks.items()}
    loaded = set(round_years(session))
    names = state_names(session) if scope == "state" else {}
    order = {index: n for n, index in enumerate(("N", *INDICES))}
    rows = []
    for y, f in found:
        ident = (y, f.scope_key, f.index_name if f.index_name != "CMP" else f"CMP:{f.measure}")
        others = tuple(sorted(values.get(ident, set()) - {f.value}))
        # Places printed differently ("3 (tercer lugar)", "3 (tercer puesto)") are one place.
        mine = _rank_key(f.rank_printed) if f.rank_printed else None
        other_ranks = tuple(sorted(r for k, r in place.get(ident, {}).items() if k != mine))
        unloaded = y not in loaded
        keep = (only == "all" or (only == "unloaded" and unloaded)
                or (only == "extra" and not unloaded
                    and (f.publication != "" or bool(f.note) or bool(others))))
        if keep:
            name = names.get(f.scope_key, f.scope_key) or translate(NATIONAL_LABEL)
            rows.append(PublishedRow(
                y, f.scope_key, name, f.index_name, f.value,
                f.decimals, f.publication, f.basis, f.note, f.source, unloaded, others,
                f.rank_printed, f.measure, other_ranks))
    rows.sort(key=lambda r: (r.year, fold(r.name), order.get(r.index, 99), r.publication))
    return rows



@dataclass(frozen=True)
class PublishedValue:
    """A published figure with its precision, its caveat (if any) and its source."""

    value: float
    decimals: int | None
    note: str | None
    source: str


def published_details(
    session: Session, scope: str, scope_key: str = ""
) -> dict[int, dict[str, PublishedValue]]:
    """Return year -> index -> the published figure of ``scope``/``scope_key``, every round."""
    stmt = (
        select(MetricRound.year, PublishedFigure.index_name, PublishedFigure.value,
               PublishedFigure.decimals, PublishedFigure.note, PublishedFigure.source)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        .where(PublishedFigure.scope == scope, PublishedFigure.scope_key == scope_key,
               PublishedFigure.publication == "", PublishedFigure.value.is_not(None))
    )
    result: dict[int, dict[str, PublishedValue]] = {}
    for year, index, value, decimals, note, source in session.execute(stmt):
        if value is not None:  # (filtered above; the column may hold a place without a value)
            result.setdefault(year, {})[index] = PublishedValue(value, decimals, note, source)
    return result


def press_values(
    session: Session, scope: str, scope_key: str = ""
) -> dict[int, dict[str, list[float]]]:
    """Return year -> index -> the distinct values other publications print (GA, T, P...)."""
    stmt = (
        select(MetricRound.year, PublishedFigure.index_name, PublishedFigure.value)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        .where(PublishedFigure.scope == scope, PublishedFigure.scope_key == scope_key,
               PublishedFigure.publication != "", PublishedFigure.value.is_not(None),
               PublishedFigure.index_name.in_(INDICES))
    )
    found: dict[int, dict[str, set[float]]] = {}
    for year, index, value in session.execute(stmt):
        if value is not None:  # (filtered above)
            found.setdefault(year, {}).setdefault(index, set()).add(value)
    return {y: {i: sorted(v) for i, v in per.items()} for y, per in found.items()}



@dataclass
class BestInstitution:
    """An entity's best-scoring institution of a round as published (GA, T, P as printed),
    beside what the round's institution file gives for it when the name matches one."""

    year: int
    entity: str  # cve_ent, or "federal" for the Federation
    entity_name: str
    kind: str
    kind_label: str
    name: str  # as printed
    published: dict[str, float]
    decimals: int | None
    note: str | None
    source: str
    institution_id: int | None = None
    computed: dict[str, float | None] = field(default_factory=dict)
    basis: str = "published"
    rank_printed: str | None = None


def _matched_institution(session: Session, entity: str, kind: str, name: str) -> int | None:
    """The institution a printed name designates, by the importer's stable key or an alias."""
    level = "federal" if entity == "federal" else (
        "municipal" if kind == "municipality" else "state")
    key = institution_key(level, None if entity == "federal" else entity, name)
    found = session.scalar(select(Institution.id).where(Institution.key == key))
    if found is None:
        found = session.scalar(
            select(InstitutionAlias.institution_id).where(InstitutionAlias.alias_key == key)
        )
    return found


def best_institutions(
    session: Session, *, cve_ent: str | None = None, year: int | None = None
) -> list[BestInstitution]:
    """The published best-scoring institution of each entity (scope "institution"), oldest
    round first, with the computed GA, T and P of the matched institution where one matches."""
    stmt = (
        select(MetricRound.id, MetricRound.year, PublishedFigure)
        .join(MetricRound, MetricRound.id == PublishedFigure.round_id)
        .where(PublishedFigure.scope == "institution")
        .order_by(MetricRound.year, PublishedFigure.scope_key, PublishedFigure.id)
    )
    if cve_ent is not None:
        stmt = stmt.where(PublishedFigure.scope_key.startswith(f"{cve_ent}:", autoescape=True))
    if year is not None:
        stmt = stmt.where(MetricRound.year == year)
    names = state_names(session)
    found: dict[tuple[int, str], BestInstitution] = {}
    rounds: dict[tuple[int, str], int] = {}
    for round_id, y, f in session.execute(stmt).all():
        entity, kind, name = f.scope_key.split(":", 2)
        item = found.get((y, f.scope_key))
        if item is None:
            item = found[(y, f.scope_key)] = BestInstitution(
                y, entity, names.get(entity, entity) if entity != "federal"
                else translate(FEDERATION_LABEL), kind, INSTITUTION_TYPES.label(kind), name, {},
                f.decimals, f.note, f.source, basis=f.basis, rank_printed=f.rank_printed)
            rounds[(y, f.scope_key)] = round_id
        if f.value is not None:  # a place printed without a value has none to show
            item.published[f.index_name] = f.value
    for ident, item in found.items():
        item.institution_id = _matched_institution(session, item.entity, item.kind, item.name)
        if item.institution_id is not None:
            score = session.scalars(select(MetricScore).where(
                MetricScore.round_id == rounds[ident],
                MetricScore.institution_id == item.institution_id,
            )).one_or_none()
            if score is not None:
                item.computed = {"GA": score.ga, "T": score.t, "P": score.p}
    return sorted(found.values(), key=lambda b: (b.year, b.entity == "federal", b.entity))
