"""Open data: the /data page, the data package and its downloads, export and import."""

from flask import Blueprint

bp = Blueprint("opendata", __name__, template_folder="templates")
