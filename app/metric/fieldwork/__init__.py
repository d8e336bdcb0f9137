"""Fieldwork rounds of the metric run with this application (services, pages, CLI, the frozen
guard).

The pure computation lives in ``metrics.fieldwork``; this package stores rounds, checks who
may do what, and publishes frozen rounds as ordinary metric rounds. Its pages are the
``fieldwork`` blueprint (``views``); its commands hang from ``flask metric fieldwork``.
"""

from flask import Blueprint

from . import guard as guard  # registers the frozen-round check on every session

bp = Blueprint("fieldwork", __name__, template_folder="templates")
