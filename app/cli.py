"""Command-line interface: ``flask seed ...`` (area commands live on their blueprints)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.extensions import db
from app.models import State
from seeds import LOADERS, Loader, LoadReport, SeedError

seed_cli = AppGroup("seed", help="Load the project's sourced seed data (idempotent).")


def run_loaders(names: list[str]) -> list[LoadReport]:
    """Run the named loaders in one transaction: all of them land, or none."""
    session = db.session
    reports = []
    try:
        for name in names:
            loader: Loader = LOADERS[name][0]
            reports.append(loader(session))
            session.flush()
        session.commit()
    except Exception:
        session.rollback()
        raise
    return reports


def _run_and_echo(names: list[str]) -> None:
    try:
        reports = run_loaders(names)
    except SeedError as exc:
        raise click.ClickException(f"nothing was loaded: {exc}") from exc
    for report in reports:
        click.echo(str(report))
        for note in report.notes:
            click.echo(f"  {note}")


@seed_cli.command("all")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the database already holds the states."
)
def seed_all(if_empty: bool) -> None:
    """Load every dataset in order."""
    if if_empty and db.session.scalar(select(func.count()).select_from(State)):
        click.echo("The database already holds data; nothing loaded (drop --if-empty to reload).")
        return
    _run_and_echo(list(LOADERS))


def _add_dataset_command(name: str, help_text: str) -> None:
    @seed_cli.command(name, help=help_text)
    def command() -> None:
        _run_and_echo([name])


for _name, (_, _help) in LOADERS.items():
    _add_dataset_command(_name, _help)


def init_app(app: Flask) -> None:
    """Attach the commands to the app's ``flask`` CLI."""
    app.cli.add_command(seed_cli)
