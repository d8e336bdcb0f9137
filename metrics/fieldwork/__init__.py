"""Fieldwork rounds of the metric, computed from raw observations (pure, no Flask, no DB).

``instruments`` reads and validates the instruments (YAML: components, items, scales, rules);
``business_days`` counts business days with Mexico's official holidays; ``compute`` turns
observations into component scores and indices through the engine, with double-coding
agreement (Krippendorff's alpha) and the list of disagreements; ``files`` reads and writes an
exported fieldwork file.
"""

from .business_days import Calendar, Deadline
from .compute import (
    Agreement,
    Disagreement,
    FieldworkDataError,
    FieldworkResult,
    NotFinal,
    Observation,
    Reconciliation,
    agreement_alpha,
    compute_fieldwork,
    expected_units,
)
from .instruments import (
    Answer,
    AnswerError,
    Component,
    InstrumentError,
    Instruments,
    Item,
    load_instruments,
    parse_instruments,
)

__all__ = [
    "Agreement",
    "Answer",
    "AnswerError",
    "Calendar",
    "Component",
    "Deadline",
    "Disagreement",
    "FieldworkDataError",
    "FieldworkResult",
    "InstrumentError",
    "Instruments",
    "Item",
    "NotFinal",
    "Observation",
    "Reconciliation",
    "agreement_alpha",
    "compute_fieldwork",
    "expected_units",
    "load_instruments",
    "parse_instruments",
]
