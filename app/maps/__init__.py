"""Maps: the metric choropleth, the local exercises map, their downloads and layer imports."""

from flask import Blueprint

bp = Blueprint("maps", __name__, template_folder="templates", cli_group="geodata")
