"""Synthetic test data for the maps (labelled synthetic; never shipped as data).

- Layers in INEGI's Marco Geoestadístico schema (CVEGEO, CVE_ENT, CVE_MUN, NOMGEO), made of
  squares over Mexico and projected to EPSG:6372 as INEGI publishes them.
- Metric rounds, institutions and scores, and local exercises, inserted directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import box
from sqlalchemy.orm import Session

from geodata.build import read_states

SYNTHETIC = "SYNTHETIC test data, not a real source"
STATES = read_states()
CODES = [s.cve_ent for s in STATES]


def grid_squares(columns: int = 8, rows: int = 4, west: float = -110.0, south: float = 18.0,
                 size: float = 2.0) -> list[shapely.Polygon]:
    """Return columns x rows adjacent squares (lon/lat) that tile a block of Mexico."""
    return [
        box(west + c * size, south + r * size, west + (c + 1) * size, south + (r + 1) * size)
        for r in range(rows)
        for c in range(columns)
    ]


def inegi_state_frame(crs: str | None = "EPSG:6372") -> gpd.GeoDataFrame:
    """Return a synthetic 32-state layer in INEGI's schema (CVEGEO, CVE_ENT, NOMGEO)."""
    frame = gpd.GeoDataFrame(
        {
            "CVEGEO": CODES,
            "CVE_ENT": CODES,
            "NOMGEO": [s.name for s in STATES],
        },
        geometry=grid_squares(),
        crs="EPSG:4326",
    )
    frame = frame.to_crs("EPSG:6372")
    if crs is None:
        frame = frame.set_crs(None, allow_override=True)
    return frame


def inegi_municipal_frame() -> gpd.GeoDataFrame:
    """Return a synthetic municipal layer: 4 municipalities of Aguascalientes and Colima."""
    squares = grid_squares(columns=2, rows=2, west=-102.5, south=21.5, size=0.2)
    return gpd.GeoDataFrame(
        {
            "CVEGEO": ["01001", "01002", "06001", "06002"],
            "CVE_ENT": ["01", "01", "06", "06"],
            "CVE_MUN": ["001", "002", "001", "002"],
            "NOMGEO": ["Aguascalientes", "Asientos", "Armería", "Colima"],
        },
        geometry=squares,
        crs="EPSG:4326",
    ).to_crs("EPSG:6372")


def write_layer(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """Write ``frame`` in the format the suffix names (.shp, .gpkg or .geojson)."""
    driver = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".geojson": "GeoJSON"}[path.suffix]
    with warnings.catch_warnings():
        # Writing a layer without CRS warns; the tests do it on purpose.
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        frame.to_file(path, driver=driver)
    return path


def insert_metric(session: Session, scores: Mapping[int, Mapping[str, list[float]]]) -> None:
    """Insert synthetic rounds: {year: {cve_ent: [score of each institution]}}.

    Each institution gets the same value for TG, TC, PG and PC, so that T, P and GA equal it
    whatever the weights; a state's index is then the mean of its institutions' values.
    """
    from app.models import Institution, MetricRound, MetricScore

    institutions: dict[str, Institution] = {}
    for year, by_state in scores.items():
        metric_round = MetricRound(year=year, label=f"Synthetic {year}", source=SYNTHETIC)
        session.add(metric_round)
        for cve, values in by_state.items():
            for n, value in enumerate(values):
                key = f"synthetic-{cve}-{n}"
                if key not in institutions:
                    institutions[key] = Institution(
                        key=key, name=f"Institución sintética {cve}-{n}", level="state",
                        kind="autonomous", state_cve=cve,
                    )
                    session.add(institutions[key])
                session.add(
                    MetricScore(round=metric_round, institution=institutions[key],
                                tg=value, tc=value, pg=value, pc=value)
                )
    session.flush()


def insert_exercises(session: Session, stages: Mapping[str, str | None]) -> None:
    """Insert synthetic local exercises: {cve_ent: stage or None (unknown)}."""
    from app.models import LocalExercise

    for cve, stage in stages.items():
        session.add(LocalExercise(state_cve=cve, stage=stage, source=SYNTHETIC))
    session.flush()
