"""Read metric rounds from the database as frames and aggregate them with the engine.

Functions take a session and never commit. Other areas use ``round_years``,
``state_index_values`` and ``state_results`` (maps and state pages).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsFloat, cast

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import params
from app.listing import ListSpec, Sort, columns
from app.models import (
    FieldworkRound,
    Institution,
    InstitutionAlias,
    MetricRound,
    MetricScore,
    PublishedFigure,
    State,
)
from app.states.service import state_names
from common.codes import FEDERATION as FEDERATION_LABEL
from common.codes import INSTITUTION_TYPES, LEVELS, MAIN_INDICES, STATE_CODES, translate
from common.codes import NATIONAL as NATIONAL_LABEL
from common.text import fold
from metrics import (
    FEDERAL_KEY,
    INDICES,
    Comparison,
    aggregate,
    compare_rounds,
    compute_indices,
    rank_desc,
)
from metrics.names import institution_key

from .labels import group_label

SCORE_COLUMNS = {
    "TG": MetricScore.tg,
    "TC": MetricScore.tc,
    "PG": MetricScore.pg,
    "PC": MetricScore.pc,
    "T": MetricScore.t,
    "P": MetricScore.p,
    "GA": MetricScore.ga,
}
FRAME_COLUMNS = ["id", "key", "name", "level", "kind", "state", "municipality_code", "year"]


def round_years(session: Session) -> list[int]:
    """Return the years of the rounds that have scores loaded, ascending."""
    stmt = (
        select(MetricRound.year)
        .where(select(MetricScore.id).where(MetricScore.round_id == MetricRound.id).exists())
        .order_by(MetricRound.year)
    )
    return list(session.scalars(stmt))


def rounds_frame(session: Session, years: list[int] | None = None) -> pd.DataFrame:
    """Return the scores of the given rounds (all loaded when None) as one engine frame.

    One row per institution and round, with the engine's columns plus ``id`` (institution)
    and ``year``; GAg and GAc are derived by the engine.
    """
    stmt = (
        select(
            Institution.id,
            Institution.key,
            Institution.name,
            Institution.level,
            Institution.kind,
            Institution.state_cve,
            Institution.municipality_code,
            MetricRound.year,
            *SCORE_COLUMNS.values(),
        )
        .join(MetricScore, MetricScore.institution_id == Institution.id)
        .join(MetricRound, MetricRound.id == MetricScore.round_id)
        .order_by(MetricRound.year, Institution.id)
    )
    if years is not None:
        stmt = stmt.where(MetricRound.year.in_(years))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame.from_records(
        rows, columns=[*FRAME_COLUMNS, *SCORE_COLUMNS], coerce_float=True
    )
    for index in SCORE_COLUMNS:
        frame[index] = frame[index].astype("float64")
    frame["state"] = frame["state"].astype(object).where(frame["state"].notna(), None)
    return compute_indices(frame).frame


def round_frame(session: Session, year: int) -> pd.DataFrame:
    """Return one round's scores as an engine frame (empty when the round has none)."""
    return rounds_frame(session, [year])


def state_index_values(session: Session, year: int, index: str) -> dict[str, float]:
    """Return cve_ent -> the state's mean of ``index`` in round ``year``.

    The mean is simple and unweighted over the state's institutions; federal institutions
    are excluded and states without a value are absent.
    """
    if index not in INDICES:
        raise ValueError(f"unknown index {index!r}; choose one of {', '.join(INDICES)}")
    frame = round_frame(session, year)
    if frame.empty:
        return {}
    table = aggregate(frame, "state", [index])
    table = table[(table["key"] != FEDERAL_KEY) & table[index].notna()]
    return {str(k): float(v) for k, v in zip(table["key"], table[index], strict=True)}


@dataclass
class StateRoundResult:
    """One state's figures in one round, beside the national ones and the published ones."""

    year: int
    label: str
    institutions: int
    values: dict[str, float | None]
    national: dict[str, float | None]
    published: dict[str, float] = field(default_factory=dict)
    rank: int | None = None
    ranked: int = 0

    @property
    def difference(self) -> float | None:
        """Computed GA minus the published GA, when both exist."""
        computed = self.values.get("GA")
        if computed is None or "GA" not in self.published:
            return None
        return computed - self.published["GA"]


def _whole(value: object) -> int:
    """A whole number as pandas holds it (a Python or numpy number, e.g. a year) as an int."""
    if not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{value!r} is not a number")
    return int(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts (the frames here name their columns with strings)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _clean(value: object) -> float | None:
    """A number of a frame as a float; None for None, NA and NaN (unknown stays unknown)."""
    if value is None or value is pd.NA:
        return None
    if not isinstance(value, SupportsFloat):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    return None if np.isnan(number) else number


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


def state_results(session: Session, cve_ent: str) -> list[StateRoundResult]:
    """Return the state's results in every loaded round (oldest first).

    Each has the state's indices, the national ones, the published figures for the state,
    the state's GA rank among the states (ties share the best rank) and the number ranked.
    """
    frame = rounds_frame(session)
    if frame.empty:
        return []
    labels = dict(session.execute(select(MetricRound.year, MetricRound.label)).all())
    published = published_figures(session, "state", cve_ent)
    results = []
    for group, one in frame.groupby("year", sort=True):
        year = _whole(group)
        states = aggregate(one, "state")
        national = aggregate(one, "national").iloc[0]
        row = states[states["key"] == cve_ent]
        ranked = int(states["GA_rank"].notna().sum())
        if row.empty:
            values: dict[str, float | None] = dict.fromkeys(INDICES)
            count, rank = 0, None
        else:
            first = row.iloc[0]
            values = {i: _clean(first[i]) for i in INDICES}
            count = int(first["n"])
            rank = None if pd.isna(first["GA_rank"]) else int(first["GA_rank"])
        results.append(
            StateRoundResult(
                year=year,
                label=labels.get(year, str(year)),
                institutions=count,
                values=values,
                national={i: _clean(national[i]) for i in INDICES},
                published=published.get(year, {}).get(cve_ent, {}),
                rank=rank,
                ranked=ranked,
            )
        )
    return results


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


# --- Summaries and comparisons (flask metric summary/compare and the pages) ----------


def _num(value: Any, digits: int = 6) -> float | int | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, int | bool):
        return int(value)
    number = float(value)
    return int(number) if digits == 0 else round(number, digits)


def summary_rows(
    session: Session, year: int, by: str, indices: Sequence[str] = INDICES,
    frame: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Return one dict per group: computed figures, published ones and differences, ranks."""
    frame = round_frame(session, year) if frame is None else frame
    if frame.empty:
        return []
    table = aggregate(frame, by, indices)
    published = published_figures(session, by).get(year, {})
    names = state_names(session) if by == "state" else {}
    rows = []
    for record in table.to_dict("records"):
        key = str(record["key"])
        figures = published.get(key, {})
        row: dict[str, Any] = {
            "key": key,
            "name": group_label(by, key, names),
            "n": int(record["n"]),
            "n_published": _num(figures.get("N"), 0),
        }
        for index in indices:
            value = _num(record[index])
            shown = figures.get(index)
            row[index] = value
            row[f"{index}_published"] = shown
            row[f"{index}_difference"] = (
                None if value is None or shown is None else round(value - shown, 6)
            )
            row[f"{index}_min"] = _num(record[f"{index}_min"])
            row[f"{index}_max"] = _num(record[f"{index}_max"])
            row[f"{index}_rank"] = _num(record[f"{index}_rank"], 0)
        rows.append(row)
    return rows


def summary_table(
    session: Session, year: int, by: str, indices: Sequence[str] = INDICES
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return the columns and rows that ``flask metric summary`` prints."""
    rows = summary_rows(session, year, by, indices)
    columns = ["key", "name", "n", "n_published"]
    for index in indices:
        columns += [index, f"{index}_published", f"{index}_difference"]
    columns.append("GA_rank")
    return columns, [{c: r.get(c) for c in columns} for r in rows]


def comparison(
    session: Session, before: int, after: int, filters: dict[str, Any] | None = None
) -> Comparison:
    """Return the engine's comparison of two loaded rounds (of the filtered institutions).

    ``filters`` may hold ``state`` (a cve_ent, or "federal"), ``level`` and ``type``.
    """
    # The importer matched keys to institution ids, so ids identify institutions here.
    return compare_rounds(_filtered(round_frame(session, before), filters),
                          _filtered(round_frame(session, after), filters), on="id")


def _filtered(frame: pd.DataFrame, filters: dict[str, Any] | None) -> pd.DataFrame:
    """The rows of a round frame kept by ``state``/``level``/``type`` filters (None: all)."""
    filters = filters or {}
    keep = pd.Series(True, index=frame.index)
    state = filters.get("state")
    if state == "federal":
        keep &= frame["state"].isna()
    elif state:
        keep &= frame["state"] == state
    if filters.get("level"):
        keep &= frame["level"] == filters["level"]
    if filters.get("type"):
        keep &= frame["kind"] == filters["type"]
    return frame[keep]


def comparison_table(
    session: Session, before: int, after: int, by: str, indices: Sequence[str] = ("GA", "T", "P"),
    result: Comparison | None = None,
) -> tuple[list[str], list[dict[str, Any]], dict[str, int]]:
    """Return columns, rows (groups over matched institutions) and the matched counts."""
    result = comparison(session, before, after) if result is None else result
    table = result.by(by)
    names = state_names(session) if by == "state" else {}
    columns = ["key", "name", "n_matched", "entered", "left"]
    for index in indices:
        columns += [f"{index}_before", f"{index}_after", f"{index}_delta",
                    f"{index}_rank_before", f"{index}_rank_after", f"{index}_rank_change"]
    rows = []
    for record in table.to_dict("records"):
        row: dict[str, str | float | None] = {
            "key": str(record["key"]), "name": group_label(by, str(record["key"]), names),
        }
        for column in columns[2:]:
            digits = 0 if "rank" in column or column in ("n_matched", "entered", "left") else 6
            row[column] = _num(record.get(column), digits)
        rows.append(row)
    counts = {"matched": len(result.matched), "entered": len(result.entered),
              "left": len(result.left)}
    return columns, rows, counts


# --- What the metric pages show (views call these; so will the API and the CLI) ----------

# GA bands of the distribution by type: [0, 0.2), [0.2, 0.4), ... [0.8, 1].
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)
TOP = 10


def round_by_year(session: Session, year: int) -> MetricRound | None:
    return session.scalars(select(MetricRound).where(MetricRound.year == year)).first()


@dataclass
class RoundSummaryItem:
    round: MetricRound
    scores: int
    computed: dict[str, float | None]
    published: dict[str, float]


def rounds_overview(session: Session) -> list[RoundSummaryItem]:
    """Every round: its scores loaded, computed national means and published figures."""
    counts = dict(session.execute(
        select(MetricScore.round_id, func.count()).group_by(MetricScore.round_id)
    ).all())
    national = published_figures(session, "national")
    loaded = round_years(session)
    computed: dict[int, dict[str, float | None]] = {}
    if loaded:
        means = rounds_frame(session, loaded).groupby("year")[list(MAIN_INDICES)].mean()
        for year, row in means.iterrows():
            computed[_whole(year)] = {i: _clean(row[i]) for i in MAIN_INDICES}
    return [
        RoundSummaryItem(r, counts.get(r.id, 0), computed.get(r.year, {}),
                         national.get(r.year, {}).get("", {}))
        for r in session.scalars(select(MetricRound).order_by(MetricRound.year))
    ]


def institution_rows(frame: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    """One dict per institution of a round frame, with labels and its GA rank in the round."""
    if frame.empty:
        return []
    ranks = rank_desc(frame["GA"])
    rows = []
    for record, rank in zip(frame.to_dict("records"), ranks, strict=True):
        state = record["state"]
        rows.append({
            "id": int(record["id"]),
            "key": record["key"],
            "name": record["name"],
            "level": record["level"],
            "level_label": LEVELS.label(record["level"]),
            "kind": record["kind"],
            "kind_label": INSTITUTION_TYPES.label(record["kind"]),
            "state": state or "",
            "state_name": names.get(state, "") if state else group_label("state", "federal", {}),
            **{i: _clean(record[i]) for i in INDICES},
            "rank": None if rank is pd.NA else int(rank),
        })
    return rows


def distribution(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Count institutions of each type per GA band (unknown GA counted apart)."""
    rows = []
    for kind, group in frame.groupby("kind", sort=True):
        values = group["GA"].to_numpy(dtype="float64")
        known = values[~np.isnan(values)]
        counts, _edges = np.histogram(known, bins=BANDS)
        rows.append({
            "kind": kind,
            "label": INSTITUTION_TYPES.label(kind),
            "n": len(values),
            "bands": [int(c) for c in counts],
            "unknown": int(np.isnan(values).sum()),
            "median": float(np.median(known)) if len(known) else None,
            "zero": int((known == 0).sum()),
        })
    return rows


@dataclass
class RoundDetail:
    """A round's page: national, state, level and type figures, extremes, distribution."""

    round: MetricRound
    national: dict[str, Any] | None
    published: dict[str, float]
    states: list[dict[str, Any]]
    levels: list[dict[str, Any]]
    types: list[dict[str, Any]]
    best: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    distribution: list[dict[str, Any]]
    loaded_years: list[int]
    # State figures as published: all of them for a round without institution data,
    # otherwise those the state table does not show (press, caveats, disagreements).
    state_figures: list[PublishedRow] = field(default_factory=list)
    # National figures of other publications (the press) or another basis than the report's.
    national_figures: list[PublishedRow] = field(default_factory=list)
    # The year of the fieldwork round this round was published from (None: imported).
    fieldwork_year: int | None = None


def round_detail(session: Session, metric_round: MetricRound) -> RoundDetail:
    year = metric_round.year
    frame = round_frame(session, year)
    national = summary_rows(session, year, "national", frame=frame)
    best: list[dict[str, Any]] = []
    worst: list[dict[str, Any]] = []
    if not frame.empty:
        rank_of = {r["id"]: r["rank"] for r in institution_rows(frame, {})}
        names = state_names(session)
        ranked = frame[frame["GA"].notna()].sort_values(["GA", "name"], ascending=[False, True])
        best = institution_rows(ranked.head(TOP), names)
        worst = institution_rows(ranked.tail(TOP).iloc[::-1], names)
        for row in (*best, *worst):
            row["rank"] = rank_of[row["id"]]
    types = summary_rows(session, year, "type", frame=frame)
    types.sort(key=lambda r: (r["GA"] is None, -(r["GA"] or 0)))
    return RoundDetail(
        round=metric_round,
        national=national[0] if national else None,
        published=published_figures(session, "national").get(year, {}).get("", {}),
        states=summary_rows(session, year, "state", frame=frame),
        levels=summary_rows(session, year, "level", frame=frame),
        types=types,
        best=best,
        worst=worst,
        distribution=distribution(frame) if not frame.empty else [],
        loaded_years=round_years(session),
        state_figures=published_rows(
            session, "state", year=year, only="extra" if not frame.empty else "all"),
        national_figures=[r for r in published_rows(session, "national", year=year)
                          if r.publication or r.basis != "published"],
        fieldwork_year=session.scalar(select(FieldworkRound.year).where(
            FieldworkRound.published_round_id == metric_round.id)),
    )


def round_institutions(session: Session, year: int) -> list[dict[str, Any]]:
    return institution_rows(round_frame(session, year), state_names(session))


INSTITUTION_COLUMNS = ("id", "key", "name", "level", "kind", "state", "state_name", *INDICES,
                       "rank")


# What an institution's state filter takes: a state code, or "federal" (no state).
INSTITUTION_STATES = (FEDERAL_KEY, *STATE_CODES)

# A round's institutions with their scores: the page /metric/<year>/institutions and the API.
ROUND_INSTITUTIONS = ListSpec(
    name="metrica-instituciones",
    filters={
        "state": params.choice(INSTITUTION_STATES, metadata={
            "description": "INEGI state code, or 'federal' for federal institutions."}),
        "type": params.choice(INSTITUTION_TYPES.codes, metadata={
            "description": "Institution type."}),
        "level": params.choice(LEVELS.codes, metadata={"description": "Level of government."}),
        "q": params.text(metadata={"description": "Words of the name (accents and case "
                                                   "ignored)."}),
    },
    sorts={
        "rank": Sort(), "name": Sort(), "state_name": Sort(), "kind_label": Sort(),
        **{i: Sort(descending=True) for i in INDICES},
    },
    default_sort="rank",
    columns=columns(*INSTITUTION_COLUMNS),
)


def _matches(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    state = filters.get("state")
    if state and row["state"] != ("" if state == "federal" else state):
        return False
    if filters.get("type") and row["kind"] != filters["type"]:
        return False
    if filters.get("level") and row["level"] != filters["level"]:
        return False
    name = fold(row["name"])
    return all(word in name for word in fold(filters.get("q") or "").split())


def filter_institutions(
    rows: list[dict[str, Any]], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """The rows of ``round_institutions`` that ROUND_INSTITUTIONS' filters keep."""
    return [r for r in rows if _matches(r, filters)]


@dataclass
class InstitutionHistory:
    institution: Institution
    state: State | None
    rows: list[dict[str, Any]]
    scores: dict[int, MetricScore]


def institution_history(session: Session, inst: Institution) -> InstitutionHistory:
    """The institution in every round: indices, rank, the national and its type's GA."""
    frame = rounds_frame(session)
    rows = []
    for year, one in (frame.groupby("year", sort=True) if not frame.empty else ()):
        mine = one[one["id"] == inst.id]
        if mine.empty:
            continue
        rank = rank_desc(one["GA"])[mine.index[0]]
        record = mine.iloc[0]
        rows.append({
            "year": _whole(year),
            **{i: _clean(record[i]) for i in (*INDICES, "GAg", "GAc")},
            "rank": None if rank is pd.NA else int(rank),
            "ranked": int(one["GA"].notna().sum()),
            "national_GA": _clean(one["GA"].mean()),
            "kind_GA": _clean(one[one["kind"] == inst.kind]["GA"].mean()),
        })
    scores = {
        s.round.year: s
        for s in session.scalars(select(MetricScore).where(MetricScore.institution_id == inst.id))
    }
    state = session.get(State, inst.state_cve) if inst.state_cve else None
    return InstitutionHistory(inst, state, rows, scores)


@dataclass
class RoundComparison:
    """Two rounds compared over their matched institutions, grouped ``by``."""

    before: int
    after: int
    by: str
    counts: dict[str, int]
    groups: list[dict[str, Any]]
    up: list[dict[str, Any]]
    down: list[dict[str, Any]]
    all_view: list[dict[str, Any]]
    matched: pd.DataFrame
    national: dict[str, Any] | None = None  # the national row over matched institutions
    states: list[dict[str, Any]] = field(default_factory=list)  # every state, for the charts
    institutions: list[dict[str, Any]] = field(default_factory=list)  # matched, named

    @property
    def matched_rows(self) -> list[dict[str, Any]]:
        """The matched institutions, one dict per row (the download of the page's link)."""
        return _records(self.matched)


def compare(
    session: Session, before: int, after: int, by: str, filters: dict[str, Any] | None = None
) -> RoundComparison:
    result = comparison(session, before, after, filters)
    _columns, groups, counts = comparison_table(session, before, after, by, result=result)
    _columns, national, _counts = comparison_table(session, before, after, "national",
                                                   result=result)
    _columns, states, _counts = comparison_table(session, before, after, "state",
                                                 result=result)
    names = state_names(session)
    movers = result.matched.sort_values("GA_delta", ascending=False, na_position="last")
    known = movers.dropna(subset=["GA_delta"])

    def named(frame: pd.DataFrame) -> list[dict[str, Any]]:
        records = _records(frame)
        for r in records:
            state = next((s for s in (r.get("state_after"), r.get("state_before"))
                          if isinstance(s, str) and s), None)  # NaN: a federal body
            r["state_name"] = names.get(state, "") if state else group_label("state", "federal", {})
        return records

    all_view = _records(result.all_institutions(by))
    for r in all_view:
        r["name"] = group_label(by, str(r["key"]), names)
    return RoundComparison(
        before=before, after=after, by=by, counts=counts, groups=groups,
        up=named(known.head(TOP)), down=named(known.tail(TOP).iloc[::-1]),
        all_view=all_view, matched=result.matched,
        national=national[0] if national else None,
        states=[s for s in states if s["key"] != FEDERAL_KEY],
        institutions=named(movers),
    )


# --- Trends over rounds and comparisons of published figures (charts) --------------------


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
class Trend:
    """A scope's (national or one state's) indices in every round, published and computed."""

    years: list[int]
    labels: dict[int, str]
    published: dict[int, dict[str, PublishedValue]]
    computed: dict[int, dict[str, float | None]]  # rounds with institution data only
    indices: list[str]  # the indices with a published or computed value, in INDICES order
    ranks: dict[int, tuple[int | None, int]] = field(default_factory=dict)  # (rank, ranked)
    national: dict[int, dict[str, float | None]] = field(default_factory=dict)
    # Values other publications (the press) print: year -> index -> distinct values, sorted.
    press: dict[int, dict[str, list[float]]] = field(default_factory=dict)

    def notes(self) -> list[tuple[int, str, str]]:
        """(year, indices, note) of every caveated published figure, one line per note."""
        found: dict[tuple[int, str], list[str]] = {}
        for year in self.years:
            for index in INDICES:
                figure = self.published.get(year, {}).get(index)
                if figure is not None and figure.note:
                    found.setdefault((year, figure.note), []).append(index)
        return [(year, ", ".join(indices), note) for (year, note), indices in found.items()]


def _trend_indices(published: dict[int, dict[str, Any]],
                   computed: dict[int, dict[str, float | None]]) -> list[str]:
    present = {i for figures in published.values() for i in figures}
    present |= {i for values in computed.values() for i, v in values.items() if v is not None}
    return [i for i in INDICES if i in present]


def national_trend(session: Session) -> Trend:
    """The national indices of every round: published (with caveats) and computed."""
    rounds = session.execute(select(MetricRound.year, MetricRound.label)
                             .order_by(MetricRound.year)).all()
    published = published_details(session, "national")
    computed: dict[int, dict[str, float | None]] = {}
    loaded = round_years(session)
    if loaded:
        means = rounds_frame(session, loaded).groupby("year")[list(INDICES)].mean()
        for year, row in means.iterrows():
            computed[_whole(year)] = {i: _clean(row[i]) for i in INDICES}
    return Trend(years=[y for y, _ in rounds], labels=dict(rounds), published=published,
                 computed=computed, indices=_trend_indices(published, computed),
                 press=press_values(session, "national"))


def state_trend(session: Session, cve_ent: str) -> Trend:
    """One state's indices in every round (published, computed), its GA rank, the national."""
    rounds = session.execute(select(MetricRound.year, MetricRound.label)
                             .order_by(MetricRound.year)).all()
    published = published_details(session, "state", cve_ent)
    computed, ranks, national = {}, {}, {}
    for result in state_results(session, cve_ent):
        if result.institutions:
            computed[result.year] = result.values
            ranks[result.year] = (result.rank, result.ranked)
        national[result.year] = result.national
    return Trend(years=[y for y, _ in rounds], labels=dict(rounds), published=published,
                 computed=computed, indices=_trend_indices(published, computed), ranks=ranks,
                 national=national, press=press_values(session, "state", cve_ent))


@dataclass
class PublishedComparison:
    """Two rounds compared through the figures INAI published (no institution files needed)."""

    before: int
    after: int
    national: list[dict[str, Any]]  # index, before, after, delta, notes
    states: list[dict[str, Any]]  # key, name, before, after, delta (GA, where both published)
    missing_files: list[int]  # the two rounds' years that have no institution file loaded
    trend: Trend  # the national series of every round, for the chart


def all_round_years(session: Session) -> list[int]:
    """Every round's year (with or without institution data), ascending."""
    return list(session.scalars(select(MetricRound.year).order_by(MetricRound.year)))


def compare_published(session: Session, before: int, after: int) -> PublishedComparison:
    national = published_details(session, "national")
    a, b = national.get(before, {}), national.get(after, {})
    rows = []
    for index in (*MAIN_INDICES, *(i for i in INDICES if i not in MAIN_INDICES)):
        x, y = a.get(index), b.get(index)
        if x is None and y is None:
            continue
        rows.append({
            "index": index,
            "before": x.value if x else None, "after": y.value if y else None,
            "delta": round(y.value - x.value, 6) if x and y else None,
            "notes": [f"{year}: {f.note}" for year, f in ((before, x), (after, y))
                      if f is not None and f.note],
        })
    states_before = published_figures(session, "state").get(before, {})
    states_after = published_figures(session, "state").get(after, {})
    names = state_names(session)
    states = []
    def by_name(code: str) -> str:
        return fold(names.get(code, code))

    for key in sorted(set(states_before) | set(states_after), key=by_name):
        ga_before = states_before.get(key, {}).get("GA")
        ga_after = states_after.get(key, {}).get("GA")
        if ga_before is None and ga_after is None:
            continue
        states.append({
            "key": key, "name": names.get(key, key), "before": ga_before, "after": ga_after,
            "delta": (round(ga_after - ga_before, 6)
                      if ga_before is not None and ga_after is not None else None),
        })
    loaded = set(round_years(session))
    return PublishedComparison(before, after, rows, states,
                               [y for y in (before, after) if y not in loaded],
                               national_trend(session))


@dataclass
class StateInstitutions:
    """A state's institutions in its latest round with institution data, against the nation."""

    year: int | None
    by_type: list[dict[str, Any]]  # kind, label, n, GA (state mean), national, delta
    best: list[dict[str, Any]]  # institution_rows (national GA rank), highest GA first
    worst: list[dict[str, Any]]  # lowest GA first; never repeats one of ``best``
    ranked: int = 0  # institutions with a GA in the round, nationally


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def state_institutions(session: Session, cve_ent: str, limit: int = 5) -> StateInstitutions:
    """The state's institutions by type (mean GA beside the national mean of the type) and
    its ``limit`` best and worst by GA, in the latest round where the state has any."""
    names = state_names(session)
    for year in reversed(round_years(session)):
        rows = institution_rows(round_frame(session, year), names)
        mine = [r for r in rows if r["state"] == cve_ent]
        if mine:
            break
    else:
        return StateInstitutions(None, [], [], [])
    by_type = []
    for kind in sorted({r["kind"] for r in mine}, key=INSTITUTION_TYPES.label):
        here = [r["GA"] for r in mine if r["kind"] == kind and r["GA"] is not None]
        everywhere = [r["GA"] for r in rows if r["kind"] == kind and r["GA"] is not None]
        state_mean, national = _mean(here), _mean(everywhere)
        by_type.append({
            "kind": kind, "label": INSTITUTION_TYPES.label(kind),
            "n": sum(r["kind"] == kind for r in mine), "GA": state_mean, "national": national,
            "delta": None if state_mean is None or national is None else state_mean - national,
        })
    known = sorted((r for r in mine if r["GA"] is not None), key=lambda r: (-r["GA"], r["name"]))
    best = known[:limit]
    worst = known[len(best):][::-1][:limit]
    ranked = sum(r["GA"] is not None for r in rows)
    return StateInstitutions(year, by_type, best, worst, ranked)


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
