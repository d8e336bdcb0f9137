"""The states: list and one page per state."""

from flask import Blueprint

bp = Blueprint("states", __name__, template_folder="templates")
