"""The maps' data: the active boundary layer, stored imports, the metric map's values,
exercise stages, state names.

Functions take a session and never commit; the view or the command owns the transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.metric.scores import round_years
from app.metric.states import state_values_by_round
from app.models import BoundaryLayer, LocalExercise
from app.states.service import state_names
from common.codes import STAGES
from common.text import fold
from geodata.classify import ranks
from geodata.layers import Layer, bundled_state_layer, layer_from_geojson

# Every dataset a map draws from: a change to any of them invalidates the cached pages.
DATASETS = ("metric", "local", "geodata", "states")

_layers: dict[tuple[str, int], Layer] = {}
_layers_lock = threading.Lock()


def active_layer(session: Session, level: str = "state") -> tuple[Layer, bool]:
    """Return the layer maps draw at ``level`` and whether it is the bundled one.

    An imported, active layer wins; otherwise the bundled 32-state layer is used.
    """
    row = session.execute(
        select(BoundaryLayer.id, BoundaryLayer.name, BoundaryLayer.source)
        .where(BoundaryLayer.level == level, BoundaryLayer.active.is_(True))
        .order_by(BoundaryLayer.id.desc())
        .limit(1)
    ).first()
    if row is None:
        if level != "state":
            raise LookupError(f"no {level} layer has been imported")
        return bundled_state_layer(), True
    key = (level, row.id)
    with _layers_lock:
        layer = _layers.get(key)
    if layer is None:
        text = session.scalar(select(BoundaryLayer.geojson).where(BoundaryLayer.id == row.id))
        layer = layer_from_geojson(text or "", level, name=row.name, source=row.source)
        with _layers_lock:
            _layers.clear()  # imports are rare: keep only the latest parsed layers
            _layers[key] = layer
    return layer, False


def store_layer(session: Session, layer: Layer, original_crs: str, *,
                actor: str = "import") -> BoundaryLayer:
    """Store ``layer`` as the active layer of its level, through the audited path (the layer
    it replaces is deactivated with its own event)."""
    with records.bulk(session, actor=actor, source=layer.source) as batch:
        _deactivate(batch, layer.level)
        return batch.create(BoundaryLayer, {
            "level": layer.level, "name": layer.name[:200], "source": layer.source,
            "original_crs": original_crs[:200], "feature_count": len(layer.frame),
            "geojson": layer.geojson(), "active": True,
        }, summary=layer.name[:200])


def _deactivate(batch: records.Batch, level: str) -> int:
    rows = batch.session.scalars(select(BoundaryLayer).where(
        BoundaryLayer.level == level, BoundaryLayer.active.is_(True)))
    return sum(batch.update(row, {"active": False}, summary=row.name) for row in rows)


def deactivate_layers(session: Session, level: str, *, actor: str = "import",
                      source: str | None = None) -> int:
    """Stop using imported layers of ``level`` (maps fall back to the bundle); return count."""
    with records.bulk(session, actor=actor, source=source) as batch:
        return _deactivate(batch, level)


@dataclass(frozen=True)
class StateValueRow:
    """A state on the metric map: its code, name, the index's value in the round (None: no
    data) and its rank among the states with a value."""

    code: str
    name: str
    value: float | None
    rank: int | None
    year: int | None
    index: str


def state_rows(session: Session, layer: Layer, values: dict[str, float], *,
               year: int | None, index: str) -> list[StateValueRow]:
    """One row per state of ``layer``: code, name, the index value and its rank."""
    names = {**layer.names, **state_names(session)}
    rank = ranks(values)
    rows = [StateValueRow(code, names.get(code, code), values.get(code), rank.get(code),
                          year, index)
            for code in layer.codes]
    return sorted(rows, key=lambda r: fold(r.name))


@dataclass
class StateMapPage:
    """The metric map (/map, /embed/map and their downloads): the round (the latest loaded
    unless asked), the index, each state's value and rank, the scale of every loaded round."""

    year: int | None
    index: str
    years: list[int]  # the loaded rounds
    values: dict[str, float]
    scale: list[float]  # every loaded round's state values: one fixed scale for all rounds
    layer: Layer
    bundled: bool
    rows: list[StateValueRow]


def state_map_page(session: Session, year: int | None, index: str) -> StateMapPage:
    """The metric map's values: every loaded round's state means of ``index`` in one query."""
    years = round_years(session)
    by_round = state_values_by_round(session, index)
    if year is None:
        year = years[-1] if years else None
    values = by_round.get(year, {}) if year is not None else {}
    layer, bundled = active_layer(session, "state")
    return StateMapPage(
        year=year, index=index, years=years, values=values,
        scale=[v for y in years for v in by_round.get(y, {}).values()],
        layer=layer, bundled=bundled,
        rows=state_rows(session, layer, values, year=year, index=index),
    )


def exercise_table(session: Session, layer: Layer) -> list[dict[str, Any]]:
    """One row per state of ``layer`` with its exercise's stage and dates (None: unknown)."""
    names = {**layer.names, **state_names(session)}
    exercises = {e.state_cve: e for e in session.scalars(select(LocalExercise))}
    rows = []
    for code in layer.codes:
        exercise = exercises.get(code)
        stage = exercise.stage if exercise is not None else None
        rows.append({
            "code": code,
            "cve_ent": code,
            "name": names.get(code, code),
            "state": names.get(code, code),
            "stage": stage,
            "stage_label": STAGES.label(stage, "") if stage else "",
            "stage_order": STAGES.codes.index(stage) if stage in STAGES else None,
            "declaration_date": exercise.declaration_date if exercise else None,
            "stl_installed_date": exercise.stl_installed_date if exercise else None,
            "source": exercise.source if exercise else None,
        })
    return sorted(rows, key=lambda r: fold(r["name"]))
