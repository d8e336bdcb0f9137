"""``flask users create|disable|enable|sign-out|reset-password|list``: the only way an
account comes to exist, and the admin's other tools on the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.orm import Session

from app.extensions import db
from common.codes import ROLES

from . import bp, service


def _commit_or_fail(action: Callable[[Session], Any]) -> Any:
    session = db.session
    try:
        result = action(session)
        session.commit()
    except service.AccountError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    return result


@bp.cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES.codes), required=True)
@click.option("--state", "state_cve", help="INEGI code of the editor's state, e.g. 10.")
@click.option("--agency", help="The agency the account acts for (its public name).")
@click.option(
    "--password", help="For scripts; without it the password is asked twice at a prompt."
)
def create(email: str, role: str, state_cve: str | None, agency: str | None,
           password: str | None) -> None:
    """Create an account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if state_cve and state_cve.isdigit():
        state_cve = state_cve.zfill(2)
    user = _commit_or_fail(lambda s: service.create_user(
        s, email, password, role=role, state_cve=state_cve, agency=agency,
    ))
    click.echo(f"created {user.email} ({user.role}"
               + (f", state {state_cve}" if state_cve else "") + ")")


@bp.cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account: it can no longer sign in, and every open session ends."""
    _commit_or_fail(lambda s: service.set_active(s, email, False))
    click.echo(f"disabled {service.normal_email(email)}")


@bp.cli.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Enable a disabled account again."""
    _commit_or_fail(lambda s: service.set_active(s, email, True))
    click.echo(f"enabled {service.normal_email(email)}")


@bp.cli.command("sign-out")
@click.argument("email")
def sign_out(email: str) -> None:
    """End every session of an account (on every device); it can sign in again."""
    _commit_or_fail(lambda s: service.sign_out_everywhere(s, email))
    click.echo(f"signed out everywhere: {service.normal_email(email)}")


@bp.cli.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Print a one-time link to set a new password (valid PASSWORD_RESET_HOURS hours)."""
    from flask import current_app

    from app.plans.feeds import site_url

    user, token = _commit_or_fail(lambda s: service.reset_token(s, email))
    with current_app.test_request_context():
        link = site_url("accounts.reset", token=token)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    click.echo(f"Reset link for {user.email} (works once, for {hours} hours, and not after "
               f"the password changes):\n{link}")


@bp.cli.command("list")
def list_users() -> None:
    """List the accounts: email, role, state, agency, active."""
    rows = service.users(db.session)
    if not rows:
        click.echo("No accounts. Create one with `flask users create EMAIL --role admin`.")
    for u in rows:
        click.echo("\t".join([u.email, u.role, u.state_cve or "-", u.agency or "-",
                              "active" if u.active else "disabled"]))

