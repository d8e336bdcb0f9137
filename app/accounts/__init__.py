"""Accounts: sign-in, roles and who may edit what."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates", cli_group="users")
bp.cli.help = "Manage accounts (there is no default account)."
