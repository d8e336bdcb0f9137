"""Instruments as data: per component, its items, each item's answer scale, and the rule that
turns the answers into the component's score in [0, 1].

An instrument file is YAML (or JSON, which YAML reads too), validated on load with marshmallow;
a bad file raises InstrumentError naming the file and the path of each problem
(``components[2].items[0].scale.levels``). The format::

    format: mga-instruments/1
    title: ...            # what the instruments are
    notice: ...           # who made them and from what (e.g. "not INAI's questionnaire")
    sources: [{title, url, quote}]
    settings: {deadline_days: 20, extension_days: 10, requests: 2, proposals: 1}
    components:
      - key: TG.access_info        # <sub-index>.<component>, as in the weight scheme
        label: ...
        weight: 0.5                # the component's weight within its sub-index
        channel: review            # review (portals and rules), request or proposal
        rule: mean                 # mean | weighted | max | min of the item scores
        basis: published | chosen  # printed by the source, or the template's own choice
        note: ...
        items:
          - key: unit_exists
            label: ...
            scale: {type: yes_no}
            weight: 1              # only with rule: weighted
            not_applicable: false  # whether "na" is a valid answer (left out of the rule)

Scales: ``yes_no`` (yes = 1, no = 0); ``ordinal`` with ``levels`` [{code, label, value}];
``number`` with ``min``/``max`` and ``bands`` [{upto, score}] (the first band whose ``upto``
is >= the answer; a last band without ``upto`` takes the rest); ``business_days``: the business
days from the request's sending to its answer, scored by ``bands`` whose ``upto`` may be a
number, ``deadline`` or ``extended`` (the round's deadline, with its extension), and
``unanswered`` (the score of a request never answered, default 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from common.codes import SUBINDICES

from .business_days import Calendar, Deadline

FORMAT = "mga-instruments/1"
RULES = ("mean", "weighted", "max", "min")
CHANNELS = ("review", "request", "proposal")
SCALE_TYPES = ("yes_no", "ordinal", "number", "business_days")
NOT_APPLICABLE = "na"
UNANSWERED = "unanswered"
YES, NO = "yes", "no"
KEY = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="use lower-case letters, digits and _")
WEIGHT_TOLERANCE = 1e-9


class InstrumentError(ValueError):
    """An instrument file that cannot be used: ``problems`` are (path, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source, self.problems = source, problems
        listed = "; ".join(f"{path or '(file)'}: {message}" for path, message in problems)
        super().__init__(f"{source}: {listed}")


class AnswerError(ValueError):
    """An answer the item's scale does not accept; the message says what it accepts.

    ``code`` names the problem and ``params`` its values, so that an interface can say the
    same in its reader's language; ``field`` is the part of the answer at fault (``answer``,
    ``sent_on`` or ``answered_on``).
    """

    def __init__(self, message: str, code: str = "invalid", field: str = "answer",
                 **params: Any):
        self.code, self.field, self.params = code, field, params
        super().__init__(message)


# --- Schemas (validation only; the dataclasses below are what the code uses) ---------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Level(_Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    label = fields.String(required=True)
    value = fields.Float(required=True, validate=validate.Range(0, 1))


class _Band(_Strict):
    upto = fields.Raw(load_default=None)
    score = fields.Float(required=True, validate=validate.Range(0, 1))


class _Scale(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(SCALE_TYPES))
    levels = fields.List(fields.Nested(_Level))
    min = fields.Float()
    max = fields.Float()
    bands = fields.List(fields.Nested(_Band))
    unanswered = fields.Float(validate=validate.Range(0, 1))
    unit = fields.String()

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        kind = data["type"]
        allowed = {
            "yes_no": set(),
            "ordinal": {"levels"},
            "number": {"min", "max", "bands", "unit"},
            "business_days": {"bands", "unanswered"},
        }[kind]
        extra = sorted(k for k in data if k != "type" and k not in allowed)
        for key in extra:
            raise ValidationError(f"not used by a {kind} scale", key)
        if kind == "ordinal":
            levels = data.get("levels") or []
            if len(levels) < 2:
                raise ValidationError("an ordinal scale needs at least two levels", "levels")
            codes = [lv["code"] for lv in levels]
            if len(set(codes)) != len(codes):
                raise ValidationError("level codes repeat", "levels")
            if NOT_APPLICABLE in codes:
                raise ValidationError(f"'{NOT_APPLICABLE}' is reserved (not_applicable)", "levels")
        if kind in ("number", "business_days"):
            bands = data.get("bands") or []
            if not bands:
                raise ValidationError(f"a {kind} scale needs bands", "bands")
            previous = -math.inf
            for position, band in enumerate(bands):
                upto = band["upto"]
                last = position == len(bands) - 1
                if upto is None:
                    if not last:
                        raise ValidationError(
                            f"band {position}: only the last band may omit upto", "bands")
                    continue
                if kind == "business_days" and upto in ("deadline", "extended"):
                    continue  # resolved against the round's deadline, checked then
                if isinstance(upto, bool) or not isinstance(upto, int | float):
                    raise ValidationError(
                        f"band {position}: upto must be a number"
                        + (", 'deadline' or 'extended'" if kind == "business_days" else ""),
                        "bands")
                if upto <= previous:
                    raise ValidationError(f"band {position}: upto must increase", "bands")
                previous = upto
            if kind == "number" and "min" in data and "max" in data and data["min"] > data["max"]:
                raise ValidationError("min is above max", "min")


class _Item(_Strict):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True)
    question = fields.String()
    scale = fields.Nested(_Scale, required=True)
    weight = fields.Float(validate=validate.Range(0, 1))
    not_applicable = fields.Boolean(load_default=False)
    evidence = fields.String(validate=validate.OneOf(("url", "file", "folio", "any")))
    basis = fields.String(validate=validate.OneOf(("published", "chosen")))
    note = fields.String()


class _Component(_Strict):
    key = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.Float(required=True, validate=validate.Range(0, 1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    rule = fields.String(required=True, validate=validate.OneOf(RULES))
    basis = fields.String(load_default="chosen", validate=validate.OneOf(("published", "chosen")))
    variable = fields.String()
    note = fields.String()
    items = fields.List(fields.Nested(_Item), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        sub, _dot, name = data["key"].partition(".")
        if sub not in SUBINDICES or not name or "." in name or KEY.regex.match(name) is None:
            raise ValidationError(
                f"must read <sub-index>.<component> with a sub-index of {', '.join(SUBINDICES)}"
                " and a lower-case component name", "key")
        keys = [item["key"] for item in data["items"]]
        if len(set(keys)) != len(keys):
            raise ValidationError("item keys repeat", "items")
        weights = [item.get("weight") for item in data["items"]]
        if data["rule"] == "weighted":
            if any(w is None for w in weights):
                raise ValidationError("rule weighted: every item needs a weight", "items")
            total = math.fsum(w for w in weights if w is not None)
            if abs(total - 1) > WEIGHT_TOLERANCE:
                raise ValidationError(f"rule weighted: item weights sum to {total:g}, not 1",
                                      "items")
        elif any(w is not None for w in weights):
            raise ValidationError(f"item weights are only used with rule weighted, not "
                                  f"{data['rule']}", "items")


class _Source(_Strict):
    title = fields.String(required=True)
    url = fields.Url(required=True, schemes={"http", "https"})
    quote = fields.String()
    note = fields.String()


class _Settings(_Strict):
    deadline_days = fields.Integer(load_default=20, validate=validate.Range(1, 365))
    extension_days = fields.Integer(load_default=10, validate=validate.Range(0, 365))
    requests = fields.Integer(load_default=1, validate=validate.Range(1, 50))
    proposals = fields.Integer(load_default=1, validate=validate.Range(1, 50))


class _File(_Strict):
    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    title = fields.String(required=True)
    notice = fields.String(required=True)
    sources = fields.List(fields.Nested(_Source), load_default=list)
    notes = fields.List(fields.String(), load_default=list)
    settings = fields.Nested(_Settings, load_default=dict)
    components = fields.List(fields.Nested(_Component), required=True,
                             validate=validate.Length(min=1))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        keys = [c["key"] for c in data["components"]]
        if len(set(keys)) != len(keys):
            raise ValidationError("component keys repeat", "components")
        totals: dict[str, float] = {}
        for component in data["components"]:
            sub = component["key"].split(".")[0]
            totals[sub] = totals.get(sub, 0.0) + component["weight"]
        for sub, total in totals.items():
            if abs(total - 1) > WEIGHT_TOLERANCE:
                raise ValidationError(f"{sub}: component weights sum to {total:g}, not 1",
                                      "components")


def _flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages as (path, message), e.g. ('components[0].key', '...')."""
    if isinstance(messages, Mapping):
        out = []
        for key, value in messages.items():
            if key == "_schema":
                step = path
            elif isinstance(key, int):
                step = f"{path}[{key}]"
            else:
                step = f"{path}.{key}" if path else str(key)
            out += _flatten(value, step)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, m) for m in messages]
    if isinstance(messages, list):
        return [p for m in messages for p in _flatten(m, path)]
    return [(path, str(messages))]


# --- What the code uses -------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    code: str
    label: str
    value: float


@dataclass(frozen=True)
class Band:
    upto: float | str | None  # a number, "deadline", "extended", or None (the rest)
    score: float


@dataclass(frozen=True)
class Scale:
    """How an item is answered and what each answer scores."""

    type: str
    levels: tuple[Level, ...] = ()
    min: float | None = None
    max: float | None = None
    bands: tuple[Band, ...] = ()
    unanswered: float = 0.0
    unit: str | None = None

    @property
    def dated(self) -> bool:
        """Whether answers carry the request's dates (sent, answered)."""
        return self.type == "business_days"

    def codes(self) -> tuple[str, ...]:
        """The answer codes of a categorical scale (empty for number and business days)."""
        if self.type == "yes_no":
            return (YES, NO)
        if self.type == "ordinal":
            return tuple(level.code for level in self.levels)
        if self.type == "business_days":
            return ("answered", UNANSWERED)
        return ()

    def _band(self, value: float, deadline: Deadline | None) -> float:
        for band in self.bands:
            upto = band.upto
            if upto in ("deadline", "extended"):
                if deadline is None:
                    raise AnswerError("this scale needs the round's deadline", "needs_deadline")
                upto = deadline.days if upto == "deadline" else deadline.extended
            if upto is None or value <= float(upto):
                return band.score
        raise AnswerError(f"{value:g} falls beyond the last band", "beyond_bands",
                          value=f"{value:g}")


@dataclass(frozen=True)
class Item:
    key: str  # full key: <sub-index>.<component>.<item>
    label: str
    scale: Scale
    weight: float | None = None
    not_applicable: bool = False
    question: str | None = None
    evidence: str | None = None
    basis: str | None = None
    note: str | None = None

    @property
    def component(self) -> str:
        return self.key.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Component:
    key: str  # <sub-index>.<component>
    label: str
    weight: float
    channel: str
    rule: str
    items: tuple[Item, ...]
    basis: str = "chosen"
    variable: str | None = None
    note: str | None = None

    @property
    def subindex(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


@dataclass(frozen=True)
class Settings:
    deadline_days: int = 20
    extension_days: int = 10
    requests: int = 1
    proposals: int = 1


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    quote: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Instruments:
    """A validated instrument set: the components in file order, their items and scales."""

    title: str
    notice: str
    components: tuple[Component, ...]
    settings: Settings = field(default_factory=Settings)
    sources: tuple[Source, ...] = ()
    notes: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def items(self) -> dict[str, Item]:
        return {item.key: item for c in self.components for item in c.items}

    def component(self, key: str) -> Component:
        for component in self.components:
            if component.key == key:
                return component
        raise KeyError(key)

    def scheme(self) -> dict[str, dict[str, float]]:
        """The weight scheme the components declare: {sub-index: {component: weight}}."""
        scheme: dict[str, dict[str, float]] = {}
        for component in self.components:
            scheme.setdefault(component.subindex, {})[component.name] = component.weight
        return scheme

    def occasions(self, component: Component) -> int:
        """How many requests or proposals each institution gets for ``component``."""
        if component.channel == "request":
            return self.settings.requests
        if component.channel == "proposal":
            return self.settings.proposals
        return 1


def _build(data: Mapping[str, Any], raw: Mapping[str, Any]) -> Instruments:
    components = []
    for c in data["components"]:
        items = tuple(
            Item(
                key=f"{c['key']}.{i['key']}", label=i["label"],
                scale=Scale(
                    type=i["scale"]["type"],
                    levels=tuple(Level(**lv) for lv in i["scale"].get("levels", ())),
                    min=i["scale"].get("min"), max=i["scale"].get("max"),
                    bands=tuple(Band(b["upto"], b["score"]) for b in i["scale"].get("bands", ())),
                    unanswered=i["scale"].get("unanswered", 0.0), unit=i["scale"].get("unit"),
                ),
                weight=i.get("weight"), not_applicable=i["not_applicable"],
                question=i.get("question"), evidence=i.get("evidence"), basis=i.get("basis"),
                note=i.get("note"),
            )
            for i in c["items"]
        )
        components.append(Component(
            key=c["key"], label=c["label"], weight=c["weight"], channel=c["channel"],
            rule=c["rule"], items=items, basis=c["basis"], variable=c.get("variable"),
            note=c.get("note"),
        ))
    return Instruments(
        title=data["title"], notice=data["notice"], components=tuple(components),
        settings=Settings(**data["settings"]),
        sources=tuple(Source(**s) for s in data["sources"]), notes=tuple(data["notes"]),
        raw=raw,
    )


def parse_instruments(data: Any, source: str = "instruments") -> Instruments:
    """Validate ``data`` (the parsed file) and return the instruments, or raise InstrumentError."""
    if not isinstance(data, Mapping):
        raise InstrumentError(source, [("", "the file must hold a mapping (format, title, ...)")])
    # Keys starting with "x-" hold the file's own helpers (YAML anchors of shared scales).
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        clean = _File().load(data)
    except ValidationError as exc:
        raise InstrumentError(source, _flatten(exc.messages)) from None
    return _build(clean, json.loads(json.dumps(data, default=str)))


def load_instruments(path: Path | str) -> Instruments:
    """Read and validate an instrument file (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(path.name, [("", f"cannot be read ({exc})")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise InstrumentError(path.name, [(where, f"not valid YAML ({problem})")]) from None
    return parse_instruments(data, path.name)


# --- Answers and item scores ----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a coder recorded for one item of one institution (one request or proposal)."""

    value: str | None
    sent_on: date | None = None
    acknowledged_on: date | None = None
    answered_on: date | None = None


def normalise(item: Item, answer: Answer, calendar: Calendar | None = None) -> str | None:
    """The answer as compared between coders: its code, number, or business days taken.

    None when nothing (or not enough) is recorded yet. Raises AnswerError for an answer the
    scale does not accept, and for dates out of order (acknowledged or answered before the
    request was sent), whatever the scale.
    """
    value = (answer.value or "").strip()
    scale = item.scale
    for what, when in (("acknowledged", answer.acknowledged_on), ("answered", answer.answered_on)):
        if answer.sent_on is not None and when is not None and when < answer.sent_on:
            raise AnswerError(f"{item.key}: {what} before it was sent", f"{what}_before_sent",
                              f"{what}_on")
    if value == NOT_APPLICABLE:
        if not item.not_applicable:
            raise AnswerError(f"{item.key}: '{NOT_APPLICABLE}' is not allowed for this item",
                              "na_not_allowed")
        return NOT_APPLICABLE
    if scale.type == "business_days":
        if value == UNANSWERED:
            if answer.sent_on is None:
                raise AnswerError(f"{item.key}: an unanswered request needs its date sent",
                                  "unanswered_needs_sent", "sent_on")
            return UNANSWERED
        if value not in ("", "answered"):
            raise AnswerError(f"{item.key}: answer 'answered' (with dates) or '{UNANSWERED}'",
                              "answered_or_unanswered", value=value)
        if answer.sent_on is None or answer.answered_on is None:
            return None
        return str((calendar or Calendar()).elapsed(answer.sent_on, answer.answered_on))
    if not value:
        return None
    if scale.type == "number":
        try:
            number = float(value)
        except ValueError:
            raise AnswerError(f"{item.key}: {value!r} is not a number", "not_a_number",
                              value=value) from None
        if not math.isfinite(number):
            raise AnswerError(f"{item.key}: {value!r} is not a finite number", "not_a_number",
                              value=value)
        if scale.min is not None and number < scale.min:
            raise AnswerError(f"{item.key}: {value} is below the minimum {scale.min:g}",
                              "below_minimum", value=value, min=f"{scale.min:g}")
        if scale.max is not None and number > scale.max:
            raise AnswerError(f"{item.key}: {value} is above the maximum {scale.max:g}",
                              "above_maximum", value=value, max=f"{scale.max:g}")
        return f"{number:g}"
    if value not in scale.codes():
        allowed = scale.codes() + ((NOT_APPLICABLE,) if item.not_applicable else ())
        raise AnswerError(f"{item.key}: {value!r} is not one of {', '.join(scale.codes())}"
                          + (f" or {NOT_APPLICABLE}" if item.not_applicable else ""),
                          "not_one_of", value=value, allowed=", ".join(allowed))
    return value


def item_score(
    item: Item, normalised: str | None, deadline: Deadline | None = None
) -> float | None:
    """The score in [0, 1] of a normalised answer; None when unknown or not applicable."""
    if normalised is None or normalised == NOT_APPLICABLE:
        return None
    scale = item.scale
    if scale.type == "yes_no":
        return 1.0 if normalised == YES else 0.0
    if scale.type == "ordinal":
        return next(level.value for level in scale.levels if level.code == normalised)
    if scale.type == "business_days" and normalised == UNANSWERED:
        return scale.unanswered
    return scale._band(float(normalised), deadline)


def combine(rule: str, scores: list[tuple[float, float | None]]) -> float | None:
    """A component's score from its applicable items' (score, weight) by ``rule``."""
    if not scores:
        return None
    values = [s for s, _ in scores]
    if rule == "mean":
        return math.fsum(values) / len(values)
    if rule == "max":
        return max(values)
    if rule == "min":
        return min(values)
    total = math.fsum(w or 0.0 for _, w in scores)
    if total <= 0:
        return None
    # Weights of items left out as not applicable are shared out over the others.
    return math.fsum(s * (w or 0.0) for s, w in scores) / total
