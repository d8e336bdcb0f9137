"""Views of the metric: rounds, one round in detail, institutions, comparisons, downloads.

Each view parses its arguments (app.listing / app.params), calls ``service``, renders.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
from flask import Response, render_template
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
from common.text import fold
from metrics import INDICES

from . import bp, service
from .labels import INDEX_LABELS

SUMMARY_COLUMNS = ("key", "name", "n", "n_published", *(
    f"{i}{suffix}" for i in INDICES
    for suffix in ("", "_published", "_difference", "_min", "_max", "_rank")
))
INSTITUTION_COLUMNS = ("id", "key", "name", "level", "kind", "state", "state_name", *INDICES,
                       "rank")

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


def _state_choices() -> list[str]:
    return ["federal", *service.state_names(db.session)]


ROUND_INSTITUTIONS = ListSpec(
    name="metrica-instituciones",
    filters={
        "state": params.choice(_state_choices),
        "type": params.choice(INSTITUTION_TYPES.codes),
        "level": params.choice(LEVELS.codes),
        "q": params.text(),
    },
    sorts={
        "rank": Sort(), "name": Sort(), "state_name": Sort(), "kind_label": Sort(),
        **{i: Sort(descending=True) for i in INDICES},
    },
    default_sort="rank",
    columns=columns(*INSTITUTION_COLUMNS),
)

COMPARE_COLUMNS = ("key", "name", "n_matched", "entered", "left", *(
    f"{i}_{part}" for i in MAIN_INDICES
    for part in ("before", "after", "delta", "rank_before", "rank_after", "rank_change")
))


def _loaded() -> list[int]:
    return service.round_years(db.session)


COMPARE = ListSpec(
    name="metrica-comparacion",
    filters={
        "from": params.int_choice(_loaded),
        "to": params.int_choice(_loaded),
        "by": params.choice(GROUPINGS.codes),
        "download": params.choice(("csv",)),
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
    return render_template(
        "metric/index.html", items=service.rounds_overview(db.session),
        loaded=service.round_years(db.session), indices=MAIN_INDICES, index_labels=INDEX_LABELS,
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
    ), name=f"metrica-{year}-state")


@bp.get("/metric/<int:year>/<by>.csv")
def round_csv(year: int, by: str) -> Response:
    """The round's summary by grouping, or its institutions, as CSV (stable file URLs)."""
    _round_or_404(year)
    if by == "institutions":
        view = parse_list(ROUND_INSTITUTIONS)
        view.format = "csv"
        rows = service.round_institutions(db.session, year)
    elif by in GROUPINGS:
        view = parse_list(ROUND_STATES)
        view.format = "csv"
        rows = service.summary_rows(db.session, year, by)
    else:
        raise NotFound()
    return download(view, rows, name=f"metrica-{year}-{by}")


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


@bp.get("/metric/<int:year>/institutions")
def round_institutions(year: int) -> str | Response:
    view = parse_list(ROUND_INSTITUTIONS)
    metric_round = _round_or_404(year)
    everything = service.round_institutions(db.session, year)
    rows = order_rows([r for r in everything if _matches(r, view.filters)], view)
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
    view = parse_list(COMPARE)
    loaded = service.round_years(db.session)
    before, after = view.filters["from"], view.filters["to"]
    if len(loaded) >= 2:
        before = loaded[-2] if before is None else before
        after = loaded[-1] if after is None else after
    by = view.filters["by"] or "state"
    context: dict[str, Any] = {"loaded": loaded, "before": before, "after": after, "by": by,
                               "groupings": GROUPINGS, "indices": MAIN_INDICES,
                               "index_labels": INDEX_LABELS, "list": view}
    if len(loaded) < 2 or before == after:
        return render_template("metric/compare.html", result=None, **context)
    result = service.compare(db.session, before, after, by)
    if view.filters["download"] == "csv":  # the matched institutions, as the page links them
        view.format = "csv"
        matched = ListSpec(name=f"metrica-{before}-{after}-matched", sorts={"key": Sort()},
                           default_sort="key", columns=columns(*result.matched.columns))
        return download(_with_spec(view, matched), result.matched.to_dict("records"))
    groups = order_rows(result.groups, view)
    return respond(view, lambda: groups, lambda: render_template(
        "metric/compare.html", result=result, groups=groups, **context,
    ), name=f"metrica-{before}-{after}-{by}")


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
