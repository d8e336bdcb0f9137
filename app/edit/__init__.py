"""Editing the tracker: milestones, evidence and exercise facts, by role, sourced, audited."""

from flask import Blueprint

bp = Blueprint("edit", __name__, template_folder="templates")
