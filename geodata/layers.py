"""Boundary layers: the ``Layer`` type, the bundled 32-state layer and compact GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_STATES = DATA_DIR / "mx_states.geojson"

LEVELS = ("state", "municipal")
# The property that carries each feature's INEGI code, per level.
CODE_PROPERTY = {"state": "cve_ent", "municipal": "cvegeo"}
CODE_LENGTH = {"state": 2, "municipal": 5}


@dataclass(frozen=True)
class Layer:
    """A boundary layer in EPSG:4326: one row per INEGI code (the index), with its name."""

    level: str
    frame: gpd.GeoDataFrame  # index: code; columns: name, geometry
    name: str
    attribution: str
    source: str

    @property
    def codes(self) -> list[str]:
        return list(self.frame.index)

    @property
    def names(self) -> dict[str, str]:
        """Each code's name as the layer gives it."""
        return dict(zip(self.codes, self.frame["name"], strict=True))

    def geojson(self) -> str:
        """Return the layer as compact GeoJSON, with its name and attribution in the file."""
        return dumps(
            feature_collection(
                self.frame,
                CODE_PROPERTY[self.level],
                members={"name": self.name, "attribution": self.attribution,
                         "source": self.source},
            )
        )


def dumps(obj: Any) -> str:
    """Serialise JSON compactly (no spaces), keeping accented names readable."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def rounded(geometries: Any, decimals: int = 6) -> np.ndarray:
    """Round coordinates (6 decimals is about 0.1 m) so that the output stays short."""
    return shapely.transform(
        np.asarray(list(geometries), dtype=object), lambda xy: np.round(xy, decimals)
    )


def feature_collection(
    frame: gpd.GeoDataFrame,
    code_property: str,
    *,
    properties: Mapping[str, Mapping[str, Any]] | None = None,
    members: Mapping[str, Any] | None = None,
    with_id: bool = False,
) -> dict[str, Any]:
    """Return a FeatureCollection dict: code and name, then ``properties[code]`` per feature.

    ``members`` are written at the top level of the collection (GeoJSON foreign members).
    """
    features = []
    for code, name, geom in zip(
        frame.index, frame["name"], rounded(frame.geometry.values), strict=True
    ):
        props: dict[str, Any] = {code_property: code, "name": name}
        if properties and code in properties:
            props.update(properties[code])
        feature: dict[str, Any] = {"type": "Feature"}
        if with_id:
            feature["id"] = code
        feature["properties"] = props
        feature["geometry"] = mapping(geom)
        features.append(feature)
    return {"type": "FeatureCollection", **(members or {}), "features": features}


def layer_from_geojson(text: str, level: str, *, name: str = "", source: str = "") -> Layer:
    """Read a layer written by ``Layer.geojson`` (the bundled file or a stored import)."""
    data = json.loads(text)
    code_property = CODE_PROPERTY[level]
    frame = gpd.GeoDataFrame.from_features(data["features"], crs="EPSG:4326")
    frame = frame.rename(columns={code_property: "code"}).set_index("code")[["name", "geometry"]]
    return Layer(
        level=level,
        frame=frame,
        name=name or data.get("name", ""),
        attribution=data.get("attribution", ""),
        source=source or data.get("source", ""),
    )


@lru_cache(maxsize=1)
def bundled_state_layer() -> Layer:
    """Return the committed 32-state layer (built by ``python -m geodata.build``)."""
    return layer_from_geojson(BUNDLED_STATES.read_text(encoding="utf-8"), "state")
