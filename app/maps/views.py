"""Map pages: the metric choropleth (/map), the local exercises (/map/exercises), downloads.

Rendered map parts are cached per process, keyed by the revisions of every dataset a map
draws from (metric, local, geodata), the language and the query; a write to any of them
bumps its revision, so the next request renders afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.downloads import csv_response
from app.extensions import db
from app.metric.labels import INDEX_LABELS
from app.metric.service import round_years, state_index_values
from app.models import DataRevision
from app.plans.labels import STAGE_LABELS
from geodata.build import fold
from geodata.classify import SCHEMES, make_classes, ranks
from geodata.layers import CODE_PROPERTY, Layer, dumps, feature_collection
from geodata.maps import (
    Category,
    ChoroplethText,
    Tiles,
    category_map,
    choropleth_map,
    format_value,
    map_components,
)

from . import bp
from .service import DATASETS, PageCache, active_layer, exercise_rows, state_names

INDICES = ("GA", "T", "P", "TG", "TC", "PG", "PC")
STAGES = ("none", "declaration", "secretariat", "plan")
# Light to dark along the programme's progress (ColorBrewer YlGnBu, colour-blind safe).
STAGE_COLOURS = {"none": "#ffffcc", "declaration": "#a1dab4", "secretariat": "#41b6c4",
                 "plan": "#225ea8"}
NO_DATA = _l("sin datos")
SCHEME_LABELS = {
    "fixed": _l("Intervalos fijos de 0 a 1 (comparables entre rondas)"),
    "quantile": _l("Cuantiles de la ronda"),
}
ORDERS = ("asc", "desc")
STATE_SORTS = ("rank", "name", "value", "code")
EXERCISE_SORTS = ("stage", "name", "code")
LEAFLET = "vendor/leaflet-1.9.4/"
QUERY_KEYS = ("round", "index", "classes", "sort", "order")


def _cache() -> PageCache:
    return current_app.extensions.setdefault("maps_cache", PageCache())


def _assets() -> dict[str, str]:
    """Local URLs of the assets the map builders need (no CDN)."""
    return {
        "leaflet": url_for("static", filename=LEAFLET + "leaflet.js"),
        "leaflet_css": url_for("static", filename=LEAFLET + "leaflet.css"),
    }


def _tiles() -> Tiles | None:
    url = current_app.config.get("MAP_TILE_URL") or ""
    return Tiles(url, current_app.config.get("MAP_TILE_ATTRIBUTION") or "") if url else None


def _credit(bundled: bool, layer: Layer) -> str:
    if bundled:
        return _("Límites: Natural Earth (dominio público)")
    return _("Límites: %(name)s", name=layer.attribution or layer.name)


def _cached_page(kind: str, build: Callable[[], dict[str, Any]]) -> str:
    """Render the page around map parts taken from the cache (or built and cached)."""
    revisions = DataRevision.current(db.session, *DATASETS)
    key = (kind, revisions, str(get_locale()), tuple(request.args.get(k) for k in QUERY_KEYS))
    parts = _cache().get_or_build(key, build)
    return render_template("maps/page.html", **{k: Markup(v) for k, v in parts.items()})


def _order() -> str:
    order = request.args.get("order", "asc")
    if order not in ORDERS:
        abort(400, _("Orden desconocido: use asc o desc."))
    return order


def _sorted(rows: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """Sort rows by a column, rows without a value last whatever the order."""
    known = [r for r in rows if r.get(sort) is not None]
    unknown = [r for r in rows if r.get(sort) is None]
    known.sort(key=lambda r: (_key(r[sort]), fold(r["name"])), reverse=order == "desc")
    return known + sorted(unknown, key=lambda r: fold(r["name"]))


def _key(value: Any) -> Any:
    """Sort names as a Spanish reader expects (México before Michoacán)."""
    return fold(value) if isinstance(value, str) else value


# --- The metric choropleth -------------------------------------------------------------


@dataclass(frozen=True)
class StateMapQuery:
    """What /map shows: round, index, classification and table order."""

    years: list[int]
    year: int | None
    index: str
    scheme: str
    sort: str
    order: str

    def args(self, **changes: Any) -> dict[str, Any]:
        """Return the URL arguments of this view, with ``changes`` applied (for links)."""
        args: dict[str, Any] = {"index": self.index, "classes": self.scheme}
        if self.year is not None:
            args["round"] = self.year
        if self.sort != "rank" or self.order != "asc":
            args.update(sort=self.sort, order=self.order)
        args.update(changes)
        return args


def _state_query(*, table: bool = True) -> StateMapQuery:
    """Parse and check /map's arguments; unknown values are refused, never guessed."""
    years = round_years(db.session)
    raw_round = request.args.get("round")
    if raw_round:
        if not raw_round.isdigit() or int(raw_round) not in years:
            abort(404, _("No hay datos de la Métrica para la ronda %(year)s.", year=raw_round))
        year: int | None = int(raw_round)
    else:
        year = years[-1] if years else None
    index = request.args.get("index", "GA")
    if index not in INDICES:
        abort(400, _("Índice desconocido: use uno de %(indices)s.", indices=", ".join(INDICES)))
    scheme = request.args.get("classes", "fixed")
    if scheme not in SCHEMES:
        abort(400, _("Clasificación desconocida: use fixed o quantile."))
    sort = request.args.get("sort", "rank") if table else "rank"
    if sort not in STATE_SORTS:
        abort(400, _("Columna de orden desconocida."))
    return StateMapQuery(years, year, index, scheme, sort, _order() if table else "asc")


def _state_values(query: StateMapQuery) -> dict[str, float]:
    if query.year is None:
        return {}
    return state_index_values(db.session, query.year, query.index)


def _state_rows(layer: Layer, values: dict[str, float]) -> list[dict[str, Any]]:
    names = {**layer.frame["name"].to_dict(), **state_names(db.session)}
    rank = ranks(values)
    return [
        {
            "code": code,
            "name": names.get(code, code),
            "value": values.get(code),
            "rank": rank.get(code),
        }
        for code in layer.codes
    ]


def _build_state_map() -> dict[str, Any]:
    query = _state_query()
    layer, bundled = active_layer(db.session, "state")
    values = _state_values(query)
    classes = make_classes(query.scheme, list(values.values()))
    rows = _state_rows(layer, values)
    index_label = str(INDEX_LABELS.get(query.index, query.index))
    title = (
        _("%(label)s (%(index)s), %(year)s", label=index_label, index=query.index,
          year=query.year)
        if query.year is not None
        else _("%(label)s (%(index)s)", label=index_label, index=query.index)
    )
    folium_map = choropleth_map(
        layer,
        values,
        classes,
        text=ChoroplethText(
            title=title,
            value_label=query.index,
            rank_label=_("Lugar"),
            no_data=str(NO_DATA),
            credit=_credit(bundled, layer),
            rank_format=_("%(rank)s de %(total)s"),
        ),
        names={r["code"]: r["name"] for r in rows},
        links={r["code"]: url_for("states.detail", cve_ent=r["code"]) for r in rows},
        assets=_assets(),
        tiles=_tiles(),
    )
    parts = map_components(folium_map)
    body = render_template(
        "maps/state_map.html",
        query=query,
        rows=_sorted(rows, query.sort, query.order),
        classes=classes,
        class_labels=classes.labels(),
        colour={r["code"]: classes.colour(r["value"]) for r in rows},
        map_html=Markup(parts.html),
        title=title,
        indices=INDICES,
        index_labels=INDEX_LABELS,
        scheme_labels=SCHEME_LABELS,
        ranked=sum(1 for r in rows if r["rank"] is not None),
        bundled=bundled,
        layer=layer,
        format_value=format_value,
    )
    return {
        "title": _("Mapa de la Métrica de Gobierno Abierto"),
        "head": parts.head,
        "body": body,
        "script": parts.script,
    }


@bp.get("/map")
def state_map() -> str:
    return _cached_page("state_map", _build_state_map)


def _download_name(query: StateMapQuery, extension: str) -> str:
    year = query.year if query.year is not None else "sin-ronda"
    return f"metrica-{query.index}-{year}-estados.{extension}"


def _geojson(data: dict[str, Any], filename: str) -> Response:
    return Response(
        dumps(data),
        mimetype="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/map.csv")
def state_map_csv() -> Response:
    query = _state_query(table=False)
    layer, _bundled = active_layer(db.session, "state")
    rows = _sorted(_state_rows(layer, _state_values(query)), "rank", "asc")
    for row in rows:
        row.update(cve_ent=row["code"], state=row["name"], year=query.year, index=query.index,
                   value=format_value(row["value"], 4) or "")
    columns = ["cve_ent", "state", "year", "index", "value", "rank"]
    return csv_response(_download_name(query, "csv"), columns, rows)


@bp.get("/map.geojson")
def state_map_geojson() -> Response:
    query = _state_query(table=False)
    layer, _bundled = active_layer(db.session, "state")
    rows = _state_rows(layer, _state_values(query))
    properties = {
        r["code"]: {"state": r["name"], "year": query.year, "index": query.index,
                    "value": r["value"], "rank": r["rank"]}
        for r in rows
    }
    data = feature_collection(
        layer.frame, CODE_PROPERTY["state"], properties=properties,
        members={"attribution": layer.attribution},
    )
    return _geojson(data, _download_name(query, "geojson"))


# --- The local exercises --------------------------------------------------------------


def _exercise_rows(layer: Layer) -> list[dict[str, Any]]:
    names = {**layer.frame["name"].to_dict(), **state_names(db.session)}
    exercises = exercise_rows(db.session)
    rows = []
    for code in layer.codes:
        exercise = exercises.get(code)
        stage = exercise.stage if exercise is not None else None
        rows.append(
            {
                "code": code,
                "name": names.get(code, code),
                "stage": stage,
                "stage_order": STAGES.index(stage) if stage in STAGES else None,
                "declaration_date": exercise.declaration_date if exercise else None,
                "stl_installed_date": exercise.stl_installed_date if exercise else None,
                "source": exercise.source if exercise else None,
            }
        )
    return rows


def _build_exercise_map() -> dict[str, Any]:
    sort = request.args.get("sort", "stage")
    if sort not in EXERCISE_SORTS:
        abort(400, _("Columna de orden desconocida."))
    order = request.args.get("order", "desc" if sort == "stage" else "asc")
    if order not in ORDERS:
        abort(400, _("Orden desconocido: use asc o desc."))
    layer, bundled = active_layer(db.session, "state")
    rows = _exercise_rows(layer)
    categories = [Category(s, str(STAGE_LABELS[s]), STAGE_COLOURS[s]) for s in STAGES]
    title = _("Etapa del ejercicio local")
    folium_map = category_map(
        layer,
        {r["code"]: r["stage"] for r in rows},
        categories,
        title=title,
        value_label=_("Etapa"),
        no_data=str(NO_DATA),
        credit=_credit(bundled, layer),
        names={r["code"]: r["name"] for r in rows},
        links={r["code"]: url_for("states.detail", cve_ent=r["code"]) for r in rows},
        assets=_assets(),
        tiles=_tiles(),
    )
    parts = map_components(folium_map)
    sort_key = "stage_order" if sort == "stage" else sort
    counts = {s: sum(1 for r in rows if r["stage"] == s) for s in STAGES}
    body = render_template(
        "maps/exercise_map.html",
        rows=_sorted(rows, sort_key, order),
        sort=sort,
        order=order,
        categories=categories,
        counts=counts,
        unknown_count=sum(1 for r in rows if r["stage"] not in STAGES),
        stage_labels=STAGE_LABELS,
        stage_colours=STAGE_COLOURS,
        map_html=Markup(parts.html),
        bundled=bundled,
        layer=layer,
    )
    return {
        "title": _("Mapa de los ejercicios locales"),
        "head": parts.head,
        "body": body,
        "script": parts.script,
    }


@bp.get("/map/exercises")
def exercise_map() -> str:
    return _cached_page("exercise_map", _build_exercise_map)


def _exercise_download_rows(layer: Layer) -> list[dict[str, Any]]:
    rows = _sorted(_exercise_rows(layer), "code", "asc")
    for row in rows:
        row.update(
            cve_ent=row["code"],
            state=row["name"],
            stage=row["stage"] or "",
            stage_label=str(STAGE_LABELS[row["stage"]]) if row["stage"] in STAGES else "",
        )
    return rows


@bp.get("/map/exercises.csv")
def exercise_map_csv() -> Response:
    layer, _bundled = active_layer(db.session, "state")
    rows = _exercise_download_rows(layer)
    columns = ["cve_ent", "state", "stage", "stage_label", "declaration_date",
               "stl_installed_date", "source"]
    return csv_response("ejercicios-locales-estados.csv", columns, rows)


@bp.get("/map/exercises.geojson")
def exercise_map_geojson() -> Response:
    layer, _bundled = active_layer(db.session, "state")
    rows = _exercise_download_rows(layer)
    keep = ("state", "stage", "stage_label", "declaration_date", "stl_installed_date", "source")
    properties = {r["code"]: {k: (r[k] or None) for k in keep} for r in rows}
    data = feature_collection(
        layer.frame, CODE_PROPERTY["state"], properties=properties,
        members={"attribution": layer.attribution},
    )
    return _geojson(data, "ejercicios-locales-estados.geojson")
