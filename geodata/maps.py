"""Map builders: a layer plus values -> ``folium.Map``, and its components for a template.

The builders are pure: every text they show comes in as an argument (the app translates it),
every name from data is escaped, and every asset URL comes from ``assets`` (folium's CDN
links are replaced or dropped), so a map works with no network.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import folium
from branca.element import Figure, MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from .classify import NO_DATA_COLOUR, OUTLINE, Classes, ranks
from .layers import CODE_PROPERTY, Layer, feature_collection

# Names of folium's default assets that the maps need; every other default link is dropped.
NEEDED_ASSETS = ("leaflet", "leaflet_css")


@dataclass(frozen=True)
class Tiles:
    """A configured tile layer: URL template and its attribution (shown escaped)."""

    url: str
    attribution: str


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: swatch colour, label, and whether it marks missing data."""

    colour: str
    label: str
    no_data: bool = False


@dataclass(frozen=True)
class Category:
    """A category of a categorical map (e.g. a stage of the local exercises)."""

    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class MapComponents:
    """The pieces of a rendered map that a page template embeds."""

    head: str  # <script>/<link> to local assets and the map's styles
    html: str  # the map's container
    script: str  # the JavaScript that draws it (without <script> tags)


class Legend(MacroElement):
    """A Leaflet control holding a legend whose HTML is built (escaped) in Python."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomleft"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "map-legend");
            div.setAttribute("role", "group");
            div.setAttribute("aria-label", {{ this.title|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: Sequence[LegendItem]):
        super().__init__()
        self._name = "Legend"
        self.title = title
        rows = []
        for item in items:
            css = "swatch no-data" if item.no_data else "swatch"
            rows.append(
                f'<li><span class="{css}" style="background:{html.escape(item.colour)}">'
                f"</span>{html.escape(item.label)}</li>"
            )
        self.html = f"<strong>{html.escape(title)}</strong><ul>{''.join(rows)}</ul>"


def _style(colour: str, no_data: bool) -> dict[str, object]:
    style: dict[str, object] = {
        "fillColor": colour,
        "fillOpacity": 0.85,
        "color": OUTLINE,
        "weight": 0.8,
    }
    if no_data:
        style.update({"dashArray": "3 3", "fillOpacity": 0.6})
    return style


class ZoomControl(MacroElement):
    """Leaflet's zoom buttons with titles in the page's language (Leaflet's are English)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.zoom({zoomInTitle: {{ this.zoom_in|tojson }},
                        zoomOutTitle: {{ this.zoom_out|tojson }}})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, zoom_in: str, zoom_out: str):
        super().__init__()
        self._name = "ZoomControl"
        self.zoom_in = zoom_in
        self.zoom_out = zoom_out


def _base_map(layer: Layer, assets: Mapping[str, str], tiles: Tiles | None,
              zoom: tuple[str, str] = ("Zoom in", "Zoom out")) -> folium.Map:
    """Return a map fitted to the layer, with local assets only and tiles only if configured.

    ``zoom``: the (translated) titles of the zoom-in and zoom-out buttons.
    """
    m = folium.Map(
        location=[23.6, -102.5],
        zoom_start=5,
        tiles=None,
        zoom_snap=0.25,
        prefer_canvas=False,
        zoom_control=False,
    )
    m.add_child(ZoomControl(*zoom))
    # Instance attributes: folium's class-level lists stay untouched.
    m.default_js = [(n, assets[n]) for n, _ in folium.Map.default_js if n in assets]
    m.default_css = [(n, assets[n]) for n, _ in folium.Map.default_css if n in assets]
    missing = [n for n in NEEDED_ASSETS if n not in assets]
    if missing:
        raise ValueError(f"local URLs are needed for {missing}")
    if tiles is not None and tiles.url:
        folium.TileLayer(tiles=tiles.url, attr=html.escape(tiles.attribution)).add_to(m)
    minx, miny, maxx, maxy = layer.frame.total_bounds
    # Room at the bottom for the legend, which sits over the Pacific.
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]],
                 padding_bottom_right=(0, 120), padding_top_left=(10, 10))
    return m


def _add_shapes(
    m: folium.Map,
    layer: Layer,
    styles: Mapping[str, dict[str, object]],
    tips: Mapping[str, str],
    links: Mapping[str, str],
    credit: str,
    labels: Mapping[str, str] | None = None,
) -> folium.GeoJson:
    """Draw the layer's features with their styles, tooltips and click-through links.

    Each shape is focusable and named by its plain-text label (name and value) for keyboard
    and screen-reader users; Enter on a shape with a link opens it, like a click.
    """
    labels = labels or {}
    properties = {
        code: {"tip": tips.get(code, ""), "label": labels.get(code, ""),
               **({"url": links[code]} if code in links else {})}
        for code in layer.codes
    }
    data = feature_collection(
        layer.frame, CODE_PROPERTY[layer.level], properties=properties, with_id=True
    )
    shapes = folium.GeoJson(
        data,
        name=layer.name,
        style_function=lambda feature: styles[feature["id"]],
        highlight_function=lambda feature: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        on_each_feature=JsCode(
            """function (feature, layer) {
                var url = feature.properties.url;
                if (url) {
                    layer.on("click", function () {
                        window.location.assign(feature.properties.url);
                    });
                }
                layer.on("add", function () {
                    var el = layer.getElement && layer.getElement();
                    if (!el) { return; }
                    el.setAttribute("tabindex", "0");
                    el.setAttribute("role", url ? "link" : "img");
                    // The label comes escaped like every text from data; an inert
                    // DOMParser document turns it back into plain text.
                    var text = new DOMParser().parseFromString(
                        feature.properties.label, "text/html").documentElement.textContent;
                    el.setAttribute("aria-label", text);
                    el.addEventListener("keydown", function (event) {
                        if (url && event.key === "Enter") { window.location.assign(url); }
                    });
                    el.addEventListener("focus", function () { layer.openTooltip(); });
                    el.addEventListener("blur", function () { layer.closeTooltip(); });
                });
            }"""
        ),
        attribution=html.escape(credit),
        className="map-shape",
    )
    shapes.add_to(m)
    return shapes


def _label(name: str, lines: Sequence[tuple[str, str]]) -> str:
    """Return the name of a shape, e.g. 'Durango: GA 0.41, Lugar 3 de 28' (escaped HTML)."""
    return html.escape(f"{name}: " + ", ".join(f"{label} {value}" for label, value in lines))


def _tip(name: str, lines: Sequence[tuple[str, str]]) -> str:
    """Return tooltip HTML with every piece of text escaped (names come from data)."""
    parts = [f"<strong>{html.escape(name)}</strong>"]
    parts += [f"{html.escape(label)}: {html.escape(value)}" for label, value in lines]
    return "<br>".join(parts)


@dataclass(frozen=True)
class ChoroplethText:
    """The (translated) words a choropleth shows."""

    title: str  # legend title, e.g. "Índice de Gobierno Abierto (GA), 2019"
    value_label: str  # e.g. "GA"
    rank_label: str  # e.g. "Lugar"
    no_data: str  # e.g. "sin datos"
    credit: str  # boundary layer attribution shown on the map
    rank_format: str = "%(rank)s de %(total)s"  # e.g. "3 de 28"
    zoom: tuple[str, str] = ("Zoom in", "Zoom out")  # titles of the zoom buttons


def format_value(value: float | None, decimals: int = 2) -> str | None:
    """Format a score as printed in the reports (two decimals), None when missing."""
    return None if value is None else f"{value:.{decimals}f}"


def choropleth_map(
    layer: Layer,
    values: Mapping[str, float | None],
    classes: Classes,
    *,
    text: ChoroplethText,
    names: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    assets: Mapping[str, str],
    tiles: Tiles | None = None,
) -> folium.Map:
    """Return a classed choropleth of ``values`` (by code) over ``layer``.

    Codes without a value are drawn in the no-data style; tooltips give name, value and rank.
    """
    rank = ranks(values)

    def cell(code: str) -> tuple[str, bool, list[tuple[str, str]]]:
        value = values.get(code)
        shown = format_value(value)
        lines = [(text.value_label, shown if shown is not None else text.no_data)]
        if code in rank:
            lines.append((text.rank_label, text.rank_format % {"rank": rank[code],
                                                                "total": len(rank)}))
        return classes.colour(value), classes.index(value) is None, lines

    legend = [LegendItem(c, label) for c, label in zip(classes.colours, classes.labels(),
                                                        strict=True)]
    return _coloured_map(layer, cell, legend, title=text.title, no_data=text.no_data,
                         credit=text.credit, zoom=text.zoom, names=names, links=links,
                         assets=assets, tiles=tiles)


def category_map(
    layer: Layer,
    values: Mapping[str, str | None],
    categories: Sequence[Category],
    *,
    assets: Mapping[str, str],
    title: str,
    value_label: str,
    no_data: str,
    credit: str,
    zoom: tuple[str, str] = ("Zoom in", "Zoom out"),
    tiles: Tiles | None = None,
    names: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
) -> folium.Map:
    """Return a map colouring each code by its category; unknown codes in the no-data style."""
    by_key = {c.key: c for c in categories}

    def cell(code: str) -> tuple[str, bool, list[tuple[str, str]]]:
        category = by_key.get(values.get(code) or "")
        if category is None:
            return NO_DATA_COLOUR, True, [(value_label, no_data)]
        return category.colour, False, [(value_label, category.label)]

    legend = [LegendItem(c.colour, c.label) for c in categories]
    return _coloured_map(layer, cell, legend, title=title, no_data=no_data, credit=credit,
                         zoom=zoom, names=names, links=links, assets=assets, tiles=tiles)


def _coloured_map(
    layer: Layer,
    cell: Callable[[str], tuple[str, bool, list[tuple[str, str]]]],
    legend: list[LegendItem],
    *,
    title: str,
    no_data: str,
    credit: str,
    zoom: tuple[str, str],
    names: Mapping[str, str] | None,
    links: Mapping[str, str] | None,
    assets: Mapping[str, str],
    tiles: Tiles | None,
) -> folium.Map:
    """Draw every shape of ``layer`` as ``cell(code)`` says (colour, no data?, tooltip lines),
    with a legend of ``legend`` and the no-data entry."""
    names = {**layer.names, **(names or {})}
    styles, tips, labels = {}, {}, {}
    for code in layer.codes:
        colour, missing, lines = cell(code)
        styles[code] = _style(colour, missing)
        tips[code] = _tip(names.get(code, code), lines)
        labels[code] = _label(names.get(code, code), lines)
    m = _base_map(layer, assets, tiles, zoom)
    _add_shapes(m, layer, styles, tips, links or {}, credit, labels)
    m.add_child(Legend(title, [*legend, LegendItem(NO_DATA_COLOUR, no_data, no_data=True)]))
    return m


def map_components(m: folium.Map) -> MapComponents:
    """Render ``m`` and return the pieces a page embeds (never a whole folium page).

    folium's own page header sets full-page styles on html/body; it is left out, and the
    page's stylesheet sizes the map instead.
    """
    figure = m.get_root()
    assert isinstance(figure, Figure)  # folium puts every map in a Figure
    figure.render()
    header = figure.header
    for name in (m.get_name(), "meta_http"):
        header._children.pop(name, None)
    return MapComponents(
        head=header.render().strip(),
        html=figure.html.render().strip(),
        script=figure.script.render().strip(),
    )
