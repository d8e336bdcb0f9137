"""The source registry's pages: /sources, and the citations every page shows."""

from flask import Blueprint

bp = Blueprint("sources", __name__, template_folder="templates")
