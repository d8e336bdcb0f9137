"""What a refused fieldwork action says to a person, in the reader's language.

The services raise ``FieldworkError`` with an English message (the command line prints it, the
logs keep it) and, where a page can meet it, a translatable text (``text``) written here or at
the raise site with ``lazy_gettext``. The engine (``metrics.fieldwork``, no Flask) names each
refused answer by a code with its values (``AnswerError.code``/``params``); ``answer_text``
turns that into the same message in Spanish or English. ``message`` is what a page shows for
any of these refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from metrics.fieldwork import AnswerError, NotFinal

from .guard import RoundFrozen

_ANSWER: dict[str, Callable[[dict[str, Any]], LazyString]] = {
    "na_not_allowed": lambda p: _l("«No aplica» no es una respuesta admitida en este reactivo."),
    "unanswered_needs_sent": lambda p: _l(
        "Una solicitud sin respuesta necesita su fecha de envío."),
    "answered_or_unanswered": lambda p: _l(
        "Elija «respondida» (con sus fechas de envío y de respuesta) o «sin respuesta»."),
    "answered_before_sent": lambda p: _l("La fecha de respuesta es anterior a la de envío."),
    "acknowledged_before_sent": lambda p: _l(
        "La fecha del acuse de recibo es anterior a la de envío."),
    "not_a_number": lambda p: _l("«%(value)s» no es un número.", **p),
    "below_minimum": lambda p: _l("%(value)s es menor que el mínimo de la escala, %(min)s.",
                                  **p),
    "above_maximum": lambda p: _l("%(value)s es mayor que el máximo de la escala, %(max)s.",
                                  **p),
    "not_one_of": lambda p: _l("«%(value)s» no es una respuesta de la escala (%(allowed)s).",
                               **p),
    "needs_deadline": lambda p: _l("Esta escala necesita el plazo legal de la ronda."),
    "beyond_bands": lambda p: _l("%(value)s queda fuera de la última banda de la escala.", **p),
}


# How a request stands against the round's deadline (pages.Speed.status).
SPEED_LABELS = {
    "on_time": _l("a tiempo"),
    "in_extension": _l("dentro de la prórroga"),
    "late": _l("fuera de plazo"),
    "pending": _l("en espera, dentro del plazo"),
    "overdue": _l("vencida: pasó el plazo sin respuesta"),
    "overdue_extension": _l("vencida: pasó también la prórroga sin respuesta"),
    "unanswered": _l("declarada sin respuesta"),
}


# How the methodology page names the instruments' codes (metrics.fieldwork.instruments).
CHANNEL_LABELS = {
    "review": _l("revisión de portales, normas y documentos (perspectiva gubernamental)"),
    "request": _l("solicitudes de información simuladas (perspectiva ciudadana), una "
                  "respuesta por solicitud"),
    "proposal": _l("propuestas ciudadanas simuladas (perspectiva ciudadana), una respuesta "
                   "por propuesta"),
}
RULE_LABELS = {
    "mean": _l("promedio de las calificaciones de sus reactivos"),
    "weighted": _l("promedio ponderado de sus reactivos (pesos abajo)"),
    "max": _l("la mayor calificación de sus reactivos"),
    "min": _l("la menor calificación de sus reactivos"),
}
BASIS_LABELS = {
    "published": _l("publicado en la Métrica 2017"),
    "chosen": _l("elección de estos instrumentos (no publicado)"),
}
EVIDENCE_LABELS = {
    "url": _l("dirección (URL)"),
    "file": _l("archivo"),
    "folio": _l("folio de la Plataforma Nacional de Transparencia"),
    "any": _l("cualquiera"),
}


def answer_text(exc: AnswerError) -> LazyString:
    """An answer the scale refused, said in the reader's language."""
    build = _ANSWER.get(exc.code)
    if build is None:
        return _l("La escala del reactivo no admite esta respuesta.")
    return build(dict(exc.params))


def not_final_text(exc: NotFinal) -> LazyString:
    """Why a round cannot be frozen or computed as final yet."""
    return _l("Todavía no: %(disputes)s reactivos en disputa sin conciliar y %(missing)s "
              "reactivos sin respuesta.", disputes=exc.disputes, missing=exc.missing)


def message(exc: Exception) -> str:
    """What a page says for a refused fieldwork action, in the reader's language."""
    text = getattr(exc, "text", None)
    if text is not None:
        return str(text)
    if isinstance(exc, RoundFrozen):
        return _("La ronda %(year)s está congelada: ya no puede cambiar.", year=exc.year)
    if isinstance(exc, AnswerError):
        return str(answer_text(exc))
    if isinstance(exc, NotFinal):
        return str(not_final_text(exc))
    # A refusal no page was expected to meet: said in general, with the service's own words.
    return _("No se pudo hacer: %(why)s", why=str(exc))
