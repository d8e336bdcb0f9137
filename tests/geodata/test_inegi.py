"""Reading INEGI layers: synthetic layers in INEGI's schema, generated here, good and broken."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import Polygon

from geodata.inegi import LayerError, normalise_code, read_layer
from geodata.topology import check_coverage

from .helpers import STATES, inegi_municipal_frame, inegi_state_frame, write_layer

KNOWN = {s.cve_ent: s.name for s in STATES}


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".geojson"])
def test_reads_a_state_layer_in_epsg_6372_from_each_format(tmp_path, suffix):
    path = write_layer(inegi_state_frame(), tmp_path / f"00ent{suffix}")
    layer, original_crs = read_layer(path, "state", KNOWN)
    assert original_crs == ("EPSG:6372" if suffix != ".geojson" else original_crs)
    assert layer.codes == list(KNOWN)
    assert layer.frame.crs.to_epsg() == 4326
    assert layer.frame.loc["09", "name"] == "Ciudad de México"
    # Back in lon/lat: the first square's corner is where it was drawn.
    minx, miny, _, _ = layer.frame.geometry.values[0].bounds
    assert minx == pytest.approx(-110, abs=0.002) and miny == pytest.approx(18, abs=0.002)
    assert check_coverage(layer.frame.geometry.values, gap_width=0.01, overlap_area=1e-9).ok
    assert "INEGI" in layer.source and "sha256" in layer.source


def test_reads_a_municipal_layer_keyed_by_cvegeo(tmp_path):
    path = write_layer(inegi_municipal_frame(), tmp_path / "00mun.gpkg")
    layer, _ = read_layer(path, "municipal", KNOWN)
    assert layer.codes == ["01001", "01002", "06001", "06002"]
    assert layer.frame.loc["06001", "name"] == "Armería"
    assert '"cvegeo":"06001"' in layer.geojson()


def test_other_field_names_can_be_given(tmp_path):
    frame = inegi_state_frame().rename(columns={"CVE_ENT": "clave", "NOMGEO": "nombre"})
    path = write_layer(frame, tmp_path / "estados.gpkg")
    with pytest.raises(LayerError, match="no code field 'CVE_ENT'.*clave"):
        read_layer(path, "state", KNOWN)
    layer, _ = read_layer(path, "state", KNOWN, code_field="clave", name_field="nombre")
    assert len(layer.codes) == 32


def test_refuses_a_layer_without_crs(tmp_path):
    path = write_layer(inegi_state_frame(crs=None), tmp_path / "sin_prj.shp")
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(LayerError, match=r"sin_prj.shp: the layer has no CRS"):
        read_layer(path, "state", KNOWN)


def test_refuses_unknown_codes(tmp_path):
    frame = inegi_state_frame()
    frame.loc[31, ["CVEGEO", "CVE_ENT"]] = "33"
    with pytest.raises(LayerError, match="unknown codes in field 'CVE_ENT': 33"):
        read_layer(write_layer(frame, tmp_path / "x.gpkg"), "state", KNOWN)
    frame.loc[31, ["CVEGEO", "CVE_ENT"]] = "Zac"
    with pytest.raises(LayerError, match="not a 2-digit INEGI code in feature 32"):
        read_layer(write_layer(frame, tmp_path / "y.gpkg"), "state", KNOWN)


def test_refuses_duplicate_codes(tmp_path):
    frame = inegi_state_frame()
    frame.loc[31, ["CVEGEO", "CVE_ENT"]] = "05"
    with pytest.raises(LayerError, match="duplicate codes in field 'CVE_ENT': 05"):
        read_layer(write_layer(frame, tmp_path / "x.gpkg"), "state", KNOWN)


def test_refuses_invalid_geometry(tmp_path):
    frame = inegi_state_frame()
    x0, y0, x1, y1 = frame.geometry.iloc[4].bounds
    frame.loc[4, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # bow-tie
    assert not shapely.is_valid(frame.geometry.iloc[4])
    with pytest.raises(LayerError, match=r"invalid geometry: 05 \(Self-intersection"):
        read_layer(write_layer(frame, tmp_path / "x.gpkg"), "state", KNOWN)


def test_refuses_missing_states_and_overlaps(tmp_path):
    frame = inegi_state_frame()
    with pytest.raises(LayerError, match="states missing from the layer: 32"):
        read_layer(write_layer(frame.iloc[:31], tmp_path / "x.gpkg"), "state", KNOWN)
    overlapping = frame.copy()
    overlapping.loc[0, "geometry"] = overlapping.geometry.iloc[0].buffer(20_000)
    with pytest.raises(LayerError, match="overlap"):
        read_layer(write_layer(overlapping, tmp_path / "y.gpkg"), "state", KNOWN)


def test_refuses_a_wrong_crs_and_unreadable_files(tmp_path):
    wrong = inegi_state_frame().set_crs("EPSG:4326", allow_override=True)  # metres as degrees
    with pytest.raises(LayerError, match="outside Mexico.*is the CRS right"):
        read_layer(write_layer(wrong, tmp_path / "x.gpkg"), "state", KNOWN)
    junk = tmp_path / "junk.geojson"
    junk.write_text("not a layer")
    with pytest.raises(LayerError, match="junk.geojson: cannot read"):
        read_layer(junk, "state", KNOWN)
    with pytest.raises(LayerError, match="file not found"):
        read_layer(tmp_path / "missing.shp", "state", KNOWN)


def test_refuses_municipal_codes_of_unknown_states(tmp_path):
    frame = inegi_municipal_frame()
    frame.loc[3, "CVEGEO"] = "40002"
    with pytest.raises(LayerError, match="unknown codes in field 'CVEGEO': 40002"):
        read_layer(write_layer(frame, tmp_path / "m.gpkg"), "municipal", KNOWN)


def test_codes_are_normalised_as_inegi_writes_them():
    assert normalise_code(1, 2) == "01"
    assert normalise_code(9.0, 2) == "09"
    assert normalise_code(" 07 ", 2) == "07"
    assert normalise_code("1001", 5) == "01001"
    assert normalise_code("123", 2) is None
    assert normalise_code(None, 2) is None
