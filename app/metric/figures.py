"""The metric's charts: service results drawn with app.charts, in the reader's language.

Views call these after the service; each returns ``Markup`` (an SVG) that the template puts
beside the table of the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app import charts
from app.i18n import format_number, number_formatter
from geodata.classify import NO_DATA_COLOUR, Classes, fixed_classes, range_classes
from geodata.layers import Layer

from .compare import ComparePage, GroupChange, MatchedInstitution, PublishedChange
from .states import StateMetric, TypeMean
from .trends import Trend


def _fmt(digits: int, sign: bool = False) -> charts.Format:
    return number_formatter(digits, sign)


def trend_chart(trend: Trend, indices: Sequence[str], *, scope: str) -> Markup | None:
    """Published values of ``indices`` over every round (computed where nothing is published).

    Caveated published figures are hollow with an asterisk; the press's figures are series of
    their own (never mixed with the report's or with computed values); None when nothing to draw.
    """
    series = []
    for index in indices:
        values: dict[float | int, float | None] = {}
        marked = set()
        for year in trend.years:
            figure = trend.published.get(year, {}).get(index)
            if figure is not None:
                values[year] = figure.value
                if figure.note:
                    marked.add(year)
        if any(v is not None for v in values.values()):
            series.append(charts.Series(index, values, frozenset(marked)))
    series += press_series(trend, indices)
    if not series:
        return None
    shown = ", ".join(s.name for s in series)
    return charts.line_chart(
        series, x_labels={y: str(y) for y in trend.years},
        title=_("%(scope)s: %(indices)s publicados por ronda", scope=scope, indices=shown),
        desc=_("Gráfica de líneas de los valores publicados de %(indices)s en cada ronda, con "
               "cada valor escrito junto a su punto. La tabla de abajo da los mismos valores "
               "y los calculados.", indices=shown),
        mark_note=_("cifra con salvedad, o publicaciones que no coinciden (véase la tabla)"),
    )


def press_series(trend: Trend, indices: Sequence[str]) -> list[charts.Series]:
    """The press's figures of ``indices`` as their own series, apart from the report's.

    Where two publications print different values for one round, both are drawn: the second
    as another series, and both points marked (hollow with an asterisk): a conflict shown,
    not settled.
    """
    series = []
    for index in indices:
        per_year = {y: trend.press.get(y, {}).get(index, []) for y in trend.years}
        depth = max((len(v) for v in per_year.values()), default=0)
        conflicts = frozenset(y for y, v in per_year.items() if len(v) > 1)
        for k in range(depth):
            values: dict[float | int, float | int | None] = {
                y: v[k] for y, v in per_year.items() if len(v) > k}
            name = (_("%(index)s según la prensa", index=index) if k == 0 else
                    _("%(index)s según otra nota de prensa", index=index))
            series.append(charts.Series(name, values, conflicts & frozenset(values)))
    return series


def rank_chart(trend: Trend, *, state: str) -> Markup | None:
    """The state's computed GA beside the national GA in each round with institution data."""
    years = sorted(trend.computed)
    if not years:
        return None
    series = [
        charts.Series(state, {y: trend.computed[y].get("GA") for y in years}),
        charts.Series(_("Nacional"), {y: trend.national.get(y, {}).get("GA") for y in years}),
    ]
    return charts.line_chart(
        series, x_labels={y: str(y) for y in years}, width=420, height=220,
        title=_("GA de %(state)s y nacional, calculados", state=state),
        desc=_("El GA calculado del estado y el nacional en cada ronda con datos por "
               "institución; la tabla da el lugar del estado."),
    )


def delta_bars(rows: Sequence[GroupChange], *, before: int, after: int,
               index: str = "GA") -> Markup:
    """Diverging bars of each group's change of ``index`` (largest rise first)."""
    items = sorted(((r.name, r.changes[index].delta) for r in rows),
                   key=lambda item: -(item[1] if item[1] is not None else -9))
    return charts.diverging_bars(
        items, fmt=_fmt(3, sign=True),
        title=_("Cambio de %(index)s por estado, %(a)s → %(b)s", index=index, a=before, b=after),
        desc=_("Barras a la derecha: subió; a la izquierda: bajó (instituciones emparejadas). "
               "Cada barra lleva su cambio con signo."),
    )


def states_slope(rows: Sequence[GroupChange], *, before: int, after: int,
                 index: str = "GA") -> Markup:
    return charts.slope_chart(
        [(r.name, r.changes[index].before, r.changes[index].after) for r in rows],
        left_label=str(before), right_label=str(after), fmt=_fmt(2),
        title=_("%(index)s de cada estado, %(a)s y %(b)s", index=index, a=before, b=after),
        desc=_("Gráfica de pendiente: cada línea une el valor de un estado en las dos rondas "
               "(continua si subió, discontinua si bajó)."),
    )


def institutions_scatter(rows: Sequence[MatchedInstitution], *, before: int,
                         after: int) -> Markup:
    """Each matched institution's GA in both rounds, with the diagonal."""
    index = "GA"
    pairs = [(r.GA_before, r.GA_after) for r in rows]
    above = sum(1 for a, b in pairs if a is not None and b is not None and b > a)
    below = sum(1 for a, b in pairs if a is not None and b is not None and b < a)
    return charts.scatter(
        [(f"{r.name} ({r.state_name})", r.GA_before, r.GA_after) for r in rows],
        x_label=f"{index} {before}", y_label=f"{index} {after}", fmt=_fmt(1),
        title=_("%(index)s de cada institución emparejada, %(a)s contra %(b)s",
                index=index, a=before, b=after),
        desc=_("Dispersión con la diagonal: %(above)s instituciones sobre ella (subieron), "
               "%(below)s debajo (bajaron).", above=above, below=below),
    )


def comparison_scale(values: Sequence[float | None]) -> Classes:
    """One fixed scale of 0.05-wide classes for both maps of a comparison."""
    return range_classes([v for v in values if v is not None]) if any(
        v is not None for v in values) else fixed_classes()


def state_map(layer: Layer, values: Mapping[str, float | None], classes: Classes,
              names: Mapping[str, str], *, title: str, width: int = 380) -> Markup:
    """A small SVG choropleth of state values; each state a named link to its page."""
    colours, labels, hatched = {}, {}, set()
    for code in layer.codes:
        value = values.get(code)
        name = names.get(code, code)
        if value is None:
            colours[code] = NO_DATA_COLOUR
            hatched.add(code)
            labels[code] = _("%(state)s: sin datos", state=name)
        else:
            colours[code] = classes.colour(classes.shown(value))
            # Printed as classed; a scale that classes values as given prints two decimals.
            digits = classes.decimals if classes.decimals is not None else 2
            labels[code] = f"{name}: {format_number(value, digits)}"
    links = {code: url_for("states.detail", cve_ent=code) for code in layer.codes}
    return charts.choropleth(layer, colours, labels, title=title, links=links, width=width,
                             hatched=hatched)


def published_bars(rows: Sequence[PublishedChange], *, before: int, after: int) -> Markup:
    return charts.diverging_bars(
        [(r.index, r.delta) for r in rows], fmt=_fmt(2, sign=True),
        title=_("Cambio de las cifras nacionales publicadas, %(a)s → %(b)s", a=before, b=after),
        desc=_("Barras a la derecha: subió; a la izquierda: bajó. Cifras publicadas por "
               "INAI, no calculadas aquí."),
    )


@dataclass
class ComparisonCharts:
    """Every chart of a comparison over matched institutions."""

    bars: Markup | None
    slope: Markup | None
    scatter: Markup
    maps: list[tuple[int, Markup]]
    classes: Classes


def comparison_charts(page: ComparePage) -> ComparisonCharts | None:
    """Every chart of a comparison: state deltas, slope, scatter and the pair of maps (None
    when the page compares nothing over matched institutions)."""
    result, layer = page.result, page.layer
    if result is None or layer is None:
        return None
    before, after = result.before, result.after
    states = result.states
    values = {side: {r.key: getattr(r.changes["GA"], side) for r in states}
              for side in ("before", "after")}
    classes = comparison_scale([*values["before"].values(), *values["after"].values()])
    maps = [
        (year, state_map(layer, values[side], classes, page.layer_names,
                         title=_("GA por estado en %(year)s (instituciones emparejadas)",
                                 year=year)))
        for year, side in ((before, "before"), (after, "after"))
    ]
    return ComparisonCharts(
        bars=delta_bars(states, before=before, after=after) if states else None,
        slope=states_slope(states, before=before, after=after) if states else None,
        scatter=institutions_scatter(result.institutions, before=before, after=after),
        maps=maps,
        classes=classes,
    )


def type_bars(by_type: Sequence[TypeMean], *, state: str, year: int) -> Markup | None:
    """Each institution type's mean GA in the state minus its national mean (bars ±)."""
    if not any(r.delta is not None for r in by_type):
        return None
    return charts.diverging_bars(
        [(r.label, r.delta) for r in by_type], fmt=_fmt(2, sign=True),
        title=_("GA de las instituciones de %(state)s por tipo frente a la media nacional del "
                "tipo, %(year)s", state=state, year=year),
        desc=_("Barras a la derecha: el tipo está sobre la media nacional de su tipo; a la "
               "izquierda: debajo. Cada barra lleva la diferencia con signo; la tabla da las "
               "medias y el número de instituciones."),
    )


@dataclass
class StateCharts:
    """The metric's charts on a state's page."""

    rank: Markup | None
    published: Markup | None
    types: Markup | None


def state_charts(metric: StateMetric, *, state: str) -> StateCharts:
    """The state's GA beside the national one, its published series, its types (``state``:
    the state's short name, as the charts print it)."""
    institutions = metric.institutions
    return StateCharts(
        rank=rank_chart(metric.trend, state=state),
        published=trend_chart(metric.trend, ("GA", "T", "P"), scope=state),
        types=type_bars(institutions.by_type, state=state, year=institutions.year)
        if institutions.year else None,
    )
