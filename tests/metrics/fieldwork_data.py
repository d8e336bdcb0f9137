"""SYNTHETIC fieldwork for the tests: answers chosen to give known component scores.

Nothing here is real: the institutions, coders and answers are made up so that each
component's score, and so every index, is known in advance (worked out by hand below).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd

from metrics.fieldwork import Answer, Instruments, Observation, load_instruments
from metrics.fieldwork.instruments import Settings

TEMPLATE = Path(__file__).resolve().parents[2] / "metrics" / "instruments" / \
    "mga-2017-template.yaml"

# Institution A answers everything at its best; institution B as below (two requests, one
# proposal). Worked by hand:
#   TG.access_info yes,yes,no,no = 0.5; TG.reactive full,full,partial,none,na = 0.625;
#   TG.proactive yes,partial,no = 0.5; TG.open_data yes,open,no,no = 0.5
#   TG = .5*.5 + .2*.625 + .2*.5 + .1*.5 = 0.525
#   TC.available yes|no = 0.5; TC.clear full|partial = 0.75; TC.complete partial|partial = 0.5;
#   TC.speed 3 days (1) | unanswered (0) = 0.5;  TC = (0.5+0.75+0.5+0.5)/4 = 0.5625
#   PG .2*.5 + .1*.5 + .3*1 + .1*.5 + .3*.5 = 0.65
#   PC .2*1 + .3*0 + .3*1 + .2*.5 (12 business days: within the 20-day deadline) = 0.6
#   T = 0.54375, P = 0.625, GA = 0.584375
EXPECTED_B = {
    "TG.access_info": 0.5, "TG.reactive": 0.625, "TG.proactive": 0.5, "TG.open_data": 0.5,
    "TC.available": 0.5, "TC.clear": 0.75, "TC.complete": 0.5, "TC.speed": 0.5,
    "PG.mechanisms": 0.5, "PG.actors": 0.5, "PG.functioning": 1.0, "PG.format": 0.5,
    "PG.follow_up": 0.5, "PC.contact": 1.0, "PC.receipt": 0.0, "PC.activated": 1.0,
    "PC.speed": 0.5,
    "TG": 0.525, "TC": 0.5625, "PG": 0.65, "PC": 0.6, "T": 0.54375, "P": 0.625,
    "GA": 0.584375,
}
INDICES = ("TG", "TC", "PG", "PC", "T", "P", "GA")

# Request 1 of B: sent Friday 30 January 2026, answered Thursday 5 February: 3 business days
# (Monday 2 February is Constitution Day). The proposal: sent Tuesday 10 March 2026, answered
# Friday 27 March: 12 business days (Monday 16 March is Benito Juárez's birthday).
SENT_1, ANSWERED_1 = date(2026, 1, 30), date(2026, 2, 5)
SENT_2 = date(2026, 2, 9)
PROPOSAL_SENT, PROPOSAL_ANSWERED = date(2026, 3, 10), date(2026, 3, 27)

B_ANSWERS: dict[tuple[str, int], Answer] = {
    ("TG.access_info.unit", 1): Answer("yes"),
    ("TG.access_info.platform", 1): Answer("yes"),
    ("TG.access_info.other_channels", 1): Answer("no"),
    ("TG.access_info.committee", 1): Answer("no"),
    ("TG.reactive.structure", 1): Answer("full"),
    ("TG.reactive.directory", 1): Answer("full"),
    ("TG.reactive.pay", 1): Answer("partial"),
    ("TG.reactive.budget", 1): Answer("none"),
    ("TG.reactive.contracts", 1): Answer("na"),
    ("TG.proactive.beyond", 1): Answer("yes"),
    ("TG.proactive.plain", 1): Answer("partial"),
    ("TG.proactive.findable", 1): Answer("no"),
    ("TG.open_data.datasets", 1): Answer("yes"),
    ("TG.open_data.format", 1): Answer("open"),
    ("TG.open_data.licence", 1): Answer("no"),
    ("TG.open_data.metadata", 1): Answer("no"),
    ("TC.available.delivered", 1): Answer("yes"),
    ("TC.available.delivered", 2): Answer("no"),
    ("TC.clear.clear", 1): Answer("full"),
    ("TC.clear.clear", 2): Answer("partial"),
    ("TC.complete.complete", 1): Answer("partial"),
    ("TC.complete.complete", 2): Answer("partial"),
    ("TC.speed.days", 1): Answer("answered", sent_on=SENT_1, answered_on=ANSWERED_1),
    ("TC.speed.days", 2): Answer("unanswered", sent_on=SENT_2),
    ("PG.mechanisms.exists", 1): Answer("yes"),
    ("PG.mechanisms.rules", 1): Answer("no"),
    ("PG.actors.who", 1): Answer("invited"),
    ("PG.functioning.evidence", 1): Answer("yes"),
    ("PG.format.format", 1): Answer("consult"),
    ("PG.follow_up.published", 1): Answer("yes"),
    ("PG.follow_up.reported", 1): Answer("no"),
    ("PC.contact.channel", 1): Answer("yes"),
    ("PC.receipt.acknowledged", 1): Answer("no"),
    ("PC.activated.activated", 1): Answer("yes"),
    ("PC.speed.days", 1): Answer("answered", sent_on=PROPOSAL_SENT,
                                 answered_on=PROPOSAL_ANSWERED),
}


def instruments(requests: int = 2, proposals: int = 1) -> Instruments:
    """The shipped template with the synthetic round's settings (two requests, one proposal)."""
    template = load_instruments(TEMPLATE)
    return replace(template, settings=Settings(20, 10, requests, proposals))


def best_answers(inst: Instruments) -> dict[tuple[str, int], Answer]:
    """Answers that score 1 on every item (institution A)."""
    answers = {}
    for component in inst.components:
        for occasion in range(1, inst.occasions(component) + 1):
            for item in component.items:
                scale = item.scale
                if scale.type == "yes_no":
                    answer = Answer("yes")
                elif scale.type == "ordinal":
                    best = max(scale.levels, key=lambda level: level.value)
                    answer = Answer(best.code)
                else:  # answered the next business day
                    answer = Answer("answered", sent_on=date(2026, 4, 6),
                                    answered_on=date(2026, 4, 7))
                answers[(item.key, occasion)] = answer
    return answers


def institutions() -> pd.DataFrame:
    return pd.DataFrame([
        {"key": "state:01:synthetic-a", "name": "SYNTHETIC institution A", "level": "state",
         "kind": "legislative", "state": "01"},
        {"key": "municipal:22:synthetic-b", "name": "SYNTHETIC institution B",
         "level": "municipal", "kind": "municipality", "state": "22"},
    ])


def observations(inst: Instruments, coder: str = "coder-1") -> list[Observation]:
    """Single-coded observations of A (best answers) and B (B_ANSWERS)."""
    keys = list(institutions()["key"])
    rows = [Observation(keys[0], item, coder, answer, occasion)
            for (item, occasion), answer in best_answers(inst).items()]
    rows += [Observation(keys[1], item, coder, answer, occasion)
             for (item, occasion), answer in B_ANSWERS.items()]
    return rows
