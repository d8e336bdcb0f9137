"""Read and validate INEGI Marco Geoestadístico layers (state or municipal).

INEGI publishes its layers as shapefiles (also GeoPackage or GeoJSON) in EPSG:6372 with the
fields CVEGEO, CVE_ENT, CVE_MUN (municipal) and NOMGEO. ``read_layer`` reprojects to
EPSG:4326, checks everything a map relies on and simplifies with topology preserved; any
problem raises ``LayerError`` with a message naming it, before anything is stored.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ftfy
import geopandas as gpd
import pyogrio
import shapely

from .layers import CODE_LENGTH, LEVELS, Layer
from .topology import TopologyError, overlaps, simplify_coverage

DEFAULT_CODE_FIELD = {"state": "CVE_ENT", "municipal": "CVEGEO"}
DEFAULT_NAME_FIELD = "NOMGEO"
TOLERANCE = {"state": 0.045, "municipal": 0.004}  # degrees, as for the bundled layer
MIN_ISLAND_AREA = {"state": 0.002, "municipal": 0.0}
GRID = {"state": 0.001, "municipal": 0.0001}  # small municipalities need a finer grid
# Mexico's extent with a margin (lon/lat): a layer outside it has a wrong CRS.
MEXICO_BOUNDS = (-120.0, 13.0, -84.0, 34.0)
ATTRIBUTION = "INEGI, Marco Geoestadístico"
# Overlaps larger than this share of the layer's area are refused (smaller ones are slivers).
OVERLAP_SHARE = 1e-6


class LayerError(ValueError):
    """A layer that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{Path(path).name}: {problem}")


def _listing(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def normalise_code(value: Any, length: int) -> str | None:
    """Return a code as INEGI writes it (zero-padded digits), or None when it is not one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.isdigit() and len(text) <= length:
        return text.zfill(length)
    return None


def _read(path: Path, layer_name: str | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise LayerError(path, "file not found")
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise LayerError(path, f"cannot read the file as a vector layer ({exc})") from exc
    if layer_name is None and len(layers) > 1:
        raise LayerError(
            path, f"the file holds several layers ({_listing(layers)}); choose one with --layer"
        )
    if layer_name is not None and layer_name not in layers:
        raise LayerError(path, f"no layer {layer_name!r}; the file holds {_listing(layers)}")
    try:
        return gpd.read_file(path, layer=layer_name or (layers[0] if layers else None))
    except Exception as exc:
        raise LayerError(path, f"cannot read the layer ({exc})") from exc


def read_layer(
    path: Path | str,
    level: str,
    known_states: Mapping[str, str],
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    layer_name: str | None = None,
) -> tuple[Layer, str]:
    """Read, validate, reproject and simplify an INEGI layer; return it and its original CRS.

    ``known_states`` maps every valid cve_ent to its official name. State layers must have
    exactly the known states; municipal codes (CVEGEO, 5 digits) must start with one.
    """
    path = Path(path)
    if level not in LEVELS:
        raise LayerError(path, f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if not known_states:
        raise LayerError(path, "no states are loaded to check codes against (flask seed states)")
    code_field = code_field or DEFAULT_CODE_FIELD[level]
    name_field = name_field or DEFAULT_NAME_FIELD
    frame = _read(path, layer_name)

    if frame.empty:
        raise LayerError(path, "the layer has no features")
    fields = [c for c in frame.columns if c != frame.geometry.name]
    for role, name in (("code", code_field), ("name", name_field)):
        if name not in frame.columns:
            raise LayerError(
                path, f"no {role} field {name!r}; the fields are {_listing(fields, 30)}"
            )
    if frame.crs is None:
        raise LayerError(
            path,
            "the layer has no CRS (coordinate reference system); INEGI layers are in "
            "EPSG:6372 (for a shapefile, keep its .prj file beside the .shp)",
        )
    original_crs = frame.crs.to_string()

    length = CODE_LENGTH[level]
    codes: list[str] = []
    bad: list[str] = []
    for number, value in enumerate(frame[code_field], start=1):
        code = normalise_code(value, length)
        if code is None:
            bad.append(f"feature {number} ({value!r})")
        codes.append(code or "")
    if bad:
        raise LayerError(
            path, f"field {code_field!r} is not a {length}-digit INEGI code in {_listing(bad)}"
        )
    state_part = [code[:2] for code in codes]
    unknown = sorted({c for c, s in zip(codes, state_part, strict=True) if s not in known_states})
    if unknown:
        raise LayerError(path, f"unknown codes in field {code_field!r}: {_listing(unknown)}")
    duplicates = sorted(c for c, n in Counter(codes).items() if n > 1)
    if duplicates:
        raise LayerError(
            path, f"duplicate codes in field {code_field!r}: {_listing(duplicates)}"
        )
    if level == "state":
        missing = sorted(set(known_states) - set(codes))
        if missing:
            raise LayerError(path, f"states missing from the layer: {_listing(missing)}")

    geometries = frame.geometry.values
    empty = [codes[i] for i, g in enumerate(geometries) if g is None or g.is_empty]
    if empty:
        raise LayerError(path, f"features without geometry: {_listing(empty)}")
    not_polygons = [
        f"{codes[i]} ({g.geom_type})"
        for i, g in enumerate(geometries)
        if g.geom_type not in ("Polygon", "MultiPolygon")
    ]
    if not_polygons:
        raise LayerError(path, f"features that are not polygons: {_listing(not_polygons)}")
    invalid = [
        f"{codes[i]} ({shapely.is_valid_reason(g)})"
        for i, g in enumerate(geometries)
        if not shapely.is_valid(g)
    ]
    if invalid:
        raise LayerError(path, f"invalid geometry: {_listing(invalid)}")

    names = []
    for code, value in zip(codes, frame[name_field], strict=True):
        text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
        text = ftfy.fix_text(str(text)).strip()  # mojibake from mis-declared encodings
        if not text and level == "state":
            text = known_states[code]
        if not text:
            raise LayerError(path, f"feature {code} has no name in field {name_field!r}")
        names.append(text)

    try:
        projected = frame.set_geometry(geometries).to_crs("EPSG:4326")
    except Exception as exc:
        problem = f"cannot reproject from {original_crs} to EPSG:4326 ({exc})"
        raise LayerError(path, problem) from exc
    minx, miny, maxx, maxy = projected.total_bounds
    west, south, east, north = MEXICO_BOUNDS
    if minx < west or maxx > east or miny < south or maxy > north:
        raise LayerError(
            path,
            f"coordinates fall outside Mexico after reprojecting from {original_crs} "
            f"(bounds {minx:.2f}, {miny:.2f}, {maxx:.2f}, {maxy:.2f}); is the CRS right?",
        )
    # Slivers from reprojection are cleaned away; real overlaps mean a broken layer.
    total_area = float(shapely.area(projected.geometry.values).sum())
    overlapping = overlaps(projected.geometry.values, OVERLAP_SHARE * total_area)
    if overlapping:
        pairs = [f"{codes[i]}/{codes[j]}" for i, j, _ in overlapping]
        raise LayerError(path, f"polygons overlap: {_listing(pairs)}")
    try:
        simplified = simplify_coverage(
            projected.geometry.values,
            TOLERANCE[level],
            grid=GRID[level],
            min_island_area=MIN_ISLAND_AREA[level],
        )
    except TopologyError as exc:
        problem = f"the polygons overlap or their borders do not match ({exc})"
        raise LayerError(path, problem) from exc

    result = gpd.GeoDataFrame({"name": names}, geometry=list(simplified), index=codes,
                              crs="EPSG:4326")
    result.index.name = "code"
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    layer = Layer(
        level=level,
        frame=result.sort_index(),
        name=path.name,
        attribution=ATTRIBUTION,
        source=f"{ATTRIBUTION}: {path.name} ({original_crs}; sha256 {digest})",
    )
    return layer, original_crs
