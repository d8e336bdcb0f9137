"""Views of the metric: rounds, one round in detail, institutions, comparisons, downloads.

Each view parses its arguments (app.listing / app.params), calls ``service``, renders.
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
    Sort,
    columns,
    download,
    order_rows,
    paginate,
    parse_list,
    respond,
)
from app.models import Institution, MetricRound
from common.codes import GROUPINGS, INSTITUTION_TYPES, LEVELS, MAIN_INDICES
from metrics import INDICES

from . import bp, figures, service
from .labels import INDEX_LABELS

SUMMARY_COLUMNS = ("key", "name", "n", "n_published", *(
    f"{i}{suffix}" for i in INDICES
    for suffix in ("", "_published", "_difference", "_min", "_max", "_rank")
))

ROUND_STATES = ListSpec(
    name="metrica-estados",
    sorts={
        "name": Sort(), "key": Sort(), "n": Sort(descending=True),
        **{i: Sort(descending=True) for i in INDICES},
        "GA_difference": Sort(descending=True),
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
        "from": params.int_choice(service.all_round_years),
        "to": params.int_choice(service.all_round_years),
        "by": params.choice(GROUPINGS.codes),
        "state": params.choice(service.INSTITUTION_STATES),
        "level": params.choice(LEVELS.codes),
        "type": params.choice(INSTITUTION_TYPES.codes),
        "download": params.choice(COMPARE_DOWNLOADS),
    },
    sorts={
        "name": Sort(), "n_matched": Sort(descending=True),
        "GA_delta": Sort(descending=True), "GA_after": Sort(descending=True),
        "GA_rank_change": Sort(descending=True),
    },
    default_sort="-GA_delta",
    columns=columns(*COMPARE_COLUMNS),
)


def _round_or_404(year: int) -> MetricRound:
    metric_round = service.round_by_year(db.session, year)
    if metric_round is None:
        raise NotFound()
    return metric_round


@bp.get("/metric/")
def index() -> str:
    trend = service.national_trend(db.session)
    return render_template(
        "metric/index.html", items=service.rounds_overview(db.session),
        loaded=service.round_years(db.session), indices=MAIN_INDICES, index_labels=INDEX_LABELS,
        trend=trend, all_indices=INDICES,
        trend_charts=[c for c in (
            figures.trend_chart(trend, MAIN_INDICES, scope=_("Nacional")),
            figures.trend_chart(trend, ("TG", "TC", "PG", "PC"), scope=_("Nacional")),
        ) if c is not None],
    )


@bp.get("/metric/<int:year>")
def round_detail(year: int) -> str | Response:
    view = parse_list(ROUND_STATES)
    detail = service.round_detail(db.session, _round_or_404(year))
    states = order_rows(detail.states, view)
    return respond(view, lambda: states, lambda: render_template(
        "metric/round.html", **_fields(detail, "round", "states"), metric_round=detail.round,
        states=states, list=view,
        bands=service.BANDS, indices=INDICES, index_labels=INDEX_LABELS,
        best_institutions=service.best_institutions(db.session, year=year),
    ), name=f"metrica-{year}-state")


@bp.get("/metric/<int:year>/<by>.csv")
def round_csv(year: int, by: str) -> Response:
    """The round's summary by grouping, or its institutions, as CSV (stable file URLs)."""
    _round_or_404(year)
    if by == "institutions":
        view = parse_list(service.ROUND_INSTITUTIONS)
        view.format = "csv"
        rows = service.round_institutions(db.session, year)
    elif by in GROUPINGS:
        view = parse_list(ROUND_STATES)
        view.format = "csv"
        rows = service.summary_rows(db.session, year, by)
    else:
        raise NotFound()
    return download(view, rows, name=f"metrica-{year}-{by}")


@bp.get("/metric/<int:year>/institutions")
def round_institutions(year: int) -> str | Response:
    view = parse_list(service.ROUND_INSTITUTIONS)
    metric_round = _round_or_404(year)
    everything = service.round_institutions(db.session, year)
    rows = order_rows(service.filter_institutions(everything, view.filters), view)
    return respond(view, lambda: rows, lambda: render_template(
        "metric/institutions.html", metric_round=metric_round, list=view,
        page=paginate(rows, view), filters=view.filters,
        states=sorted(service.state_names(db.session).items()),
        kinds=sorted({(r["kind"], r["kind_label"]) for r in everything}, key=lambda k: k[1]),
        levels=list(LEVELS.items()), indices=INDICES, index_labels=INDEX_LABELS,
    ), name=f"metrica-{year}-institutions")


@bp.get("/institutions/<int:id>")
def institution(id: int) -> str:  # noqa: A002  (the URL's name)
    inst = params.get_or_404(db.session, Institution, id)
    history = service.institution_history(db.session, inst)
    return render_template(
        "metric/institution.html", inst=inst, state=history.state, rows=history.rows,
        scores=history.scores, level_label=LEVELS.label(inst.level),
        kind_label=INSTITUTION_TYPES.label(inst.kind), indices=INDICES,
        index_labels=INDEX_LABELS,
    )


@bp.get("/metric/compare")
def compare() -> str | Response:
    """Two rounds: over matched institutions when both have institution files, otherwise
    through the figures INAI published."""
    view = parse_list(COMPARE)
    rounds, loaded = service.all_round_years(db.session), service.round_years(db.session)
    before, after = view.filters["from"], view.filters["to"]
    pair = loaded[-2:] if len(loaded) >= 2 else (rounds[:1] + rounds[-1:])
    if len(pair) == 2:
        before = pair[0] if before is None else before
        after = pair[1] if after is None else after
    context: dict[str, Any] = {
        "rounds": rounds, "loaded": loaded, "before": before, "after": after,
        "by": view.filters["by"] or "state", "groupings": GROUPINGS, "indices": MAIN_INDICES,
        "index_labels": INDEX_LABELS, "list": view, "filters": view.filters,
        "states": sorted(service.state_names(db.session).items()),
        "levels": LEVELS, "kinds": INSTITUTION_TYPES, "published": None, "result": None,
    }
    if before is None or after is None or before == after:
        return render_template("metric/compare.html", **context)
    if before in loaded and after in loaded:
        return _compare_institutions(view, before, after, context)
    return _compare_published(view, before, after, context)


def _compare_published(view: Any, before: int, after: int, context: dict[str, Any]) -> Any:
    published = service.compare_published(db.session, before, after)
    table = view.filters["download"]
    if table in ("published", "published_states"):
        rows = published.national if table == "published" else published.states
        return _download_table(view, rows, f"metrica-publicadas-{before}-{after}-{table}")
    return render_template(
        "metric/compare.html", **{**context, "published": published},
        published_chart=figures.published_bars(published.national, before=before, after=after),
        trend_chart=figures.trend_chart(published.trend, MAIN_INDICES, scope=_("Nacional")),
    )


def _compare_institutions(view: Any, before: int, after: int, context: dict[str, Any]) -> Any:
    filters = {k: view.filters[k] for k in ("state", "level", "type")}
    result = service.compare(db.session, before, after, context["by"], filters)
    table = view.filters["download"]
    if table in ("csv", "matched"):  # the matched institutions, as the page links them
        return _download_table(view, result.matched_rows,
                               f"metrica-{before}-{after}-matched")
    tables = {"rises": result.up, "falls": result.down, "all": result.all_view,
              "states": result.states}
    if table in tables:
        return _download_table(view, tables[table], f"metrica-{before}-{after}-{table}")
    groups = order_rows(result.groups, view)
    return respond(view, lambda: groups, lambda: render_template(
        "metric/compare.html", **{**context, "result": result}, groups=groups,
        charts=figures.comparison_charts(result, db.session),
    ), name=f"metrica-{before}-{after}-{context['by']}")


def _download_table(view: Any, rows: list[dict[str, Any]], name: str) -> Response:
    """One of the comparison's tables as CSV (or ?format=xlsx|json), every column kept."""
    names = list(dict.fromkeys(k for row in rows for k in row)) or ["key"]
    spec = ListSpec(name=name, sorts={names[0]: Sort()}, default_sort=names[0],
                    columns=columns(*names))
    view = _with_spec(view, spec)
    if view.format not in ("csv", "xlsx", "json"):
        view.format = "csv"
    return download(view, rows, name=name)


def _fields(obj: Any, *leave_out: str) -> dict[str, Any]:
    """A service result's fields as template variables."""
    return {k: v for k, v in vars(obj).items() if k not in leave_out}


def _with_spec(view: Any, spec: ListSpec) -> Any:
    return replace(view, spec=spec)


@bp.app_template_filter("score")
def score_filter(value: Any, digits: int = 4) -> str:
    """Format a score with ``digits`` decimals ('' for unknown; templates show it as such)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.{digits}f}"


@bp.get("/metric/series.csv")
def trend_csv() -> Response:
    """The national series: one row per round and index, published (with note) and computed."""
    trend = service.national_trend(db.session)
    rows = [
        {"year": year, "index": index,
         "published": (trend.published.get(year, {}).get(index) or None)
         and trend.published[year][index].value,
         "note": getattr(trend.published.get(year, {}).get(index), "note", None),
         "computed": trend.computed.get(year, {}).get(index)}
        for year in trend.years for index in trend.indices
    ]
    return _download_table(parse_list(COMPARE), rows, "metrica-serie-nacional")
