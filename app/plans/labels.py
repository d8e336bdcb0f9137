"""Spanish labels (marked for translation) for the codes the tracker stores."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from common.codes import AUDIT_ACTIONS as ACTION_LABELS
from common.codes import MILESTONE_STATUSES as MILESTONE_STATUS_LABELS
from common.codes import PROGRESS_STATES as PROGRESS_STATE_LABELS
from common.codes import SCOPES as SCOPE_LABELS
from common.codes import SECTORS as SECTOR_LABELS
from common.codes import STAGE_ORDER
from common.codes import STAGES as STAGE_LABELS

# The code lists are declared in common.codes; these names are what the tracker's pages use.
__all__ = [
    "ACTION_LABELS", "MILESTONE_STATUS_LABELS", "PROGRESS_STATE_LABELS", "SCOPE_LABELS",
    "SECTOR_LABELS", "STAGE_LABELS", "STAGE_ORDER",
]

UNKNOWN = _l("desconocido")


FRAMEWORK_LABELS = {
    "irm-commitment-page": _l("Página del compromiso en OGP (IRM)"),
    "irm-results-2019-2022": _l("Informe de resultados 2019-2022 (IRM)"),
    "irm-design-2019-2021": _l("Informe de diseño 2019-2021 (IRM)"),
    "osc-2012": _l("Evaluación de las organizaciones de la sociedad civil (2012)"),
    "ogp-local-eoc": _l("Informe de fin de compromiso (OGP Local)"),
}

ASPECT_LABELS = {
    "early_results": _l("Resultados tempranos"),
    "ambition": _l("Ambición"),
    "status": _l("Estado de avance"),
    "completion": _l("Nivel de cumplimiento"),
    "noteworthy": _l("Compromiso destacado"),
    "availability": _l("A) Disponibilidad y actitud del gobierno"),
    "work_program": _l("B) Programa de trabajo específico"),
    "response_time": _l("C) Tiempo de respuesta"),
    "progress": _l("D) Avance en los planes de trabajo"),
    "quality": _l("E) Calidad del cumplimiento"),
    "overall": _l("Evaluación global"),
}
OSC_ASPECTS = ("availability", "work_program", "response_time", "progress", "quality", "overall")

VALUE_LABELS = {
    "total": _l("Cumplimiento total"),
    "partial": _l("Cumplimiento parcial"),
    "null": _l("Cumplimiento nulo"),
    "none yet": _l("Aún ninguno"),
    "none": _l("Ninguno"),
    "marginal": _l("Marginales"),
    "significant": _l("Significativos"),
    "outstanding": _l("Sobresalientes"),
    "high": _l("Alta"),
    "low": _l("Baja"),
    "inactive": _l("Inactivo"),
    "limited": _l("Limitado"),
    "substantial": _l("Sustancial"),
    "complete": _l("Completo"),
    "yes": _l("Sí"),
}
VALUE_ABBREVIATIONS = {"total": "TC", "partial": "PC", "null": "NC"}

THEME_LABELS = {
    "Fiscal Openness": _l("Apertura fiscal"),
    "Gender": _l("Género"),
    "Public Service Delivery": _l("Prestación de servicios públicos"),
    "Civic Space": _l("Espacio cívico"),
    "Anti-Corruption": _l("Anticorrupción"),
    "Public Participation": _l("Participación pública"),
    "Improving public services": _l("Mejorar los servicios públicos"),
    "Increasing public integrity": _l("Aumentar la integridad pública"),
    "More effectively Managing Public Resources": _l(
        "Gestionar con más eficacia los recursos públicos"
    ),
    "Increasing corporate accountability": _l("Aumentar la rendición de cuentas corporativa"),
    "Creating safer communities": _l("Crear comunidades más seguras"),
}



def label(mapping: Mapping[str, object], code: object) -> object:
    """Return the label of ``code`` in ``mapping``, the code itself if unlisted, or unknown."""
    if code is None or code == "":
        return UNKNOWN
    return mapping.get(code, code) if isinstance(code, str) else code


def source_parts(text: str | None) -> list[tuple[str | None, str, str]]:
    """Split a "; "-separated source into (href or None, short text, full text) parts.

    A URL shows as its host (the full address stays in the link's title), so long addresses
    do not crowd the tables.
    """
    parts: list[tuple[str | None, str, str]] = []
    for part in (text or "").split("; "):
        part = part.strip()
        if not part:
            continue
        if part.startswith(("http://", "https://")):
            url, _, note = part.partition(" ")
            host = urlsplit(url).netloc.removeprefix("www.")
            parts.append((url, f"{host} {note}".strip(), part))
        else:
            parts.append((None, part, part))
    return parts


def aspect_label(aspect: str) -> str:
    """Label an assessment aspect; "45a:availability" names the part evaluated."""
    part, _, name = aspect.rpartition(":")
    text = str(label(ASPECT_LABELS, name))
    return f"{text} ({part})" if part else text
