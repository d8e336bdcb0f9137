"""Topology-preserving simplification of polygon coverages, and the checks that prove it.

A coverage is a set of polygons that tile a region (states, municipalities). Simplifying each
polygon on its own opens gaps and overlaps along shared borders; GEOS's coverage simplifier
(``shapely.coverage_simplify``, GEOS 3.12+) simplifies every shared edge once, so neighbours
keep identical borders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# Coordinates are snapped to this grid (degrees, about 110 m at Mexico's latitudes) before
# simplifying: shared vertices become identical and the output prints with 3 decimals.
GRID = 0.001


class TopologyError(ValueError):
    """The polygons do not form a clean coverage (overlaps or mismatched borders)."""


def simplify_coverage(
    geometries: Iterable[BaseGeometry],
    tolerance: float,
    *,
    grid: float = GRID,
    min_island_area: float = 0.0,
) -> np.ndarray:
    """Return the polygons simplified together so that shared borders stay shared.

    ``tolerance`` is GEOS's coverage tolerance (roughly the square root of the area of the
    triangles removed), in the units of the coordinates. Islands (parts that touch no other
    polygon) smaller than ``min_island_area`` are dropped; the largest part of each polygon
    is always kept.
    """
    geoms = np.asarray(list(geometries), dtype=object)
    if grid:
        geoms = shapely.set_precision(geoms, grid)
    clean = getattr(shapely, "coverage_clean", None)  # shapely 2.2 with GEOS 3.14
    if clean is not None:
        geoms = clean(geoms)
    if min_island_area > 0:
        geoms = _drop_small_islands(geoms, min_island_area)
    problems = invalid_edges(geoms)
    if problems:
        raise TopologyError(
            f"the polygons do not form a coverage (overlapping or mismatched borders at "
            f"positions {problems[:10]})"
        )
    simplified = shapely.coverage_simplify(geoms, tolerance)
    return np.asarray(simplified, dtype=object)


def invalid_edges(geometries: Iterable[BaseGeometry]) -> list[int]:
    """Return the positions of polygons whose borders overlap or do not match a neighbour's."""
    edges = shapely.coverage_invalid_edges(np.asarray(list(geometries), dtype=object))
    return [i for i, edge in enumerate(edges) if edge is not None and not edge.is_empty]


def _drop_small_islands(geoms: np.ndarray, min_area: float) -> np.ndarray:
    """Drop parts below ``min_area`` that touch no other polygon (so no gap can open)."""
    tree = shapely.STRtree(geoms)
    result = []
    for i, geom in enumerate(geoms):
        parts = list(shapely.get_parts(geom))
        if len(parts) <= 1:
            result.append(geom)
            continue
        largest = max(range(len(parts)), key=lambda k: parts[k].area)
        kept = []
        for k, part in enumerate(parts):
            if k == largest or part.area >= min_area:
                kept.append(part)
                continue
            touching = [j for j in tree.query(part, predicate="intersects") if j != i]
            if touching:
                kept.append(part)
        result.append(kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept))
    return np.asarray(result, dtype=object)


@dataclass
class CoverageCheck:
    """What ``check_coverage`` found: overlaps, narrow gaps and mismatched borders."""

    overlaps: list[tuple[int, int, float]] = field(default_factory=list)
    gap_positions: list[int] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.overlaps or self.gap_positions or self.mismatched)


def check_coverage(
    geometries: Iterable[BaseGeometry], *, gap_width: float = 0.0, overlap_area: float = 0.0
) -> CoverageCheck:
    """Check that polygons tile without overlaps, gaps narrower than ``gap_width`` or seams."""
    geoms = np.asarray(list(geometries), dtype=object)
    result = CoverageCheck(mismatched=invalid_edges(geoms))
    if gap_width > 0:
        gaps = shapely.coverage_invalid_edges(geoms, gap_width=gap_width)
        result.gap_positions = [
            i
            for i, edge in enumerate(gaps)
            if edge is not None and not edge.is_empty and i not in result.mismatched
        ]
    result.overlaps = overlaps(geoms, overlap_area)
    return result


def overlaps(
    geometries: Iterable[BaseGeometry], min_area: float = 0.0
) -> list[tuple[int, int, float]]:
    """Return (i, j, area) for every pair of polygons overlapping by more than ``min_area``."""
    geoms = np.asarray(list(geometries), dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    found: list[tuple[int, int, float]] = []
    for i, j in zip(left, right, strict=True):
        if i < j:
            area = shapely.intersection(geoms[i], geoms[j]).area
            if area > min_area:
                found.append((int(i), int(j), float(area)))
    return found


def shared_borders(
    geometries: Iterable[BaseGeometry], min_length: float = 0.0
) -> dict[tuple[int, int], float]:
    """Return {(i, j): length of the border polygons i < j share}, for borders > min_length."""
    geoms = np.asarray(list(geometries), dtype=object)
    boundaries = shapely.boundary(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    borders: dict[tuple[int, int], float] = {}
    for i, j in zip(left, right, strict=True):
        if i < j:
            length = shapely.intersection(boundaries[i], boundaries[j]).length
            if length > min_length:
                borders[(int(i), int(j))] = float(length)
    return borders
