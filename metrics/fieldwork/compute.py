"""From the raw observations of a fieldwork round to its indices, without Flask or a database.

observations (institution, item, occasion, coder: answer and dates)
  -> each coder's normalised answers; where two coders differ and no reviewer has settled it,
     a disagreement
  -> the final answer of every item (the coders' when they agree, the reviewer's otherwise)
  -> item scores by the item's scale -> component scores by the component's rule (the mean
     over the institution's requests or proposals for citizen-side components)
  -> sub-indices, dimensions and GA through the engine (``metrics.compute_indices``) with the
     round's weight scheme.

Agreement between coders is Krippendorff's alpha per component (the ``krippendorff``
package), on the item scores of the units two or more coders coded. Missing stays missing: an
item nobody answered leaves its component, and what is computed from it, unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import krippendorff
import numpy as np
import pandas as pd

from metrics.compute import compute_indices
from metrics.scheme import component_column, validate_scheme

from .business_days import Calendar, Deadline
from .instruments import NOT_APPLICABLE, Answer, AnswerError, Instruments, combine, item_score
from .instruments import normalise as normalise_answer

INSTITUTION_COLUMNS = ["key", "name", "level", "kind", "state"]
Unit = tuple[str, str, int]  # institution key, item key, occasion


class FieldworkDataError(ValueError):
    """Observations that cannot be computed; the message names the observation and why."""


class NotFinal(ValueError):
    """A final computation asked of a round with disagreements or answers still missing."""

    def __init__(self, disputes: int, missing: int):
        self.disputes, self.missing = disputes, missing
        super().__init__(
            f"the round cannot be computed as final: {disputes} items in dispute (unreconciled)"
            f" and {missing} items without an answer"
        )


@dataclass(frozen=True)
class Observation:
    """One coder's answer to one item of one institution (``occasion``: which request)."""

    institution: str
    item: str
    coder: str
    answer: Answer
    occasion: int = 1


@dataclass(frozen=True)
class Reconciliation:
    """A reviewer's answer for a unit two coders disagree on, with the reason."""

    institution: str
    item: str
    answer: Answer
    reviewer: str
    reason: str
    occasion: int = 1


@dataclass(frozen=True)
class Disagreement:
    institution: str
    item: str
    occasion: int
    component: str
    answers: dict[str, str | None]  # coder -> normalised answer
    reconciled: bool


@dataclass(frozen=True)
class Agreement:
    """Inter-coder agreement of one component over its double-coded units."""

    component: str
    units: int  # units coded by two or more coders
    agreed: int  # of those, units whose normalised answers are all equal
    alpha: float | None  # Krippendorff's alpha (interval, on item scores); None if undefined

    @property
    def share(self) -> float | None:
        return self.agreed / self.units if self.units else None


@dataclass
class FieldworkResult:
    """What a computation gives: the engine's frame, the component scores and the problems."""

    frame: pd.DataFrame  # one row per institution: identity, components, TG..GA, GAg, GAc
    components: list[str]  # component columns, in instrument order
    disagreements: list[Disagreement]
    missing: list[Unit]  # units with no final answer
    agreement: list[Agreement]
    final_answers: dict[Unit, str | None] = field(default_factory=dict)

    @property
    def open_disagreements(self) -> list[Disagreement]:
        return [d for d in self.disagreements if not d.reconciled]

    @property
    def complete(self) -> bool:
        return not self.open_disagreements and not self.missing


def expected_units(instruments: Instruments, institutions: Iterable[str]) -> list[Unit]:
    """Every (institution, item, occasion) the round has to answer, in instrument order."""
    units = []
    for key in institutions:
        for component in instruments.components:
            for occasion in range(1, instruments.occasions(component) + 1):
                units += [(key, item.key, occasion) for item in component.items]
    return units


def _normalised(
    instruments: Instruments, calendar: Calendar, institution: str, item_key: str,
    occasion: int, answer: Answer, who: str,
) -> str | None:
    item = instruments.items.get(item_key)
    if item is None:
        raise FieldworkDataError(
            f"{who}, institution {institution!r}: item {item_key!r} is not in the instruments")
    component = instruments.component(item.component)
    if not 1 <= occasion <= instruments.occasions(component):
        raise FieldworkDataError(
            f"{who}, institution {institution!r}, item {item_key}: occasion {occasion} outside"
            f" 1..{instruments.occasions(component)}")
    try:
        return normalise_answer(item, answer, calendar)
    except AnswerError as exc:
        raise FieldworkDataError(f"{who}, institution {institution!r}: {exc}") from None


def _alpha(matrix: np.ndarray) -> float | None:
    """Krippendorff's alpha (interval) of a coders x units matrix; None when undefined.

    Undefined: no unit with two values, or no variation at all among the paired values (the
    expected disagreement is zero, so alpha is 0/0).
    """
    paired = np.sum(~np.isnan(matrix), axis=0) >= 2
    if not paired.any():
        return None
    values = matrix[:, paired]
    if np.unique(values[~np.isnan(values)]).size < 2:
        return None
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement="interval"))


def compute_fieldwork(
    instruments: Instruments,
    institutions: pd.DataFrame,
    observations: Sequence[Observation],
    reconciliations: Sequence[Reconciliation] = (),
    *,
    deadline: Deadline | None = None,
    calendar: Calendar | None = None,
    scheme: Mapping[str, Mapping[str, float]] | None = None,
    final: bool = False,
    expected_coders: Mapping[str, int] | None = None,
) -> FieldworkResult:
    """Compute a round from its observations (see the module's docstring).

    ``institutions`` has one row per sampled institution with the engine's identity columns
    (key, name, level, kind, state). ``scheme`` defaults to the weights the instruments
    declare; its components must be the instruments'. ``expected_coders`` gives the number
    of coders assigned to an institution (default 1): an item is answered once that many
    coders agree on it (or a reviewer settled it). With ``final`` the computation refuses
    (NotFinal) while any disagreement is unreconciled or any item has no answer.
    """
    calendar = calendar or Calendar()
    deadline = deadline or Deadline(instruments.settings.deadline_days,
                                    instruments.settings.extension_days)
    clean_scheme = validate_scheme(scheme if scheme is not None else instruments.scheme())
    declared = {c.key for c in instruments.components}
    used = {component_column(s, c) for s, ws in clean_scheme.items() for c in ws}
    if used != declared:
        raise FieldworkDataError(
            "the weight scheme and the instruments name different components: "
            f"only in the scheme {sorted(used - declared)}, "
            f"only in the instruments {sorted(declared - used)}")
    keys = [str(k) for k in institutions["key"]]
    if len(set(keys)) != len(keys):
        raise FieldworkDataError("an institution appears twice in the sample")
    known = set(keys)

    # Each coder's normalised answers per unit.
    coded: dict[Unit, dict[str, str | None]] = {}
    for number, obs in enumerate(observations, start=1):
        who = f"observation {number} (coder {obs.coder})"
        if obs.institution not in known:
            raise FieldworkDataError(f"{who}: institution {obs.institution!r} is not sampled")
        unit = (obs.institution, obs.item, obs.occasion)
        if obs.coder in coded.get(unit, {}):
            raise FieldworkDataError(f"{who}: a second answer for item {obs.item} of "
                                     f"{obs.institution!r}, occasion {obs.occasion}")
        coded.setdefault(unit, {})[obs.coder] = _normalised(
            instruments, calendar, obs.institution, obs.item, obs.occasion, obs.answer, who)
    settled: dict[Unit, str | None] = {}
    for number, rec in enumerate(reconciliations, start=1):
        who = f"reconciliation {number}"
        if rec.institution not in known:
            raise FieldworkDataError(f"{who}: institution {rec.institution!r} is not sampled")
        value = _normalised(
            instruments, calendar, rec.institution, rec.item, rec.occasion, rec.answer, who)
        if value is None:
            raise FieldworkDataError(f"{who}: a reconciliation needs an answer (and its dates)")
        settled[(rec.institution, rec.item, rec.occasion)] = value

    items = instruments.items
    disagreements: list[Disagreement] = []
    final_answers: dict[Unit, str | None] = {}
    missing: list[Unit] = []
    for unit in expected_units(instruments, keys):
        answers = coded.get(unit, {})
        given = {v for v in answers.values() if v is not None}
        done = sum(v is not None for v in answers.values())
        disputed = len(given) > 1
        if unit in settled:
            final_answers[unit] = settled[unit]
        elif len(given) == 1 and done >= (expected_coders or {}).get(unit[0], 1):
            final_answers[unit] = next(iter(given))
        else:  # nobody answered, a second coder has not yet, or the coders differ
            final_answers[unit] = None
        if disputed:
            disagreements.append(Disagreement(unit[0], unit[1], unit[2], items[unit[1]].component,
                                              dict(sorted(answers.items())), unit in settled))
        elif final_answers[unit] is None:
            missing.append(unit)
    open_disputes = [d for d in disagreements if not d.reconciled]
    if final and (open_disputes or missing):
        raise NotFinal(len(open_disputes), len(missing))

    # Component scores per institution: the rule over items within each occasion, then the
    # mean over occasions; unknown if any applicable item of any occasion is unknown.
    columns = [c.key for c in instruments.components]
    scores: dict[str, list[float]] = {c: [] for c in columns}
    for key in keys:
        for component in instruments.components:
            per_occasion: list[float | None] = []
            for occasion in range(1, instruments.occasions(component) + 1):
                parts: list[tuple[float, float | None]] = []
                unknown = False
                for item in component.items:
                    answer = final_answers[(key, item.key, occasion)]
                    if answer == NOT_APPLICABLE:
                        continue
                    score = item_score(item, answer, deadline)
                    if score is None:
                        unknown = True
                        break
                    parts.append((score, item.weight))
                per_occasion.append(None if unknown else combine(component.rule, parts))
            known_scores = [s for s in per_occasion if s is not None]
            mean = (sum(known_scores) / len(known_scores)
                    if known_scores and len(known_scores) == len(per_occasion) else np.nan)
            scores[component.key].append(mean)

    frame = institutions[[c for c in INSTITUTION_COLUMNS if c in institutions.columns]].copy()
    frame = frame.reset_index(drop=True)
    for column in columns:
        frame[column] = np.asarray(scores[column], dtype="float64")
    computed = compute_indices(frame, clean_scheme).frame
    agreement = _agreement(instruments, coded, deadline)
    return FieldworkResult(computed, columns, disagreements, missing, agreement, final_answers)


def _agreement(
    instruments: Instruments, coded: Mapping[Unit, Mapping[str, str | None]],
    deadline: Deadline,
) -> list[Agreement]:
    items = instruments.items
    coders = sorted({c for answers in coded.values() for c in answers})
    row = {c: n for n, c in enumerate(coders)}
    out = []
    for component in instruments.components:
        units = [(u, a) for u, a in coded.items() if items[u[1]].component == component.key
                 and sum(v is not None for v in a.values()) >= 2]
        matrix = np.full((len(coders), len(units)), np.nan)
        agreed = 0
        for column, (unit, answers) in enumerate(units):
            given = [v for v in answers.values() if v is not None]
            agreed += len(set(given)) == 1
            for coder, value in answers.items():
                score = item_score(items[unit[1]], value, deadline)
                if score is not None:
                    matrix[row[coder], column] = score
        out.append(Agreement(component.key, len(units), agreed, _alpha(matrix)))
    return out


def agreement_alpha(values: Sequence[Sequence[float | None]]) -> float | None:
    """Krippendorff's alpha (interval) of coders x units values (None: not coded)."""
    matrix = np.array([[np.nan if v is None else float(v) for v in row] for row in values])
    return _alpha(matrix)


def parse_date(value: object, what: str) -> date | None:
    """An ISO date (YYYY-MM-DD) from a file's cell, or None when empty."""
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FieldworkDataError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
