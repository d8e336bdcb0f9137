"""Views of the home page."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug import Response as WerkzeugResponse

from app import params
from app.extensions import db
from app.metric.figures import state_map
from geodata.classify import range_classes

from . import bp, service


@bp.get("/")
def home() -> str:
    page = service.home_page(db.session)
    return render_template("main/home.html", page=page, **_home_map(page))


def _home_map(page: service.HomePage) -> dict[str, object]:
    """The latest round's choropleth (SVG, every state a named link) and its legend."""
    layer = page.layer
    if page.year is None or layer is None:
        return {"home_map": None, "classes": None}
    classes = range_classes(page.scale)
    names = {**layer.names, **page.names}
    title = _("Índice de Gobierno Abierto (GA) por estado, %(year)s", year=page.year)
    return {"home_map": state_map(layer, page.values, classes, names, title=title, width=560),
            "classes": classes, "map_title": title}


@bp.get("/find")
def find_state() -> str | WerkzeugResponse:
    """'Find your state': one match opens its page; otherwise the matches are listed."""
    args = params.parse({"q": params.text()})
    query = args.get("q") or ""
    found = service.find_states(db.session, query)
    if len(found) == 1:
        return redirect(url_for("states.detail", cve_ent=found[0][0]))
    return render_template("main/find.html", query=query, found=found)


# What crawlers are asked to leave alone: pages for signed-in users and the sign-in form.
ROBOTS_DISALLOW = ("/edit/", "/admin/", "/account/", "/milestones/", "/login", "/logout")


@bp.get("/robots.txt")
def robots() -> Response:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "Allow: /"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon (app/static/favicon.ico, made by scripts/make-favicon), 5 KB."""
    icon = Path(current_app.static_folder or "", "favicon.ico").read_bytes()
    return Response(icon, mimetype="image/vnd.microsoft.icon")



NAV = (
    ("main.home", _l("Inicio")),
    ("maps.state_map", _l("Mapa")),
    ("metric.index", _l("Métrica")),
    ("plans.exercises", _l("Ejercicios locales")),
    ("plans.plans", _l("Planes de acción")),
    ("states.index", _l("Estados")),
    ("opendata.index", _l("Datos abiertos")),
)


@bp.app_context_processor
def navigation() -> dict[str, object]:
    return {"nav_items": NAV}
