"""The local plans tracker: exercises, action plans, commitments, progress and change feeds."""

from flask import Blueprint

bp = Blueprint("plans", __name__, template_folder="templates")
