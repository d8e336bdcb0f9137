"""Charts drawn on the server as accessible SVG: no JavaScript, no network, no library.

A handful of chart types (line, diverging bars, slope, scatter, timeline, small choropleth)
is all the site shows, so they are written here rather than shipping a JavaScript charting
library: each is a pure function of its data and its (already translated) words, returns
``Markup`` and is tested. Every chart has ``role="img"`` with a ``<title>`` and ``<desc>``
(or, for the map, one named link per state), prints its values on the chart, never relies on
colour alone (signs, shapes and dash patterns carry the same meaning) and is shown beside a
table of the same numbers, which stays the primary accessible route.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, TypeGuard

from markupsafe import Markup

if TYPE_CHECKING:
    from geodata.layers import Layer

Number = float | int
Format = Callable[[float], str]

# Okabe-Ito (colour-blind safe) for series; the dash patterns repeat the distinction.
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 2")
UP, DOWN, NEUTRAL = "#2c7fb8", "#d95f0e", "#636363"
FONT = 12


def two_decimals(value: float) -> str:
    return f"{value:.2f}"


def _n(value: float) -> str:
    """A coordinate with at most one decimal (small files, exact enough for the screen)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _chart_id(*parts: object) -> str:
    return "c" + hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


def _svg(width: float, height: float, title: str, desc: str, body: str, kind: str,
         role: str = "img") -> Markup:
    ident = _chart_id(kind, title, desc, body)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'role="{role}" aria-labelledby="{ident}-t {ident}-d" font-size="{FONT}">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>'
            f"{escape(text)}</text>")


def _known(value: Number | None) -> TypeGuard[Number]:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _value(value: Number | None) -> float | None:
    """The value as a float, or None when it is missing (None or NaN)."""
    return float(value) if _known(value) else None


@dataclass(frozen=True)
class Scale:
    """A linear map from the domain [lo, hi] to the range [a, b]."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.a + (value - self.lo) * (self.b - self.a) / span


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        if value >= lo - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


# --- Line chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line: a name and a value (or None: a gap) per x; ``marked`` x's are caveated."""

    name: str
    values: Mapping[Number, Number | None]
    marked: frozenset[Number] = field(default_factory=frozenset)


def line_chart(
    series: Sequence[Series], *, title: str, desc: str,
    x_labels: Mapping[Number, str] | None = None,
    y_range: tuple[float, float] | None = (0.0, 1.0), fmt: Format = two_decimals,
    width: int = 560, height: int = 300, mark_note: str = "",
) -> Markup:
    """Lines over numeric x (e.g. years) with every value printed beside its point.

    Missing values break the line; caveated (``marked``) points are hollow and their label
    ends with an asterisk, explained by ``mark_note`` under the chart.
    """
    xs = sorted({x for s in series for x in s.values})
    known = [float(v) for s in series for v in s.values.values() if _known(v)]
    lo, hi = y_range if y_range else (min(known, default=0.0), max(known, default=1.0))
    left, right, top, bottom = 44, 110, 16, 34 + (16 if mark_note else 0)
    x = Scale(min(xs, default=0), max(xs, default=1), left + 20, width - right)
    if len(xs) == 1:
        x = Scale(xs[0] - 1, xs[0] + 1, left + 20, width - right)
    y = Scale(lo, hi, height - bottom, top)
    parts = ['<g class="axis">']
    for tick in nice_ticks(lo, hi, 5):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_n(y(tick))}" '
                     f'y2="{_n(y(tick))}" stroke="#ddd"/>')
        parts.append(_text(left - 4, y(tick) + 4, fmt(tick), "end", fill="#444"))
    for at in xs:
        label = (x_labels or {}).get(at, str(at))
        parts.append(_text(x(at), height - bottom + 16, label, "middle", fill="#222"))
    parts.append("</g>")
    for i, s in enumerate(series):
        colour, dash = SERIES_COLOURS[i % len(SERIES_COLOURS)], DASHES[i % len(DASHES)]
        points = [(v, s.values.get(v)) for v in xs]
        segment: list[str] = []
        segments: list[list[str]] = []
        for v, value in points:
            if _known(value):
                segment.append(f"{_n(x(v))},{_n(y(float(value)))}")
            elif segment:
                segments.append(segment)
                segment = []
        if segment:
            segments.append(segment)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series" data-series="{escape(s.name)}">')
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"'
                             f'{dash_attr} points="{" ".join(seg)}"/>')
        last = None
        for v, value in points:
            known_value = _value(value)
            if known_value is None:
                continue
            cx, cy = x(v), y(known_value)
            hollow = v in s.marked
            fill = "#fff" if hollow else colour
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="4" fill="{fill}" '
                         f'stroke="{colour}" stroke-width="2"/>')
            label = fmt(known_value) + ("*" if hollow else "")
            parts.append(_text(cx + 6, cy - 6, label, "start", fill="#222",
                               class_="value-label"))
            last = (cx, cy)
        if last is not None:
            parts.append(_text(width - right + 30, last[1] + 4, s.name, "start", fill=colour,
                               font_weight="bold"))
        parts.append("</g>")
    if mark_note:
        parts.append(_text(left, height - 4, "* " + mark_note, "start", fill="#444"))
    return _svg(width, height, title, desc, "".join(parts), "line")


# --- Diverging bars ---------------------------------------------------------------------


def diverging_bars(
    items: Sequence[tuple[str, Number | None]], *, title: str, desc: str,
    fmt: Format = lambda v: f"{v:+.3f}", width: int = 560, row: int = 18,
) -> Markup:
    """Horizontal bars left (falls) and right (rises) of zero, each with its signed value."""
    values = [abs(float(v)) for _, v in items if _known(v)]
    extent = max(values, default=0.0) or 1.0
    label_w, value_w = 170, 56
    mid = label_w + (width - label_w) / 2
    half = (width - label_w) / 2 - value_w
    height = row * len(items) + 24
    parts = [f'<line x1="{_n(mid)}" x2="{_n(mid)}" y1="4" y2="{height - 16}" stroke="#444"/>']
    for i, (name, value) in enumerate(items):
        top = 6 + i * row
        parts.append(_text(label_w - 6, top + row * 0.7, name, "end", fill="#222"))
        v = _value(value)
        if v is None:
            parts.append(_text(mid + 4, top + row * 0.7, "—", "start", fill="#636363"))
            continue
        length = abs(v) / extent * half
        colour = UP if v > 0 else (DOWN if v < 0 else NEUTRAL)
        x0 = mid if v >= 0 else mid - length
        parts.append(f'<rect x="{_n(x0)}" y="{_n(top + 2)}" width="{_n(max(length, 0.5))}" '
                     f'height="{row - 5}" fill="{colour}"/>')
        tx = mid + length + 4 if v >= 0 else mid - length - 4
        parts.append(_text(tx, top + row * 0.7, fmt(v), "start" if v >= 0 else "end",
                           fill="#222", class_="value-label"))
    return _svg(width, height, title, desc, "".join(parts), "bars")


# --- Slope chart ------------------------------------------------------------------------


def _spread(wanted: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Move label positions (in order) apart by at least ``gap`` within [lo, hi]."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    previous = lo - gap
    for i in order:
        placed[i] = max(wanted[i], previous + gap)
        previous = placed[i]
    overflow = previous - hi
    if overflow > 0:
        following = hi + gap
        for i in reversed(order):
            placed[i] = min(placed[i], following - gap)
            following = placed[i]
    return placed


def slope_chart(
    items: Sequence[tuple[str, Number | None, Number | None]], *, title: str, desc: str,
    left_label: str, right_label: str, fmt: Format = two_decimals, width: int = 560,
    y_range: tuple[float, float] | None = None,
) -> Markup:
    """Each item's value in two rounds, joined by a line; labelled on both sides."""
    pairs = [(n, a, b) for n, a, b in items if _known(a) or _known(b)]
    known = [float(v) for _, a, b in pairs for v in (a, b) if _known(v)]
    lo, hi = y_range if y_range else (min(known, default=0.0), max(known, default=1.0))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    gap = 13
    height = max(200, gap * len(pairs) + 60)
    x1, x2 = 190, width - 190
    y = Scale(lo, hi, height - 20, 30)
    parts = [_text(x1, 16, left_label, "middle", font_weight="bold"),
             _text(x2, 16, right_label, "middle", font_weight="bold"),
             f'<line x1="{x1}" x2="{x1}" y1="24" y2="{height - 14}" stroke="#999"/>',
             f'<line x1="{x2}" x2="{x2}" y1="24" y2="{height - 14}" stroke="#999"/>']
    left_y = _spread([y(float(a)) if _known(a) else y(lo) for _, a, _b in pairs], gap, 30,
                     height - 14)
    right_y = _spread([y(float(b)) if _known(b) else y(lo) for _, _a, b in pairs], gap, 30,
                      height - 14)
    for i, (name, a, b) in enumerate(pairs):
        if _known(a) and _known(b):
            change = float(b) - float(a)
            colour = UP if change > 0 else (DOWN if change < 0 else NEUTRAL)
            dash = "" if change >= 0 else ' stroke-dasharray="4 2"'
            parts.append(f'<line x1="{x1}" y1="{_n(y(float(a)))}" x2="{x2}" '
                         f'y2="{_n(y(float(b)))}" stroke="{colour}" stroke-width="1.5"{dash}/>')
        for side, value, placed, xx, anchor in (("a", a, left_y[i], x1 - 6, "end"),
                                                ("b", b, right_y[i], x2 + 6, "start")):
            known_value = _value(value)
            shown = fmt(known_value) if known_value is not None else "—"
            if known_value is not None:
                parts.append(f'<circle cx="{x1 if side == "a" else x2}" '
                             f'cy="{_n(y(known_value))}" r="2.5" fill="#222"/>')
            text = f"{name} {shown}" if side == "a" else f"{shown} {name}"
            parts.append(_text(xx, placed + 4, text, anchor, fill="#222", font_size=11))
    return _svg(width, height, title, desc, "".join(parts), "slope")


# --- Scatter ----------------------------------------------------------------------------


def scatter(
    points: Sequence[tuple[str, Number | None, Number | None]], *, title: str, desc: str,
    x_label: str, y_label: str, fmt: Format = two_decimals, size: int = 360,
    domain: tuple[float, float] = (0.0, 1.0), diagonal: bool = True,
) -> Markup:
    """Points (x, y) with the diagonal y = x: above it, the value rose."""
    pad = 44
    x = Scale(domain[0], domain[1], pad, size - 12)
    y = Scale(domain[0], domain[1], size - pad, 12)
    parts = ['<g class="axis">']
    for tick in nice_ticks(*domain, 5):
        parts.append(_text(x(tick), size - pad + 14, fmt(tick), "middle", fill="#444"))
        parts.append(_text(pad - 4, y(tick) + 4, fmt(tick), "end", fill="#444"))
    parts.append(f'<rect x="{pad}" y="12" width="{size - 12 - pad}" height="{size - pad - 12}" '
                 'fill="none" stroke="#999"/>')
    parts.append(_text((pad + size - 12) / 2, size - 8, x_label, "middle", fill="#222"))
    parts.append(_text(12, (size - pad) / 2, y_label, "middle", fill="#222",
                       transform=f"rotate(-90 12 {_n((size - pad) / 2)})"))
    parts.append("</g>")
    if diagonal:
        parts.append(f'<line class="diagonal" x1="{_n(x(domain[0]))}" y1="{_n(y(domain[0]))}" '
                     f'x2="{_n(x(domain[1]))}" y2="{_n(y(domain[1]))}" stroke="#444" '
                     'stroke-dasharray="4 3"/>')
    parts.append('<g class="points" fill="#0072B2" fill-opacity="0.55">')
    for name, a, b in points:
        if _known(a) and _known(b):
            parts.append(f'<circle cx="{_n(x(float(a)))}" cy="{_n(y(float(b)))}" r="2.5">'
                         f"<title>{escape(name)}: {fmt(float(a))} → {fmt(float(b))}</title>"
                         "</circle>")
    parts.append("</g>")
    return _svg(size, size, title, desc, "".join(parts), "scatter")


# --- Timeline ---------------------------------------------------------------------------

MARKERS = ("circle", "square", "diamond", "triangle")


def fractional_year(date: str | None) -> float | None:
    """'2016', '2016-05' or '2016-05-20' -> a year with a fraction (None when unreadable)."""
    if not date:
        return None
    parts = str(date).split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 7  # a bare year: drawn mid-year
        day = int(parts[2]) if len(parts) > 2 else 15
    except ValueError:
        return None
    return year + (month - 1) / 12 + (day - 1) / 365


def _marker(shape: str, cx: float, cy: float, colour: str) -> str:
    if shape == "square":
        return (f'<rect x="{_n(cx - 4)}" y="{_n(cy - 4)}" width="8" height="8" '
                f'fill="{colour}"/>')
    if shape == "diamond":
        return (f'<path d="M{_n(cx)} {_n(cy - 5)}L{_n(cx + 5)} {_n(cy)}L{_n(cx)} {_n(cy + 5)}'
                f'L{_n(cx - 5)} {_n(cy)}Z" fill="{colour}"/>')
    if shape == "triangle":
        return (f'<path d="M{_n(cx)} {_n(cy - 5)}L{_n(cx + 5)} {_n(cy + 4)}L{_n(cx - 5)} '
                f'{_n(cy + 4)}Z" fill="{colour}"/>')
    return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="4.5" fill="{colour}"/>'


def timeline(
    rows: Sequence[tuple[str, Mapping[str, str | None]]], kinds: Sequence[tuple[str, str]], *,
    title: str, desc: str, width: int = 720, row: int = 16,
    links: Mapping[str, str] | None = None,
) -> Markup:
    """One row per item (e.g. a state) with its dated events on one time axis.

    ``rows``: (name, {kind: date}); ``kinds``: (kind, label) in order, each drawn with its
    own shape and colour (named in the legend). Rows without any date are listed as such.
    """
    when = [fractional_year(d) for _, events in rows for d in events.values()]
    known = [w for w in when if w is not None]
    lo = math.floor(min(known, default=2015))
    hi = math.floor(max(known, default=2020)) + 1
    label_w = 150
    x = Scale(lo, hi, label_w + 10, width - 14)
    legend_h = 24
    height = legend_h + row * len(rows) + 30
    parts = ['<g class="legend">']
    lx: float = label_w + 10
    for i, (_kind, label) in enumerate(kinds):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        parts.append(_marker(MARKERS[i % len(MARKERS)], lx, 12, colour))
        parts.append(_text(lx + 9, 16, label, "start", fill="#222"))
        lx += 18 + len(label) * 6.5
    parts.append("</g><g class=\"axis\">")
    for year in range(lo, hi + 1):
        parts.append(f'<line x1="{_n(x(year))}" x2="{_n(x(year))}" y1="{legend_h}" '
                     f'y2="{height - 24}" stroke="#e3e3e3"/>')
        parts.append(_text(x(year), height - 10, str(year), "middle", fill="#444"))
    parts.append("</g>")
    for r, (name, events) in enumerate(rows):
        cy = legend_h + r * row + row / 2
        label = _text(label_w, cy + 4, name, "end", fill="#222")
        if links and name in links:
            label = f'<a href="{escape(links[name])}">{label}</a>'
        parts.append(label)
        years = [(fractional_year(events.get(k)), i) for i, (k, _l) in enumerate(kinds)]
        dated = [(w, i) for w, i in years if w is not None]
        if len(dated) > 1:
            parts.append(f'<line x1="{_n(x(min(dated)[0]))}" x2="{_n(x(max(dated)[0]))}" '
                         f'y1="{_n(cy)}" y2="{_n(cy)}" stroke="#999" stroke-width="2"/>')
        for w, i in dated:
            parts.append(_marker(MARKERS[i % len(MARKERS)], x(w), cy,
                                 SERIES_COLOURS[i % len(SERIES_COLOURS)]))
    # With links the chart is a group of named links, not an image (axe: nested-interactive).
    return _svg(width, height, title, desc, "".join(parts), "timeline",
                role="group" if links else "img")


# --- Small choropleth -------------------------------------------------------------------


_path_cache: dict[tuple[int, int], tuple[Layer, dict[str, str], float]] = {}


def _paths(layer: Layer, width: int) -> tuple[dict[str, str], float]:
    """SVG path data per code for ``layer`` fitted to ``width``, cached per layer object."""
    key = (id(layer), width)
    hit = _path_cache.get(key)
    if hit is not None and hit[0] is layer:
        return hit[1], hit[2]
    if len(_path_cache) > 16:
        _path_cache.clear()
    paths, height = _project(layer, width)
    _path_cache[key] = (layer, paths, height)
    return paths, height


def _project(layer: Layer, width: int) -> tuple[dict[str, str], float]:
    """SVG path data per code for ``layer`` fitted to ``width`` (equirectangular)."""
    minx, miny, maxx, maxy = layer.frame.total_bounds
    k = math.cos(math.radians((miny + maxy) / 2))
    scale = (width - 4) / ((maxx - minx) * k)
    height = (maxy - miny) * scale + 4

    def ring(coords: Iterable[tuple[float, float]]) -> str:
        points = [(2 + (cx - minx) * k * scale, 2 + (maxy - cy) * scale) for cx, cy in coords]
        return "M" + "L".join(f"{_n(px)} {_n(py)}" for px, py in points) + "Z"

    paths = {}
    for code, geometry in zip(layer.frame.index, layer.frame.geometry, strict=True):
        polygons = getattr(geometry, "geoms", [geometry])
        paths[str(code)] = "".join(
            ring(p.exterior.coords) + "".join(ring(i.coords) for i in p.interiors)
            for p in polygons
        )
    return paths, height


def choropleth(
    layer: Layer, colours: Mapping[str, str], labels: Mapping[str, str], *, title: str,
    links: Mapping[str, str] | None = None, width: int = 420, no_data: str = "#bdbdbd",
    hatched: frozenset[str] | set[str] = frozenset(),
) -> Markup:
    """A small map of ``layer``: each state filled with its colour and named by its label.

    Every state is a link (focusable; Enter opens it) whose accessible name is its label
    (e.g. "Durango: 0.41"); states in ``hatched`` (no data) get a dashed outline.
    """
    paths, height = _paths(layer, width)
    links = links or {}
    parts = []
    for code, d in paths.items():
        colour = colours.get(code, no_data)
        dash = ' stroke-dasharray="2 2"' if code in hatched else ""
        label = labels.get(code, code)
        shape = (f'<path d="{d}" fill="{escape(colour)}" stroke="#4d4d4d" stroke-width="0.6"'
                 f'{dash}><title>{escape(label)}</title></path>')
        if code in links:
            shape = (f'<a href="{escape(links[code])}" aria-label="{escape(label)}" '
                     f'data-code="{escape(code)}">{shape}</a>')
        parts.append(shape)
    ident = _chart_id("map", title, tuple(sorted(colours.items())))
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-map" '
        f'viewBox="0 0 {width} {_n(height)}" width="{width}" height="{_n(height)}" '
        f'role="group" aria-labelledby="{ident}-t"><title id="{ident}-t">{escape(title)}</title>'
        f"{''.join(parts)}</svg>"
    )
