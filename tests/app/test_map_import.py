"""`flask geodata import`: synthetic INEGI-schema layers (generated here) in, broken ones out."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import Polygon
from sqlalchemy import func, select

from app.extensions import db
from app.models import BoundaryLayer, DataRevision
from seeds.states import load_states
from tests.geodata.helpers import inegi_municipal_frame, inegi_state_frame, write_layer


@pytest.fixture
def geo_app(app):
    with app.app_context():
        load_states(db.session)
        db.session.commit()
    return app


def _state(app) -> tuple[list[tuple[int, bool]], int]:
    """Return the stored layers (id, active) and the geodata revision."""
    with app.app_context():
        rows = db.session.execute(select(BoundaryLayer.id, BoundaryLayer.active)).all()
        return [tuple(r) for r in rows], DataRevision.current(db.session, "geodata")[0]


def test_import_a_state_layer_and_maps_use_it(geo_app, tmp_path):
    path = write_layer(inegi_state_frame(), tmp_path / "00ent.shp")
    result = geo_app.test_cli_runner().invoke(args=["geodata", "import", str(path),
                                                    "--level", "state"])
    assert result.exit_code == 0, result.output
    assert "32 features" in result.output and "EPSG:6372" in result.output
    layers, revision = _state(geo_app)
    assert layers == [(1, True)] and revision == 1
    with geo_app.app_context():
        row = db.session.get(BoundaryLayer, 1)
        assert row.original_crs == "EPSG:6372" and row.feature_count == 32
        assert row.level == "state" and "INEGI" in row.source
    client = geo_app.test_client()
    html = client.get("/map").get_data(as_text=True)
    assert "capa importada «00ent.shp»" in html
    assert "L\\u00edmites: INEGI, Marco Geoestad\\u00edstico" in html  # map credit (JSON)
    geo = json.loads(client.get("/map.geojson").get_data(as_text=True))
    first = geo["features"][0]["geometry"]["coordinates"][0]
    # The synthetic squares, not Natural Earth's Aguascalientes.
    assert [round(x) for x in first[0]] in ([-110, 18], [-108, 18], [-110, 20], [-108, 20])

    listing = geo_app.test_cli_runner().invoke(args=["geodata", "layers"])
    assert "state\tactive\t32 features\tEPSG:6372" in listing.output
    reset = geo_app.test_cli_runner().invoke(args=["geodata", "reset", "--level", "state"])
    assert "deactivated 1" in reset.output
    assert "Natural Earth" in client.get("/map").get_data(as_text=True)


def test_import_a_municipal_layer_leaves_state_maps_alone(geo_app, tmp_path):
    path = write_layer(inegi_municipal_frame(), tmp_path / "00mun.gpkg")
    result = geo_app.test_cli_runner().invoke(
        args=["geodata", "import", str(path), "--level", "municipal"]
    )
    assert result.exit_code == 0, result.output
    assert "4 features" in result.output
    assert "Natural Earth" in geo_app.test_client().get("/map").get_data(as_text=True)


def _broken_layers(tmp_path):
    """(name, path, words the refusal must contain) for each kind of broken layer."""
    no_crs = write_layer(inegi_state_frame(crs=None), tmp_path / "sin_crs.shp")
    unknown = inegi_state_frame()
    unknown.loc[31, ["CVEGEO", "CVE_ENT"]] = "33"
    duplicate = inegi_state_frame()
    duplicate.loc[31, ["CVEGEO", "CVE_ENT"]] = "05"
    invalid = inegi_state_frame()
    x0, y0, x1, y1 = invalid.geometry.iloc[4].bounds
    invalid.loc[4, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    return [
        ("no CRS", no_crs, "has no CRS"),
        ("unknown code", write_layer(unknown, tmp_path / "desconocida.gpkg"),
         "unknown codes in field 'CVE_ENT': 33"),
        ("duplicate code", write_layer(duplicate, tmp_path / "duplicada.gpkg"),
         "duplicate codes in field 'CVE_ENT': 05"),
        ("invalid geometry", write_layer(invalid, tmp_path / "invalida.gpkg"),
         "invalid geometry: 05 (Self-intersection"),
    ]


def test_broken_layers_are_refused_and_the_active_layer_stays(geo_app, tmp_path):
    good = write_layer(inegi_state_frame(), tmp_path / "buena.gpkg")
    runner = geo_app.test_cli_runner()
    assert runner.invoke(args=["geodata", "import", str(good), "--level", "state"]).exit_code == 0
    before = _state(geo_app)
    page_before = geo_app.test_client().get("/map.geojson").get_data(as_text=True)
    for name, path, words in _broken_layers(tmp_path):
        result = runner.invoke(args=["geodata", "import", str(path), "--level", "state"])
        assert result.exit_code == 1, name
        assert "layer refused, nothing changed" in result.output, name
        assert path.name in result.output and words in result.output, (name, result.output)
        assert _state(geo_app) == before, name
    with geo_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BoundaryLayer)) == 1
    assert geo_app.test_client().get("/map.geojson").get_data(as_text=True) == page_before


def test_import_needs_a_level_and_an_existing_file(geo_app, tmp_path):
    runner = geo_app.test_cli_runner()
    result = runner.invoke(args=["geodata", "import", str(tmp_path / "nada.shp")])
    assert result.exit_code == 2 and "--level" in result.output
    result = runner.invoke(args=["geodata", "import", str(tmp_path / "nada.shp"),
                                 "--level", "state"])
    assert result.exit_code == 1 and "nada.shp: file not found" in result.output
