"""Tables of a round's aggregates (with published figures) and of round comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import State
from metrics import INDICES, aggregate, compare_rounds

from .labels import group_label
from .service import published_figures, round_frame

SCOPE_OF = {"national": "national", "state": "state", "level": "level", "type": "type"}


def _num(value: Any, digits: int = 6) -> float | int | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, int | bool):
        return int(value)
    number = float(value)
    return int(number) if digits == 0 else round(number, digits)


def state_names(session: Session) -> dict[str, str]:
    """Return cve_ent -> the state's common name."""
    return dict(session.execute(select(State.cve_ent, State.short_name)).all())


def summary_rows(
    session: Session, year: int, by: str, indices: Sequence[str] = INDICES,
    frame: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Return one dict per group: computed figures, published ones and differences, ranks."""
    frame = round_frame(session, year) if frame is None else frame
    if frame.empty:
        return []
    table = aggregate(frame, by, indices)
    published = published_figures(session, SCOPE_OF[by]).get(year, {})
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


def comparison(session: Session, before: int, after: int):  # type: ignore[no-untyped-def]
    """Return the engine's comparison of two loaded rounds."""
    # The importer matched keys to institution ids, so ids identify institutions here.
    return compare_rounds(round_frame(session, before), round_frame(session, after), on="id")


def comparison_table(
    session: Session, before: int, after: int, by: str, indices: Sequence[str] = ("GA", "T", "P")
) -> tuple[list[str], list[dict[str, Any]], dict[str, int]]:
    """Return columns, rows (groups over matched institutions) and the matched counts."""
    result = comparison(session, before, after)
    table = result.by(by)
    names = state_names(session) if by == "state" else {}
    columns = ["key", "name", "n_matched", "entered", "left"]
    for index in indices:
        columns += [f"{index}_before", f"{index}_after", f"{index}_delta",
                    f"{index}_rank_before", f"{index}_rank_after", f"{index}_rank_change"]
    rows = []
    for record in table.to_dict("records"):
        row = {"key": str(record["key"]), "name": group_label(by, str(record["key"]), names)}
        for column in columns[2:]:
            digits = 0 if "rank" in column or column in ("n_matched", "entered", "left") else 6
            row[column] = _num(record.get(column), digits)
        rows.append(row)
    counts = {"matched": len(result.matched), "entered": len(result.entered),
              "left": len(result.left)}
    return columns, rows, counts
