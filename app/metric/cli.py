"""Commands: ``flask metric import``, ``flask metric summary`` and ``flask metric compare``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import MetricRound
from metrics import BY_CHOICES, SchemeError
from metrics.readers import FORMATS, ReadError, check_input

from . import bp
from .compare import comparison_table
from .importer import RoundImportError, import_round, read_scheme_file
from .rounds import summary_table

OUTPUT_FORMATS = ("table", "csv", "json")


@bp.cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--round", "year", type=int, required=True, help="Year of the round, e.g. 2017.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None,
    help="File format; guessed from the header when omitted.",
)
@click.option(
    "--scheme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON weight scheme {sub-index: {component: weight}} for the round's components.",
)
@click.option("--label", help="Label of the round (when creating it).")
@click.option("--source", help="Source of the round's data (required when creating it).")
@click.option("--strict", is_flag=True, help="Stop if any value is rejected.")
@click.option("--dry-run", is_flag=True, help="Read and report, but store nothing.")
def import_command(
    path: Path, year: int, fmt: str | None, scheme: Path | None, label: str | None,
    source: str | None, strict: bool, dry_run: bool,
) -> None:
    """Import a round file into the database, all or nothing, and print a report."""
    session = db.session
    try:
        check_input(path, current_app.config.get("IMPORT_MAX_BYTES"))
        weights = read_scheme_file(scheme) if scheme else None
        report = import_round(
            session, path, year, fmt, weights, label, source, strict, progress=True
        )
    except (ReadError, RoundImportError, SchemeError) as exc:
        session.rollback()
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    except Exception:
        session.rollback()
        raise
    for line in report.lines():
        click.echo(line)
    if dry_run:
        session.rollback()
        click.echo("Dry run: nothing was stored.")
    else:
        session.commit()


def _emit(rows: list[dict], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    text = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) if text else len(c)
              for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for t in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _require_round(year: int) -> None:
    if db.session.scalars(select(MetricRound.id).where(MetricRound.year == year)).first() is None:
        raise click.ClickException(f"round {year} is not in the database")


@bp.cli.command("summary")
@click.option("--round", "year", type=int, required=True, help="Year of the round.")
@click.option("--by", type=click.Choice(list(BY_CHOICES)), default="national", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
def summary_command(year: int, by: str, fmt: str) -> None:
    """Print a round's aggregates beside the published figures and the differences."""
    _require_round(year)
    columns, rows = summary_table(db.session, year, by)
    if not rows:
        raise click.ClickException(
            f"round {year} has no scores loaded: import them with `flask metric import`"
        )
    _emit(rows, columns, fmt)


@bp.cli.command("compare")
@click.option("--from", "before", type=int, required=True, help="Year of the earlier round.")
@click.option("--to", "after", type=int, required=True, help="Year of the later round.")
@click.option("--by", type=click.Choice(list(BY_CHOICES)), default="national", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
def compare_command(before: int, after: int, by: str, fmt: str) -> None:
    """Compare two rounds over the institutions present in both."""
    _require_round(before)
    _require_round(after)
    columns, rows, counts = comparison_table(db.session, before, after, by)
    click.echo(
        f"Matched institutions: {counts['matched']}; entered: {counts['entered']}; "
        f"left: {counts['left']} (deltas and ranks over matched institutions only)",
        err=fmt != "table",
    )
    _emit(rows, columns, fmt)


# The fieldwork commands (``flask metric fieldwork ...``) register on this group.
from .fieldwork import cli as _fieldwork_cli  # noqa: E402, F401
