"""Views of the metric: rounds, one round in detail, institutions, comparisons, CSV files."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from flask import Response, abort, current_app, render_template, request, url_for
from sqlalchemy import func, select

from app.downloads import csv_response
from app.extensions import db
from app.models import Institution, MetricRound, MetricScore, State
from metrics import BY_CHOICES, INDICES, rank_desc

from . import bp
from .labels import INDEX_LABELS, KIND_LABELS, LEVEL_LABELS, group_label
from .service import published_figures, round_frame, round_years, rounds_frame
from .summary import comparison, state_names, summary_rows

MAIN_INDICES = ("GA", "T", "P")
SORT_ORDERS = ("asc", "desc")
# GA bands of the distribution by type: [0, 0.2), [0.2, 0.4), ... [0.8, 1].
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)
TOP = 10


def _sort_args(allowed: tuple[str, ...], default: str, default_order: str) -> tuple[str, str]:
    sort = request.args.get("sort", default)
    order = request.args.get("order", default_order)
    if sort not in allowed:
        sort = default
    if order not in SORT_ORDERS:
        order = default_order
    return sort, order


def _sorted(rows: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """Sort rows by a column, unknown values last whatever the order."""
    known = [r for r in rows if r.get(sort) is not None]
    unknown = [r for r in rows if r.get(sort) is None]
    known.sort(key=lambda r: r[sort], reverse=order == "desc")
    return known + unknown


def _get_round(year: int) -> MetricRound:
    metric_round = db.session.scalars(select(MetricRound).where(MetricRound.year == year)).first()
    if metric_round is None:
        abort(404)
    return metric_round


@bp.get("/metric/")
def index() -> str:
    session = db.session
    counts = dict(
        session.execute(
            select(MetricScore.round_id, func.count()).group_by(MetricScore.round_id)
        ).all()
    )
    rounds = session.scalars(select(MetricRound).order_by(MetricRound.year)).all()
    national = published_figures(session, "national")
    loaded = round_years(session)
    computed: dict[int, dict[str, float | None]] = {}
    if loaded:
        frame = rounds_frame(session, loaded)
        means = frame.groupby("year")[list(MAIN_INDICES)].mean()
        for year, row in means.iterrows():
            computed[int(year)] = {i: _none(row[i]) for i in MAIN_INDICES}
    items = [
        {
            "round": r,
            "scores": counts.get(r.id, 0),
            "computed": computed.get(r.year, {}),
            "published": national.get(r.year, {}).get("", {}),
        }
        for r in rounds
    ]
    return render_template(
        "metric/index.html", items=items, loaded=loaded, indices=MAIN_INDICES,
        index_labels=INDEX_LABELS,
    )


def _none(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _institution_rows(frame: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    ranks = rank_desc(frame["GA"])
    rows = []
    for record, rank in zip(frame.to_dict("records"), ranks, strict=True):
        state = record["state"]
        rows.append(
            {
                "id": int(record["id"]),
                "key": record["key"],
                "name": record["name"],
                "level": record["level"],
                "level_label": str(LEVEL_LABELS.get(record["level"], record["level"])),
                "kind": record["kind"],
                "kind_label": str(KIND_LABELS.get(record["kind"], record["kind"])),
                "state": state or "",
                "state_name": (
                    names.get(state, "") if state else group_label("state", "federal", {})
                ),
                **{i: _none(record[i]) for i in INDICES},
                "rank": None if rank is pd.NA else int(rank),
            }
        )
    return rows


def _distribution(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Count institutions of each type per GA band (unknown GA counted apart)."""
    rows = []
    for kind, group in frame.groupby("kind", sort=True):
        values = group["GA"].to_numpy(dtype="float64")
        known = values[~np.isnan(values)]
        counts, _edges = np.histogram(known, bins=BANDS)
        rows.append(
            {
                "kind": kind,
                "label": str(KIND_LABELS.get(kind, kind)),
                "n": len(values),
                "bands": [int(c) for c in counts],
                "unknown": int(np.isnan(values).sum()),
                "median": float(np.median(known)) if len(known) else None,
                "zero": int((known == 0).sum()),
            }
        )
    return rows


@bp.get("/metric/<int:year>")
def round_detail(year: int) -> str:
    session = db.session
    metric_round = _get_round(year)
    frame = round_frame(session, year)
    national = summary_rows(session, year, "national", frame=frame)
    published = published_figures(session, "national").get(year, {}).get("", {})
    states = summary_rows(session, year, "state", frame=frame)
    sort, order = _sort_args(("name", "key", "n", *INDICES, "GA_difference"), "GA", "desc")
    states = _sorted(states, sort, order)
    levels = summary_rows(session, year, "level", frame=frame)
    types = _sorted(summary_rows(session, year, "type", frame=frame), "GA", "desc")
    names = state_names(session)
    best, worst, distribution = [], [], []
    if not frame.empty:
        ranked = frame[frame["GA"].notna()].sort_values(["GA", "name"], ascending=[False, True])
        best = _institution_rows(ranked.head(TOP), names)
        worst = _institution_rows(ranked.tail(TOP).iloc[::-1], names)
        all_ranks = {r["id"]: r["rank"] for r in _institution_rows(frame, names)}
        for row in (*best, *worst):
            row["rank"] = all_ranks[row["id"]]
        distribution = _distribution(frame)
    return render_template(
        "metric/round.html",
        metric_round=metric_round,
        national=national[0] if national else None,
        published=published,
        states=states,
        levels=levels,
        types=types,
        best=best,
        worst=worst,
        distribution=distribution,
        bands=BANDS,
        sort=sort,
        order=order,
        indices=INDICES,
        index_labels=INDEX_LABELS,
        loaded_years=round_years(session),
    )


CSV_VIEWS = (*BY_CHOICES, "institutions")


@bp.get("/metric/<int:year>/<by>.csv")
def round_csv(year: int, by: str) -> Response:
    session = db.session
    _get_round(year)
    if by not in CSV_VIEWS:
        abort(404)
    frame = round_frame(session, year)
    if by == "institutions":
        rows = _institution_rows(frame, state_names(session)) if not frame.empty else []
        columns = ["id", "key", "name", "level", "kind", "state", "state_name", *INDICES, "rank"]
    else:
        rows = summary_rows(session, year, by, frame=frame)
        columns = ["key", "name", "n", "n_published"]
        for index in INDICES:
            columns += [index, f"{index}_published", f"{index}_difference", f"{index}_min",
                        f"{index}_max", f"{index}_rank"]
    return csv_response(f"metrica-{year}-{by}.csv", columns, rows)


@bp.get("/metric/<int:year>/institutions")
def round_institutions(year: int) -> str:
    session = db.session
    metric_round = _get_round(year)
    frame = round_frame(session, year)
    names = state_names(session)
    state = request.args.get("state", "")
    kind = request.args.get("type", "")
    level = request.args.get("level", "")
    query = request.args.get("q", "").strip()
    rows = _institution_rows(frame, names) if not frame.empty else []
    kinds = sorted({(r["kind"], r["kind_label"]) for r in rows}, key=lambda k: k[1])
    if state:
        rows = [r for r in rows if r["state"] == state or (state == "federal" and not r["state"])]
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    if level:
        rows = [r for r in rows if r["level"] == level]
    if query:
        from metrics.names import fold

        needle = fold(query)
        rows = [r for r in rows if needle in fold(r["name"])]
    sort, order = _sort_args(("name", "state_name", "kind_label", "rank", *INDICES), "rank", "asc")
    rows = _sorted(rows, sort, order)
    per_page = current_app.config.get("PAGE_SIZE", 50)
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    return render_template(
        "metric/institutions.html",
        metric_round=metric_round,
        rows=rows[(page - 1) * per_page: page * per_page],
        total=len(rows),
        page=page,
        pages=pages,
        sort=sort,
        order=order,
        filters={"state": state, "type": kind, "level": level, "q": query},
        states=sorted(names.items()),
        kinds=kinds,
        levels=list(LEVEL_LABELS.items()),
        indices=INDICES,
        index_labels=INDEX_LABELS,
    )


@bp.get("/institutions/<int:id>")
def institution(id: int) -> str:
    session = db.session
    inst = db.get_or_abort(Institution, id)
    frame = rounds_frame(session)
    rows = []
    if not frame.empty:
        for year, one in frame.groupby("year", sort=True):
            mine = one[one["id"] == id]
            if mine.empty:
                continue
            ranks = rank_desc(one["GA"])
            rank = ranks[mine.index[0]]
            peers = one[(one["kind"] == inst.kind)]
            record = mine.iloc[0]
            rows.append(
                {
                    "year": int(year),
                    **{i: _none(record[i]) for i in (*INDICES, "GAg", "GAc")},
                    "rank": None if rank is pd.NA else int(rank),
                    "ranked": int(one["GA"].notna().sum()),
                    "national_GA": _none(one["GA"].mean()),
                    "kind_GA": _none(peers["GA"].mean()),
                }
            )
    scores = {
        s.round.year: s
        for s in session.scalars(select(MetricScore).where(MetricScore.institution_id == id))
    }
    state = session.get(State, inst.state_cve) if inst.state_cve else None
    return render_template(
        "metric/institution.html",
        inst=inst,
        state=state,
        rows=rows,
        scores=scores,
        level_label=LEVEL_LABELS.get(inst.level, inst.level),
        kind_label=KIND_LABELS.get(inst.kind, inst.kind),
        indices=INDICES,
        index_labels=INDEX_LABELS,
    )


@bp.get("/metric/compare")
def compare() -> str | Response:
    session = db.session
    loaded = round_years(session)
    before = request.args.get("from", type=int)
    after = request.args.get("to", type=int)
    by = request.args.get("by", "state")
    if by not in BY_CHOICES:
        by = "state"
    if len(loaded) >= 2 and (before not in loaded or after not in loaded):
        before, after = loaded[-2], loaded[-1]
    context: dict[str, Any] = {"loaded": loaded, "before": before, "after": after, "by": by,
                               "by_choices": BY_CHOICES, "indices": MAIN_INDICES,
                               "index_labels": INDEX_LABELS}
    if len(loaded) < 2 or before == after:
        return render_template("metric/compare.html", result=None, **context)
    result = comparison(session, before, after)
    names = state_names(session)
    groups = []
    for record in result.by(by).to_dict("records"):
        row = {"key": record["key"], "name": group_label(by, str(record["key"]), names)}
        row.update({k: _none(v) if isinstance(v, float) else v for k, v in record.items()
                    if k != "key"})
        groups.append(row)
    sort, order = _sort_args(("name", "n_matched", "GA_delta", "GA_after", "GA_rank_change"),
                             "GA_delta", "desc")
    groups = _sorted(groups, sort, order)
    movers = result.matched.sort_values("GA_delta", ascending=False, na_position="last")
    if request.args.get("download") == "csv":
        columns = list(result.matched.columns)
        return csv_response(
            f"metrica-{before}-{after}-matched.csv", columns, result.matched.to_dict("records")
        )
    all_view = result.all_institutions(by)
    return render_template(
        "metric/compare.html",
        result=result,
        groups=groups,
        up=movers.head(TOP).to_dict("records"),
        down=movers.dropna(subset=["GA_delta"]).tail(TOP).iloc[::-1].to_dict("records"),
        all_view=all_view.to_dict("records"),
        names=names,
        group_label=group_label,
        sort=sort,
        order=order,
        url_for=url_for,
        **context,
    )


@bp.context_processor
def url_helpers() -> dict[str, Any]:
    """Give the metric templates ``url_with``: this page's URL with some arguments changed."""

    def url_with(**changes: Any) -> str:
        args = {**(request.view_args or {}), **request.args.to_dict(), **changes}
        return url_for(request.endpoint or "metric.index",
                       **{k: v for k, v in args.items() if v not in (None, "")})

    return {"url_with": url_with}


@bp.app_template_filter("score")
def score_filter(value: Any, digits: int = 4) -> str:
    """Format a score with ``digits`` decimals ('' for unknown; templates show it as such)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.{digits}f}"

