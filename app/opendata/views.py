"""The /data page, the public data package and each table's downloads."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, render_template
from flask_babel import get_locale
from werkzeug.exceptions import NotFound

from app.downloads import XLSX_MIMETYPE
from app.extensions import db
from app.metric.scores import round_years

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


MIMETYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX_MIMETYPE}


def _cache_folder() -> Path | None:
    """Where downloads are kept once built (DOWNLOAD_CACHE_DIR, default instance/downloads);
    None under TESTING unless a folder is set (tests write only under their tmp_path)."""
    folder = current_app.config.get("DOWNLOAD_CACHE_DIR")
    if folder:
        return Path(folder)
    if current_app.testing:
        return None
    return Path(current_app.instance_path) / "downloads"


@bp.get("/data/<name>.<any(json, csv, xlsx):fmt>")
def download(name: str, fmt: str) -> Response:
    """A public table's live rows, built once per data revision and kept on disk (the costly
    ones, such as the audit history as XLSX, take seconds of CPU)."""
    table = service.public_table(name)
    if table is None:
        raise NotFound()
    attachment = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    headers = attachment if fmt != "json" else {}
    folder = _cache_folder()
    if folder is None:
        return Response(service.table_bytes(db.session, table, fmt), mimetype=MIMETYPES[fmt],
                        headers=headers)
    path = service.cached_download(db.session, table, fmt, folder,
                                   current_app.config["DATABASE_URL"])
    body = path.read_bytes()
    # Streamed (an iterator), so the page caches do not keep a copy per query string in
    # each worker's memory; the ETag and Last-Modified are the site's (app.httpcache).
    return Response(iter([body]), mimetype=MIMETYPES[fmt],
                    headers={**headers, "Content-Length": str(len(body))})
