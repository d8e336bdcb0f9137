"""The tracker's charts: service results drawn with app.charts, in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from app import charts

from .service import ExerciseDates

STEPS = ("declaration", "secretariat", "plan")


def exercise_timeline(rows: Sequence[ExerciseDates]) -> Markup | None:
    """Declaration, secretariat and first plan of each dated state on one time axis.

    States without any known date are left out of the drawing (the table lists them); None
    when no state has a date.
    """
    dated = [r for r in rows if r.declaration or r.secretariat or r.plan]
    if not dated:
        return None
    kinds = [("declaration", _("Declaratoria")), ("secretariat", _("Secretariado instalado")),
             ("plan", _("Plan publicado"))]
    undated = len(rows) - len(dated)
    desc = _("Una fila por estado con la fecha de su declaratoria, de la instalación de su "
             "Secretariado Técnico Local y de su primer plan de acción local, cada una con su "
             "forma y color; la tabla de abajo da las mismas fechas.")
    if undated:
        desc += " " + _("%(n)s estados sin ninguna fecha conocida no se dibujan.", n=undated)
    return charts.timeline(
        [(r.name, {k: getattr(r, k) for k in STEPS}) for r in dated], kinds,
        title=_("Declaratoria, secretariado y plan de cada estado"), desc=desc,
        links={r.name: url_for("states.detail", cve_ent=r.cve_ent) for r in dated},
    )
