"""``flask geodata ...``: import INEGI boundary layers, list them, go back to the bundle."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from app.extensions import db
from app.models import BoundaryLayer
from app.states.service import known_states
from geodata.layers import LEVELS

from . import bp
from .service import deactivate_layers, store_layer


@bp.cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--level", type=click.Choice(LEVELS), required=True, help="state or municipal")
@click.option("--code-field", help="Field with the INEGI code (CVE_ENT / CVEGEO by default).")
@click.option("--name-field", help="Field with the name (NOMGEO by default).")
@click.option("--layer", "layer_name", help="Layer inside a GeoPackage holding several.")
def import_layer(
    path: Path, level: str, code_field: str | None, name_field: str | None,
    layer_name: str | None,
) -> None:
    """Import an INEGI layer (shapefile, GeoPackage or GeoJSON, any CRS); maps then use it."""
    # Imported by this command alone: the layer readers (pyogrio, ftfy) would otherwise be
    # loaded by every process of the app, which registers its commands at start.
    from geodata.inegi import LayerError, read_layer

    session = db.session
    try:
        layer, original_crs = read_layer(
            path,
            level,
            known_states(session),
            code_field=code_field,
            name_field=name_field,
            layer_name=layer_name,
        )
        row = store_layer(session, layer, original_crs)
        session.commit()
    except LayerError as exc:
        session.rollback()
        raise click.ClickException(f"layer refused, nothing changed: {exc}") from exc
    except Exception:
        session.rollback()
        raise
    size = len(row.geojson.encode("utf-8"))
    click.echo(
        f"imported {path.name} as the active {level} layer: {row.feature_count} features, "
        f"reprojected from {original_crs} to EPSG:4326, {size} bytes after simplifying"
    )


@bp.cli.command("layers")
def list_layers() -> None:
    """List the imported layers (the bundled state layer is used when none is active)."""
    rows = db.session.scalars(select(BoundaryLayer).order_by(BoundaryLayer.id)).all()
    if not rows:
        click.echo("no imported layers; maps use the bundled 32-state layer")
    for row in rows:
        mark = "active" if row.active else "inactive"
        click.echo(
            f"{row.id}\t{row.level}\t{mark}\t{row.feature_count} features\t{row.original_crs}"
            f"\t{row.imported_at:%Y-%m-%d %H:%M}\t{row.name}"
        )


@bp.cli.command("reset")
@click.option("--level", type=click.Choice(LEVELS), default="state", show_default=True)
def reset_layers(level: str) -> None:
    """Stop using imported layers of a level: state maps go back to the bundled layer."""
    count = deactivate_layers(db.session, level)
    db.session.commit()
    click.echo(f"deactivated {count} {level} layer(s)")
