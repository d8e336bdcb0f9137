"""Spanish labels (marked for translation) of the metric's codes."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import lazy_gettext as _l

INDEX_LABELS = {
    "GA": _l("Índice de Gobierno Abierto"),
    "T": _l("Transparencia"),
    "P": _l("Participación"),
    "TG": _l("Transparencia, perspectiva gubernamental"),
    "TC": _l("Transparencia, perspectiva ciudadana"),
    "PG": _l("Participación, perspectiva gubernamental"),
    "PC": _l("Participación, perspectiva ciudadana"),
    "GAg": _l("Gobierno abierto, perspectiva gubernamental"),
    "GAc": _l("Gobierno abierto, perspectiva ciudadana"),
}
LEVEL_LABELS = {
    "federal": _l("Federal"),
    "state": _l("Estatal"),
    "municipal": _l("Municipal"),
}
KIND_LABELS = {
    "autonomous": _l("Autónomo"),
    "decentralized": _l("Descentralizado"),
    "state_executive": _l("Ejecutivo estatal"),
    "federal_executive": _l("Ejecutivo federal"),
    "trust": _l("Fideicomiso"),
    "judicial": _l("Judicial"),
    "legislative": _l("Legislativo"),
    "municipality": _l("Municipio"),
    "party": _l("Partido político"),
    "union": _l("Sindicato"),
    "university": _l("Universidad"),
    "electoral": _l("Órgano electoral"),
    "guarantor": _l("Órgano garante"),
    "other": _l("Otro"),
}
FEDERATION_LABEL = _l("Federación")
NATIONAL_LABEL = _l("Nacional")


def text(label: object) -> str:
    """Return a label translated in a request, or its Spanish text (e.g. on the command line)."""
    if has_request_context():
        return str(label)
    args = getattr(label, "_args", None)
    return str(args[0]) if args else str(label)


def group_label(by: str, key: str, state_names: dict[str, str]) -> str:
    """Return the display name of a group key for ``by`` (national/state/level/type)."""
    if by == "national":
        return text(NATIONAL_LABEL)
    if by == "state":
        return text(FEDERATION_LABEL) if key == "federal" else state_names.get(key, key)
    if by == "level":
        return text(LEVEL_LABELS.get(key, key))
    return text(KIND_LABELS.get(key, key))
