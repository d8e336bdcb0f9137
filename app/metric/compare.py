"""Comparing two rounds: over their matched institutions when both have institution files,
otherwise through the figures INAI published.

``compare_page`` gives the comparison page everything it shows, reading each round once;
``flask metric compare`` and the API's comparisons read ``comparison_table``. Functions take
a session and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
from sqlalchemy.orm import Session

from app.maps.service import active_layer
from app.states.service import state_names
from common.codes import MAIN_INDICES
from common.text import fold
from geodata.layers import Layer
from metrics import FEDERAL_KEY, INDICES, Comparison, compare_rounds

from .labels import group_label
from .published import published_details, published_figures
from .rounds import rounded, whole
from .scores import Scores, all_round_years, round_years
from .trends import Trend, national_trend

TOP = 10
COMPARED = ("GA", "T", "P")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts (the frames here name their columns with strings)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _filtered(frame: pd.DataFrame, filters: Mapping[str, Any] | None) -> pd.DataFrame:
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


def comparison(
    session: Session, before: int, after: int, filters: Mapping[str, Any] | None = None,
    scores: Scores | None = None,
) -> Comparison:
    """Return the engine's comparison of two loaded rounds (of the filtered institutions).

    ``filters`` may hold ``state`` (a cve_ent, or "federal"), ``level`` and ``type``.
    """
    scores = Scores(session) if scores is None else scores
    # The importer matched keys to institution ids, so ids identify institutions here.
    return compare_rounds(_filtered(scores.round(before), filters),
                          _filtered(scores.round(after), filters), on="id")


# --- Groups compared -----------------------------------------------------------------------


@dataclass(frozen=True)
class IndexChange:
    """One index of a group over its matched institutions: before, after, the change, and the
    group's rank in each round and its change (positive: moved up)."""

    before: float | None
    after: float | None
    delta: float | None
    rank_before: int | None
    rank_after: int | None
    rank_change: int | None


@dataclass(frozen=True)
class GroupChange:
    """A group (the nation, a state, a level, a type) compared over matched institutions."""

    key: str
    name: str
    n_matched: int | None
    entered: int | None
    left: int | None
    changes: dict[str, IndexChange]

    def row(self) -> dict[str, Any]:
        """The flat row of the downloads, the API and ``flask metric compare``."""
        out: dict[str, Any] = {"key": self.key, "name": self.name,
                               "n_matched": self.n_matched, "entered": self.entered,
                               "left": self.left}
        for index, c in self.changes.items():
            out.update({f"{index}_before": c.before, f"{index}_after": c.after,
                        f"{index}_delta": c.delta, f"{index}_rank_before": c.rank_before,
                        f"{index}_rank_after": c.rank_after,
                        f"{index}_rank_change": c.rank_change})
        return out


def group_changes(
    result: Comparison, by: str, names: Mapping[str, str], indices: Sequence[str] = COMPARED
) -> list[GroupChange]:
    """The comparison grouped ``by`` (groups over matched institutions only)."""
    rows = []
    for record in result.by(by).to_dict("records"):
        key = str(record["key"])
        changes = {}
        for index in indices:
            changes[index] = IndexChange(
                before=rounded(record.get(f"{index}_before")),
                after=rounded(record.get(f"{index}_after")),
                delta=rounded(record.get(f"{index}_delta")),
                rank_before=whole(record.get(f"{index}_rank_before")),
                rank_after=whole(record.get(f"{index}_rank_after")),
                rank_change=whole(record.get(f"{index}_rank_change")),
            )
        rows.append(GroupChange(
            key=key, name=group_label(by, key, dict(names)),
            n_matched=whole(record.get("n_matched")), entered=whole(record.get("entered")),
            left=whole(record.get("left")), changes=changes))
    return rows


def _counts(result: Comparison) -> dict[str, int]:
    return {"matched": len(result.matched), "entered": len(result.entered),
            "left": len(result.left)}


def comparison_table(
    session: Session, before: int, after: int, by: str, indices: Sequence[str] = COMPARED,
    result: Comparison | None = None,
) -> tuple[list[str], list[dict[str, Any]], dict[str, int]]:
    """Return columns, rows (groups over matched institutions) and the matched counts."""
    result = comparison(session, before, after) if result is None else result
    names = state_names(session) if by == "state" else {}
    columns = ["key", "name", "n_matched", "entered", "left"]
    for index in indices:
        columns += [f"{index}_before", f"{index}_after", f"{index}_delta",
                    f"{index}_rank_before", f"{index}_rank_after", f"{index}_rank_change"]
    rows = [g.row() for g in group_changes(result, by, names, indices)]
    return columns, rows, _counts(result)


# --- Institutions compared -----------------------------------------------------------------


@dataclass(slots=True)
class MatchedInstitution:
    """A matched institution as the page lists it: its name (as the later round gives it),
    its state, and its GA in both rounds."""

    name: str
    state_name: str
    GA_before: float | None
    GA_after: float | None
    GA_delta: float | None


@dataclass(frozen=True)
class GroupTotals:
    """A group over every institution of each round, matched or not (not a comparison)."""

    key: str
    name: str
    n_before: int
    n_after: int
    GA_before: float | None
    GA_after: float | None


@dataclass
class RoundComparison:
    """Two rounds compared over their matched institutions, grouped ``by``."""

    before: int
    after: int
    by: str
    counts: dict[str, int]
    groups: list[GroupChange]
    up: list[MatchedInstitution]
    down: list[MatchedInstitution]
    all_view: list[GroupTotals]
    matched: pd.DataFrame
    national: GroupChange | None = None  # the national row over matched institutions
    states: list[GroupChange] = field(default_factory=list)  # every state, for the charts
    institutions: list[MatchedInstitution] = field(default_factory=list)  # matched, named
    # The frames of the tables the page offers as downloads, every column kept ("rises",
    # "falls", "all"; rows made when asked for), and the states' names they print.
    download_frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    state_names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def matched_rows(self) -> list[dict[str, Any]]:
        """The matched institutions, one dict per row (the download of the page's link)."""
        return _records(self.matched)

    def table(self, name: str) -> list[dict[str, Any]]:
        """A table of the page as its download gives it: "rises", "falls", "all", "states"."""
        if name == "states":
            return [s.row() for s in self.states]
        if name == "all":
            rows = _records(self.download_frames["all"])
            for r in rows:
                r["name"] = group_label(self.by, str(r["key"]), self.state_names)
            return rows
        return self._named(self.download_frames[name])

    def _named(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        records = _records(frame)
        for r in records:
            state = _state_of(r.get("state_after"), r.get("state_before"))
            r["state_name"] = _state_name(state, self.state_names)
        return records


def _state_of(*values: object) -> str | None:
    """The first state code given (NaN or None: a federal body)."""
    return next((s for s in values if isinstance(s, str) and s), None)


def _state_name(state: str | None, names: Mapping[str, str]) -> str:
    return names.get(state, "") if state else group_label("state", "federal", {})


def _institutions(frame: pd.DataFrame, names: Mapping[str, str]) -> list[MatchedInstitution]:
    """The matched institutions of ``frame`` (rows of ``Comparison.matched``), named."""
    named: dict[tuple[object, object], str] = {}  # a few pairs of states, named once
    out = []
    for after, before, state_after, state_before, ga_before, ga_after, delta in zip(
            frame["name_after"].tolist(), frame["name_before"].tolist(),
            frame["state_after"].tolist(), frame["state_before"].tolist(),
            _floats(frame["GA_before"]), _floats(frame["GA_after"]), _floats(frame["GA_delta"]),
            strict=True):
        pair = (state_after, state_before)
        name = named.get(pair)
        if name is None:
            name = named[pair] = _state_name(_state_of(*pair), names)
        out.append(MatchedInstitution(after or before, name, ga_before, ga_after, delta))
    return out


def _floats(column: pd.Series) -> list[float | None]:
    """A float column as the page reads it (NaN: None)."""
    return [None if v != v else float(v) for v in column.to_numpy(dtype="float64").tolist()]


def compare(
    session: Session, before: int, after: int, by: str,
    filters: Mapping[str, Any] | None = None, scores: Scores | None = None,
) -> RoundComparison:
    result = comparison(session, before, after, filters, scores)
    names = state_names(session)
    movers = result.matched.sort_values("GA_delta", ascending=False, na_position="last")
    known = movers.dropna(subset=["GA_delta"])
    up, down = known.head(TOP), known.tail(TOP).iloc[::-1]
    all_frame = result.all_institutions(by)
    national = group_changes(result, "national", {})
    states = group_changes(result, "state", names)
    return RoundComparison(
        before=before, after=after, by=by, counts=_counts(result),
        groups=group_changes(result, by, names if by == "state" else {}),
        up=_institutions(up, names), down=_institutions(down, names),
        all_view=[
            GroupTotals(key=str(key), name=group_label(by, str(key), names), n_before=int(nb),
                        n_after=int(na), GA_before=gb, GA_after=ga)
            for key, nb, na, gb, ga in zip(
                all_frame["key"].tolist(), all_frame["n_before"].tolist(),
                all_frame["n_after"].tolist(), _floats(all_frame["GA_before"]),
                _floats(all_frame["GA_after"]), strict=True)
        ],
        matched=result.matched,
        national=national[0] if national else None,
        states=[s for s in states if s.key != FEDERAL_KEY],
        institutions=_institutions(movers, names),
        download_frames={"rises": up, "falls": down, "all": all_frame}, state_names=names,
    )


# --- Two rounds through their published figures --------------------------------------------


@dataclass(frozen=True)
class PublishedChange:
    """A national index as published in both rounds (either may be missing)."""

    index: str
    before: float | None
    after: float | None
    delta: float | None
    notes: list[str]

    def row(self) -> dict[str, Any]:
        return {"index": self.index, "before": self.before, "after": self.after,
                "delta": self.delta, "notes": self.notes}


@dataclass(frozen=True)
class PublishedStateChange:
    """A state's published GA in both rounds."""

    key: str
    name: str
    before: float | None
    after: float | None
    delta: float | None

    def row(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "before": self.before,
                "after": self.after, "delta": self.delta}


@dataclass
class PublishedComparison:
    """Two rounds compared through the figures INAI published (no institution files needed)."""

    before: int
    after: int
    national: list[PublishedChange]
    states: list[PublishedStateChange]  # GA, where either round published it
    missing_files: list[int]  # the two rounds' years that have no institution file loaded
    trend: Trend  # the national series of every round, for the chart


def compare_published(session: Session, before: int, after: int) -> PublishedComparison:
    national = published_details(session, "national")
    a, b = national.get(before, {}), national.get(after, {})
    rows = []
    for index in (*MAIN_INDICES, *(i for i in INDICES if i not in MAIN_INDICES)):
        x, y = a.get(index), b.get(index)
        if x is None and y is None:
            continue
        rows.append(PublishedChange(
            index=index, before=x.value if x else None, after=y.value if y else None,
            delta=round(y.value - x.value, 6) if x and y else None,
            notes=[f"{year}: {f.note}" for year, f in ((before, x), (after, y))
                   if f is not None and f.note],
        ))
    by_state = published_figures(session, "state")
    states_before, states_after = by_state.get(before, {}), by_state.get(after, {})
    names = state_names(session)
    states = []

    def by_name(code: str) -> str:
        return fold(names.get(code, code))

    for key in sorted(set(states_before) | set(states_after), key=by_name):
        ga_before = states_before.get(key, {}).get("GA")
        ga_after = states_after.get(key, {}).get("GA")
        if ga_before is None and ga_after is None:
            continue
        states.append(PublishedStateChange(
            key=key, name=names.get(key, key), before=ga_before, after=ga_after,
            delta=(round(ga_after - ga_before, 6)
                   if ga_before is not None and ga_after is not None else None),
        ))
    loaded = set(round_years(session))
    return PublishedComparison(before, after, rows, states,
                               [y for y in (before, after) if y not in loaded],
                               national_trend(session))


# --- The comparison page -------------------------------------------------------------------


@dataclass
class ComparePage:
    """/metric/compare: the rounds to choose from and, for two distinct rounds, their
    comparison over matched institutions (both loaded) or through published figures."""

    rounds: list[int]
    loaded: list[int]
    before: int | None
    after: int | None
    by: str
    states: list[tuple[str, str]]  # (cve_ent, name) for the state filter
    result: RoundComparison | None = None
    published: PublishedComparison | None = None
    layer: Layer | None = None  # the state layer the comparison's maps draw
    layer_names: dict[str, str] = field(default_factory=dict)


def compare_page(
    session: Session, before: int | None, after: int | None, by: str | None,
    filters: Mapping[str, Any] | None = None,
) -> ComparePage:
    """The comparison page; without ``before``/``after``, the two latest loaded rounds (or
    the first and last rounds when fewer than two are loaded)."""
    rounds, loaded = all_round_years(session), round_years(session)
    pair = loaded[-2:] if len(loaded) >= 2 else (rounds[:1] + rounds[-1:])
    if len(pair) == 2:
        before = pair[0] if before is None else before
        after = pair[1] if after is None else after
    names = state_names(session)
    page = ComparePage(rounds, loaded, before, after, by or "state", sorted(names.items()))
    if before is None or after is None or before == after:
        return page
    if before in loaded and after in loaded:
        page.result = compare(session, before, after, page.by, filters)
        page.layer, _bundled = active_layer(session, "state")
        page.layer_names = {**page.layer.names, **names}
    else:
        page.published = compare_published(session, before, after)
    return page
