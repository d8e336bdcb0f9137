"""Display names of the metric's codes (declared with their labels in ``common.codes``)."""

from __future__ import annotations

from common.codes import ALL_INDICES as INDEX_LABELS
from common.codes import FEDERATION, NATIONAL, translate
from common.codes import INSTITUTION_TYPES as KIND_LABELS
from common.codes import LEVELS as LEVEL_LABELS

__all__ = ["INDEX_LABELS", "KIND_LABELS", "LEVEL_LABELS", "group_label"]


def group_label(by: str, key: str, state_names: dict[str, str]) -> str:
    """Return the display name of a group key for ``by`` (national/state/level/type)."""
    if by == "national":
        return translate(NATIONAL)
    if by == "state":
        return translate(FEDERATION) if key == "federal" else state_names.get(key, key)
    if by == "level":
        return LEVEL_LABELS.label(key)
    return KIND_LABELS.label(key)
