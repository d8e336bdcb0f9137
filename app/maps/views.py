"""Map pages: the metric choropleth (/map), the local exercises (/map/exercises), downloads.

Pages are public like every other (app.httpcache: validators from the revisions of the
datasets a map draws from, metric, local, geodata and states, the language and the query;
nginx keeps the copies); a bad argument is refused (400) and never public; a write to any of
those datasets bumps its revision, so the next request renders afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app import params
from app.accounts.security import frameable
from app.extensions import db
from app.httpcache import cached_public
from app.listing import ListSpec, ListView, Sort, columns, download, order_rows, parse_list
from app.metric.scores import round_years
from common.codes import CLASS_SCHEMES, STAGES
from common.codes import INDICES as INDEX_CODES
from geodata.classify import make_classes
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
from .service import DATASETS, StateMapPage, active_layer, exercise_table, state_map_page

if TYPE_CHECKING:
    import folium

# Light to dark along the programme's progress (ColorBrewer YlGnBu, colour-blind safe).
STAGE_COLOURS = {"none": "#ffffcc", "declaration": "#a1dab4", "secretariat": "#41b6c4",
                 "plan": "#225ea8"}
LEAFLET = "vendor/leaflet-1.9.4/"


STATE_TABLE = ListSpec(
    name="metrica-estados",
    sorts={"rank": Sort(), "name": Sort(), "value": Sort(descending=True), "code": Sort()},
    default_sort="rank",
    filters={
        "round": params.int_choice(round_years),
        "index": params.choice(INDEX_CODES.codes),
        "classes": params.choice(CLASS_SCHEMES.codes),
    },
    columns=columns(
        "cve_ent", "state", "year", "index", "value", "rank",
        cve_ent="code", state="name", value=lambda r: format_value(r.value, 4) or None,
    ),
)
EXERCISE_TABLE = ListSpec(
    name="ejercicios-locales-estados",
    sorts={
        "stage": Sort(value=lambda r: r["stage_order"], descending=True),
        "name": Sort(),
        "code": Sort(),
    },
    default_sort="-stage",
    columns=columns("cve_ent", "state", "stage", "stage_label", "declaration_date",
                    "stl_installed_date", "source"),
)


def _assets() -> dict[str, str]:
    """Local URLs of the assets the map builders need (no CDN)."""
    return {
        "leaflet": url_for("static", filename=LEAFLET + "leaflet.js"),
        "leaflet_css": url_for("static", filename=LEAFLET + "leaflet.css"),
    }


def _tiles() -> Tiles | None:
    url = current_app.config.get("MAP_TILE_URL") or ""
    return Tiles(url, current_app.config.get("MAP_TILE_ATTRIBUTION") or "") if url else None


def _zoom() -> tuple[str, str]:
    return _("Acercar"), _("Alejar")


def _credit(bundled: bool, layer: Layer) -> str:
    if bundled:
        return _("Límites: Natural Earth (dominio público)")
    return _("Límites: %(name)s", name=layer.attribution or layer.name)


def _cached_page(kind: str, view: ListView, build: Callable[[], dict[str, Any]]) -> str:
    """Render the page around the map parts (nginx keeps the whole response)."""
    parts = build()
    return render_template("maps/page.html", **{k: Markup(v) for k, v in parts.items()})


def _map_parts(
    folium_map: folium.Map, page_title: str, template: str, **context: Any
) -> dict[str, Any]:
    parts = map_components(folium_map)
    body = render_template(template, map_html=Markup(parts.html), **context)
    return {"title": page_title, "head": parts.head, "body": body, "script": parts.script}


# --- The metric choropleth -------------------------------------------------------------


def _state_view() -> tuple[ListView, int | None, str]:
    """Parse /map's arguments: the view, the round asked for (None: the latest), the index."""
    view = parse_list(STATE_TABLE)
    return view, view.filters["round"] or None, view.filters["index"] or "GA"


def _build_state_map(view: ListView, page: StateMapPage,
                     template: str = "maps/state_map.html") -> dict[str, Any]:
    year, index, layer, rows = page.year, page.index, page.layer, page.rows
    # The fixed scale covers every loaded round's values: the same classes for every round.
    classes = make_classes(view.filters["classes"] or "fixed", list(page.values.values()),
                           scale=page.scale)
    label = INDEX_CODES[index]
    title = (_("%(label)s (%(index)s), %(year)s", label=label, index=index, year=year)
             if year is not None else _("%(label)s (%(index)s)", label=label, index=index))
    text = ChoroplethText(
        title=title, value_label=index, rank_label=_("Lugar"), no_data=_("sin datos"),
        credit=_credit(page.bundled, layer), rank_format=_("%(rank)s de %(total)s"),
        zoom=_zoom(),
    )
    folium_map = choropleth_map(
        layer, page.values, classes, text=text, names={r.code: r.name for r in rows},
        links={r.code: url_for("states.detail", cve_ent=r.code) for r in rows},
        assets=_assets(), tiles=_tiles(),
    )
    return _map_parts(
        folium_map, _("Mapa de la Métrica de Gobierno Abierto"), template,
        list=view, year=year, index=index, years=page.years, scheme=classes.scheme,
        rows=order_rows(rows, view), classes=classes, class_labels=classes.labels(),
        colour={r.code: classes.colour(r.value) for r in rows}, title=title,
        indices=INDEX_CODES, scheme_labels=CLASS_SCHEMES,
        ranked=sum(1 for r in rows if r.rank is not None), bundled=page.bundled, layer=layer,
        format_value=format_value,
    )


@bp.get("/map")
@cached_public(*DATASETS)
def state_map() -> str:
    view, year, index = _state_view()
    page = state_map_page(db.session, year, index)
    return _cached_page("state_map", view, lambda: _build_state_map(view, page))


@bp.get("/embed/map")
@cached_public(*DATASETS)
@frameable
def embed_map() -> Response:
    """The metric map alone (no site chrome), with attribution and a link back, for iframes.

    Framing is allowed (``@frameable``): its Content-Security-Policy says
    ``frame-ancestors *`` and it sends no X-Frame-Options, also when served from a cache.
    """
    view, year, index = _state_view()
    page = state_map_page(db.session, year, index)
    parts = _build_state_map(view, page, template="maps/embed_body.html")
    html = render_template("maps/embed.html", **{k: Markup(v) for k, v in parts.items()})
    return Response(html, mimetype="text/html")


def _geojson(layer: Layer, properties: dict[str, Any], filename: str) -> Response:
    data = feature_collection(layer.frame, CODE_PROPERTY["state"], properties=properties,
                              members={"attribution": layer.attribution})
    return Response(dumps(data), mimetype="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _download_name(year: int | None, index: str) -> str:
    return f"metrica-{index}-{year if year is not None else 'sin-ronda'}-estados"


@bp.get("/map.csv")
@cached_public(*DATASETS)
def state_map_csv() -> Response:
    view, year, index = _state_view()
    view.format = "csv"
    page = state_map_page(db.session, year, index)
    view.sort, view.descending = "rank", False
    return download(view, order_rows(page.rows, view), _download_name(page.year, index))


@bp.get("/map.geojson")
@cached_public(*DATASETS)
def state_map_geojson() -> Response:
    _view, year, index = _state_view()
    page = state_map_page(db.session, year, index)
    properties = {r.code: {"state": r.name, "year": r.year, "index": r.index, "value": r.value,
                           "rank": r.rank} for r in page.rows}
    return _geojson(page.layer, properties, _download_name(page.year, index) + ".geojson")


# --- The local exercises --------------------------------------------------------------


def _build_exercise_map(view: ListView) -> dict[str, Any]:
    layer, bundled = active_layer(db.session, "state")
    rows = exercise_table(db.session, layer)
    categories = [Category(s, STAGES[s], STAGE_COLOURS[s]) for s in STAGES]
    folium_map = category_map(
        layer, {r["code"]: r["stage"] for r in rows}, categories,
        title=_("Etapa del ejercicio local"), value_label=_("Etapa"), no_data=_("sin datos"),
        credit=_credit(bundled, layer), names={r["code"]: r["name"] for r in rows},
        links={r["code"]: url_for("states.detail", cve_ent=r["code"]) for r in rows},
        assets=_assets(), tiles=_tiles(), zoom=_zoom(),
    )
    return _map_parts(
        folium_map, _("Mapa de los ejercicios locales"), "maps/exercise_map.html",
        list=view, rows=order_rows(rows, view), categories=categories,
        counts={s: sum(1 for r in rows if r["stage"] == s) for s in STAGES},
        unknown_count=sum(1 for r in rows if r["stage"] not in STAGES),
        stage_colours=STAGE_COLOURS, bundled=bundled, layer=layer,
    )


@bp.get("/map/exercises")
@cached_public(*DATASETS)
def exercise_map() -> str:
    view = parse_list(EXERCISE_TABLE)
    return _cached_page("exercise_map", view, lambda: _build_exercise_map(view))


@bp.get("/map/exercises.csv")
@cached_public(*DATASETS)
def exercise_map_csv() -> Response:
    view = parse_list(EXERCISE_TABLE)
    view.format = "csv"
    layer, _bundled = active_layer(db.session, "state")
    view.sort, view.descending = "code", False
    return download(view, order_rows(exercise_table(db.session, layer), view))


@bp.get("/map/exercises.geojson")
@cached_public(*DATASETS)
def exercise_map_geojson() -> Response:
    layer, _bundled = active_layer(db.session, "state")
    keep = ("state", "stage", "stage_label", "declaration_date", "stl_installed_date", "source")
    properties = {r["code"]: {k: (r[k] or None) for k in keep}
                  for r in exercise_table(db.session, layer)}
    return _geojson(layer, properties, "ejercicios-locales-estados.geojson")
