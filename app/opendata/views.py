"""The /data page, the public data package and each table's downloads."""

from __future__ import annotations

from flask import Response, render_template
from flask_babel import get_locale
from werkzeug.exceptions import NotFound

from app.downloads import csv_response, xlsx_response
from app.extensions import db
from app.metric.service import round_years

from . import bp, service
from .dump import dumps_descriptor


@bp.get("/data")
def index() -> str:
    language = str(get_locale())
    return render_template("opendata/index.html", years=round_years(db.session),
                           datasets=service.datasets(db.session, language))


@bp.get("/data/datapackage.json")
def datapackage() -> Response:
    return Response(dumps_descriptor(service.public_descriptor(db.session)),
                    mimetype="application/json")


@bp.get("/data/<name>.<any(json, csv, xlsx):fmt>")
def download(name: str, fmt: str) -> Response:
    table = service.public_table(name)
    if table is None:
        raise NotFound()
    if fmt == "json":
        return Response(service.table_json(db.session, table), mimetype="application/json")
    header, rows = service.table_cells(db.session, table)
    respond = csv_response if fmt == "csv" else xlsx_response
    return respond(f"{name}.{fmt}", header, rows)
