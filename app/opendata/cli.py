"""``flask export DIR`` and ``flask import DIR``: the database as the data package, and back."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from app.extensions import db

from .dump import PackageError, export_package, import_package


@click.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--with-accounts", is_flag=True,
              help="Include the accounts (with their password hashes) and the account ids in "
                   "the history and the evidence: a full, private backup. Left out otherwise.")
@with_appcontext
def export_command(folder: Path, with_accounts: bool) -> None:
    """Write the database into FOLDER as a Frictionless data package, with each file's
    SHA-256 in datapackage.json (checked by `flask import`)."""
    if folder.exists() and any(folder.iterdir()):
        raise click.ClickException(f"{folder} is not empty; export into a new or empty folder")
    from app import files as stored

    try:
        written = export_package(db.session, folder, with_accounts=with_accounts,
                                 store=stored.folder())
    except PackageError as exc:
        raise click.ClickException(f"nothing was exported: {exc}") from exc
    finally:
        db.session.rollback()  # read only
    copied = sum(1 for name in written if name.startswith("files/"))
    click.echo(f"Exported {len(written) - 1 - copied} tables and {copied} files to {folder}"
               + (" (with the accounts: keep it private)" if with_accounts
                  else " (without account data)"))


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def import_command(folder: Path) -> None:
    """Load the data package in FOLDER into this (empty) database, all or nothing: every
    file's hash, row, field, key and reference is checked before anything is written."""
    try:
        from app import files as stored

        counts = import_package(db.session, folder, store=stored.folder())
        db.session.commit()
    except PackageError as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    except Exception as exc:  # a constraint the rows break: still nothing is kept
        db.session.rollback()
        raise click.ClickException(f"nothing was imported: {exc.__class__.__name__}: "
                                   f"{str(exc).splitlines()[0]}") from exc
    copied = counts.pop("files", 0)
    click.echo(f"Imported {sum(counts.values())} rows into {len(counts)} tables"
               + (f" and {copied} files" if copied else ""))


def init_app(app: Flask) -> None:
    app.cli.add_command(export_command)
    app.cli.add_command(import_command)
