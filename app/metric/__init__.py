"""The Open Government Metric: rounds, institutions, imports and comparisons."""

from flask import Blueprint

bp = Blueprint(
    "metric",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/metric",
    cli_group="metric",
)
