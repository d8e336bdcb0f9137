"""Views of the metric: rounds, one round in detail, institutions, comparisons, downloads.

Each view parses its arguments (app.listing / app.params), calls one service function (of
``rounds``, ``compare`` or ``trends``) that returns the page's typed result, renders.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
from flask import Response, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from app import params
from app.extensions import db
from app.listing import (
    ListSpec,
    ListView,
    Sort,
    columns,
    download,
    order_rows,
    paginate,
    parse_list,
    respond,
)
from app.models import Institution
from common.codes import GROUPINGS, INSTITUTION_TYPES, LEVELS, MAIN_INDICES
from metrics import INDICES

from . import bp, figures
from .compare import ComparePage, GroupChange, compare_page
from .labels import INDEX_LABELS
from .rounds import (
    BANDS,
    INSTITUTION_STATES,
    ROUND_INSTITUTIONS,
    GroupSummary,
    institution_page,
    institutions_page,
    metric_index_page,
    round_institutions,
    round_page,
    summary_rows,
)
from .scores import all_round_years, round_by_year
from .trends import national_trend

SUMMARY_COLUMNS = ("key", "name", "n", "n_published", *(
    f"{i}{suffix}" for i in INDICES
    for suffix in ("", "_published", "_difference", "_min", "_max", "_rank")
))

def _figure(index: str, part: str = "value") -> Sort:
    """A sort of the round's state table by one figure of ``index`` (high to low first)."""

    def value(row: GroupSummary) -> float | int | None:
        figures = row.figures.get(index)
        return None if figures is None else getattr(figures, part)

    return Sort(value=value, descending=True)


ROUND_STATES = ListSpec(
    name="metrica-estados",
    sorts={
        "name": Sort(value=lambda r: r.name), "key": Sort(value=lambda r: r.key),
        "n": Sort(value=lambda r: r.n, descending=True),
        **{i: _figure(i) for i in INDICES},
        "GA_difference": _figure("GA", "difference"),
    },
    default_sort="-GA",
    columns=columns(*SUMMARY_COLUMNS),
)


COMPARE_COLUMNS = ("key", "name", "n_matched", "entered", "left", *(
    f"{i}_{part}" for i in MAIN_INDICES
    for part in ("before", "after", "delta", "rank_before", "rank_after", "rank_change")
))


# Tables of the comparison page that download (?download=NAME; "csv" is the matched list).
COMPARE_DOWNLOADS = ("csv", "matched", "rises", "falls", "all", "states", "published",
                     "published_states")

COMPARE = ListSpec(
    name="metrica-comparacion",
    filters={
        "from": params.int_choice(all_round_years),
        "to": params.int_choice(all_round_years),
        "by": params.choice(GROUPINGS.codes),
        "state": params.choice(INSTITUTION_STATES),
        "level": params.choice(LEVELS.codes),
        "type": params.choice(INSTITUTION_TYPES.codes),
        "download": params.choice(COMPARE_DOWNLOADS),
    },
    sorts={
        "name": Sort(value=lambda g: g.name),
        "n_matched": Sort(value=lambda g: g.n_matched, descending=True),
        "GA_delta": Sort(value=lambda g: g.changes["GA"].delta, descending=True),
        "GA_after": Sort(value=lambda g: g.changes["GA"].after, descending=True),
        "GA_rank_change": Sort(value=lambda g: g.changes["GA"].rank_change, descending=True),
    },
    default_sort="-GA_delta",
    columns=columns(*COMPARE_COLUMNS),
)


@bp.get("/metric/")
def index() -> str:
    page = metric_index_page(db.session)
    trend = page.trend
    return render_template(
        "metric/index.html", items=page.items, loaded=page.loaded, indices=MAIN_INDICES,
        index_labels=INDEX_LABELS, trend=trend, all_indices=INDICES,
        trend_charts=[c for c in (
            figures.trend_chart(trend, MAIN_INDICES, scope=_("Nacional")),
            figures.trend_chart(trend, ("TG", "TC", "PG", "PC"), scope=_("Nacional")),
        ) if c is not None],
    )


@bp.get("/metric/<int:year>")
def round_detail(year: int) -> str | Response:
    view = parse_list(ROUND_STATES)
    page = round_page(db.session, year)
    if page is None:
        raise NotFound()
    states = order_rows(page.states, view)
    return respond(view, lambda: [r.row() for r in states], lambda: render_template(
        "metric/round.html", page=page, metric_round=page.round, national=page.national,
        published=page.published, levels=page.levels, types=page.types, best=page.best,
        worst=page.worst, distribution=page.distribution, loaded_years=page.loaded_years,
        state_figures=page.state_figures, national_figures=page.national_figures,
        best_institutions=page.best_institutions, fieldwork_year=page.fieldwork_year,
        states=states, list=view,
        bands=BANDS, indices=INDICES, index_labels=INDEX_LABELS,
    ), name=f"metrica-{year}-state")


@bp.get("/metric/<int:year>/<by>.csv")
def round_csv(year: int, by: str) -> Response:
    """The round's summary by grouping, or its institutions, as CSV (stable file URLs)."""
    if round_by_year(db.session, year) is None:
        raise NotFound()
    rows: list[Any]
    if by == "institutions":
        view = parse_list(ROUND_INSTITUTIONS)
        view.format = "csv"
        rows = round_institutions(db.session, year)
    elif by in GROUPINGS:
        view = parse_list(ROUND_STATES)
        view.format = "csv"
        rows = [r.row() for r in summary_rows(db.session, year, by)]
    else:
        raise NotFound()
    return download(view, rows, name=f"metrica-{year}-{by}")


@bp.get("/metric/<int:year>/institutions", endpoint="round_institutions")
def round_institutions_page(year: int) -> str | Response:
    view = parse_list(ROUND_INSTITUTIONS)
    page = institutions_page(db.session, year, view.filters)
    if page is None:
        raise NotFound()
    rows = order_rows(page.rows, view)
    return respond(view, lambda: rows, lambda: render_template(
        "metric/institutions.html", metric_round=page.round, list=view,
        page=paginate(rows, view), filters=view.filters, states=page.states, kinds=page.kinds,
        levels=list(LEVELS.items()), indices=INDICES, index_labels=INDEX_LABELS,
    ), name=f"metrica-{year}-institutions")


@bp.get("/institutions/<int:id>")
def institution(id: int) -> str:  # noqa: A002  (the URL's name)
    page = institution_page(db.session, params.get_or_404(db.session, Institution, id))
    return render_template(
        "metric/institution.html", inst=page.institution, state=page.state, rows=page.rows,
        scores=page.scores, level_label=page.level_label, kind_label=page.kind_label,
        indices=INDICES, index_labels=INDEX_LABELS,
    )


@bp.get("/metric/compare")
def compare() -> str | Response:
    """Two rounds: over matched institutions when both have institution files, otherwise
    through the figures INAI published."""
    view = parse_list(COMPARE)
    page = compare_page(db.session, view.filters["from"], view.filters["to"],
                        view.filters["by"],
                        {k: view.filters[k] for k in ("state", "level", "type")})
    context: dict[str, Any] = {
        "rounds": page.rounds, "loaded": page.loaded, "before": page.before,
        "after": page.after, "by": page.by, "groupings": GROUPINGS, "indices": MAIN_INDICES,
        "index_labels": INDEX_LABELS, "list": view, "filters": view.filters,
        "states": page.states, "levels": LEVELS, "kinds": INSTITUTION_TYPES,
        "published": page.published, "result": page.result,
    }
    if page.published is not None:
        return _compare_published(view, page, context)
    if page.result is not None:
        return _compare_institutions(view, page, context)
    return render_template("metric/compare.html", **context)


def _compare_published(view: ListView, page: ComparePage, context: dict[str, Any]) -> Any:
    published = page.published
    assert published is not None  # (the caller checked)
    before, after = published.before, published.after
    table = view.filters["download"]
    if table in ("published", "published_states"):
        rows = published.national if table == "published" else published.states
        return _download_table(view, [r.row() for r in rows],
                               f"metrica-publicadas-{before}-{after}-{table}")
    return render_template(
        "metric/compare.html", **context,
        published_chart=figures.published_bars(published.national, before=before, after=after),
        trend_chart=figures.trend_chart(published.trend, MAIN_INDICES, scope=_("Nacional")),
    )


def _compare_institutions(view: ListView, page: ComparePage, context: dict[str, Any]) -> Any:
    result = page.result
    assert result is not None  # (the caller checked)
    before, after = result.before, result.after
    table = view.filters["download"]
    if table in ("csv", "matched"):  # the matched institutions, as the page links them
        return _download_table(view, result.matched_rows,
                               f"metrica-{before}-{after}-matched")
    if table in ("rises", "falls", "all", "states"):
        return _download_table(view, result.table(table), f"metrica-{before}-{after}-{table}")
    groups: list[GroupChange] = order_rows(result.groups, view)
    return respond(view, lambda: [g.row() for g in groups], lambda: render_template(
        "metric/compare.html", **context, groups=groups,
        charts=figures.comparison_charts(page),
    ), name=f"metrica-{before}-{after}-{page.by}")


def _download_table(view: ListView, rows: list[dict[str, Any]], name: str) -> Response:
    """One of the comparison's tables as CSV (or ?format=xlsx|json), every column kept."""
    names = list(dict.fromkeys(k for row in rows for k in row)) or ["key"]
    spec = ListSpec(name=name, sorts={names[0]: Sort()}, default_sort=names[0],
                    columns=columns(*names))
    view = replace(view, spec=spec)
    if view.format not in ("csv", "xlsx", "json"):
        view.format = "csv"
    return download(view, rows, name=name)


@bp.app_template_filter("score")
def score_filter(value: Any, digits: int = 4) -> str:
    """Format a score with ``digits`` decimals ('' for unknown; templates show it as such)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.{digits}f}"


@bp.get("/metric/series.csv")
def trend_csv() -> Response:
    """The national series: one row per round and index, published (with note) and computed."""
    trend = national_trend(db.session)
    rows = [
        {"year": year, "index": index,
         "published": (trend.published.get(year, {}).get(index) or None)
         and trend.published[year][index].value,
         "note": getattr(trend.published.get(year, {}).get(index), "note", None),
         "computed": trend.computed.get(year, {}).get(index)}
        for year in trend.years for index in trend.indices
    ]
    return _download_table(parse_list(COMPARE), rows, "metrica-serie-nacional")
