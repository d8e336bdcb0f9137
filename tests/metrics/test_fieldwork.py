"""Fieldwork rounds computed from raw observations (pure: no Flask, no database).

Every round here is SYNTHETIC (tests/metrics/fieldwork_data.py): made-up answers whose
component scores were worked out by hand.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.fieldwork import (
    Answer,
    AnswerError,
    Calendar,
    Deadline,
    FieldworkDataError,
    InstrumentError,
    NotFinal,
    Observation,
    Reconciliation,
    agreement_alpha,
    compute_fieldwork,
    load_instruments,
    parse_instruments,
)
from metrics.fieldwork.files import parse_fieldwork
from metrics.fieldwork.instruments import item_score, normalise

from .fieldwork_data import (
    B_ANSWERS,
    EXPECTED_B,
    INDICES,
    TEMPLATE,
    best_answers,
    institutions,
    instruments,
    observations,
)

ROOT = Path(__file__).resolve().parents[2]

# --- Business days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days", "why"),
    [
        (date(2026, 1, 30), date(2026, 2, 5), 3, "Constitution Day, Monday 2 February 2026"),
        (date(2026, 3, 13), date(2026, 3, 17), 1, "Benito Juárez, Monday 16 March 2026"),
        (date(2025, 4, 30), date(2025, 5, 2), 1, "Labour Day, Thursday 1 May 2025"),
        (date(2025, 9, 15), date(2025, 9, 17), 1, "Independence Day, Tuesday 16 September"),
        (date(2025, 11, 14), date(2025, 11, 18), 1, "Revolution Day, Monday 17 November 2025"),
        (date(2025, 12, 24), date(2025, 12, 29), 2, "Christmas Day, Thursday 25 December"),
        (date(2025, 12, 31), date(2026, 1, 2), 1, "New Year's Day"),
        (date(2024, 9, 30), date(2024, 10, 1), 0, "change of federal government, 1 Oct 2024"),
        (date(2026, 4, 10), date(2026, 4, 13), 1, "a weekend: Friday to Monday"),
        (date(2026, 4, 11), date(2026, 4, 12), 0, "Saturday to Sunday"),
        (date(2026, 4, 13), date(2026, 4, 13), 0, "the same day"),
        (date(2026, 4, 14), date(2026, 4, 13), 0, "an end before the start"),
    ],
)
def test_business_days_skip_weekends_and_mexican_holidays(start, end, days, why):
    assert Calendar().elapsed(start, end) == days, why


def test_monday_moved_holidays_fall_on_their_monday_not_the_old_date():
    calendar = Calendar()
    # First Monday of February, third Monday of March, third Monday of November (2026).
    for holiday, former in ((date(2026, 2, 2), date(2026, 2, 5)),
                            (date(2026, 3, 16), date(2026, 3, 20)),
                            (date(2026, 11, 16), date(2026, 11, 20))):
        assert not calendar.is_business_day(holiday)
        assert calendar.is_business_day(former)
    assert calendar.holiday_name(date(2026, 2, 2)) is not None


def test_twenty_business_days_across_labour_day_and_the_extension():
    calendar, deadline = Calendar(), Deadline(20, 10)
    sent = date(2025, 4, 28)  # a Monday; 1 May is a holiday
    assert deadline.due(calendar, sent) == date(2025, 5, 27)
    assert calendar.elapsed(sent, date(2025, 5, 27)) == 20
    assert deadline.due(calendar, sent, extended=True) == date(2025, 6, 10)
    assert deadline.overdue(calendar, sent, date(2025, 5, 28))
    assert not deadline.overdue(calendar, sent, date(2025, 5, 27))


def test_days_a_round_declares_closed_do_not_count():
    holy_week = [date(2026, 4, 2), date(2026, 4, 3)]
    assert Calendar().elapsed(date(2026, 4, 1), date(2026, 4, 6)) == 3
    assert Calendar.of(holy_week).elapsed(date(2026, 4, 1), date(2026, 4, 6)) == 1


def test_a_deadline_needs_sensible_days():
    with pytest.raises(ValueError):
        Deadline(0, 10)
    with pytest.raises(ValueError):
        Deadline(20, -1)


# --- Instruments --------------------------------------------------------------------------


def test_the_template_follows_the_published_2017_components_and_weights():
    template = load_instruments(TEMPLATE)
    with (ROOT / "seeds" / "data" / "metric_weights.csv").open(encoding="utf-8") as handle:
        published: dict[str, dict[str, float]] = {}
        for row in csv.DictReader(handle):
            published.setdefault(row["subindex"], {})[row["component"]] = float(row["weight"])
    assert template.scheme() == published
    assert "No es el cuestionario del INAI" in template.notice
    assert all(c.basis == "published" for c in template.components)
    assert {s.url for s in template.sources} >= {
        "https://es.scribd.com/document/399959796/"
        "Metrica-de-Gobierno-Abierto-Reporte-de-Resultados-2017",
        "http://gestionjudicial.com.ar/index.php/home-page/lista-completa/item/2-apertura/"
        "231-metrica-de-gobierno-abierto",
    }
    assert (template.settings.deadline_days, template.settings.extension_days) == (20, 10)


def _minimal() -> dict:
    return {
        "format": "mga-instruments/1", "title": "t", "notice": "n",
        "components": [{
            "key": "TG.access_info", "label": "AI", "weight": 1, "channel": "review",
            "rule": "mean", "items": [{"key": "q", "label": "Q", "scale": {"type": "yes_no"}}],
        }],
    }


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d["components"][0].update(key="XX.access_info"), "components[0].key",
         "sub-index"),
        (lambda d: d["components"][0].update(weight=0.5), "components", "sum to 0.5"),
        (lambda d: d["components"][0]["items"][0]["scale"].update(type="stars"),
         "components[0].items[0].scale.type", "Must be one of"),
        (lambda d: d["components"][0]["items"][0].update(
            scale={"type": "ordinal", "levels": [{"code": "a", "label": "A", "value": 2}]}),
         "components[0].items[0].scale.levels[0].value", ""),
        (lambda d: d["components"][0]["items"][0].update(
            scale={"type": "number", "bands": [{"upto": 5, "score": 1}, {"upto": 3, "score": 0}]}),
         "components[0].items[0].scale.bands", "must increase"),
        (lambda d: d["components"][0].update(rule="weighted"), "components[0].items",
         "needs a weight"),
        (lambda d: d.update(surprise=1), "surprise", "Unknown field"),
        (lambda d: d.pop("notice"), "notice", "required"),
    ],
)
def test_a_bad_instrument_file_is_refused_naming_the_file_and_the_path(
    tmp_path, change, path, message
):
    data = _minimal()
    change(data)
    target = tmp_path / "round.yaml"
    target.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_instruments(target)
    assert str(caught.value).startswith("round.yaml: ")
    assert any(p == path and message in m for p, m in caught.value.problems), \
        caught.value.problems


def test_unreadable_yaml_names_the_line(tmp_path):
    target = tmp_path / "broken.yaml"
    target.write_text("format: x\ncomponents: [\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"broken.yaml: line \d+"):
        load_instruments(target)


def test_number_scales_score_by_bands_and_refuse_what_they_do_not_accept():
    data = _minimal()
    data["components"][0]["items"][0]["scale"] = {
        "type": "number", "min": 0, "max": 100,
        "bands": [{"upto": 10, "score": 1}, {"upto": 50, "score": 0.5}, {"score": 0}],
    }
    item = next(iter(parse_instruments(data).items.values()))
    assert [item_score(item, normalise(item, Answer(v))) for v in ("3", "10", "11", "90")] == \
        [1, 1, 0.5, 0]
    assert normalise(item, Answer("")) is None
    for bad in ("abc", "-1", "101", "nan", "na"):
        with pytest.raises(ValueError):
            normalise(item, Answer(bad))


# --- Computing a SYNTHETIC round ---------------------------------------------------------


def test_synthetic_fieldwork_gives_the_hand_computed_indices_exactly():
    inst = instruments()
    result = compute_fieldwork(inst, institutions(), observations(inst), final=True)
    a, b = result.frame.iloc[0], result.frame.iloc[1]
    for column in (*result.components, *INDICES):
        assert a[column] == pytest.approx(1.0, abs=1e-12), column
        assert b[column] == pytest.approx(EXPECTED_B[column], abs=1e-12), column
    assert result.complete and not result.disagreements and not result.missing


def test_speed_bands_follow_the_round_deadline_not_a_constant():
    inst = instruments()
    # The proposal took 12 business days: within a 20-day deadline (0.5), within the
    # extension of a 10 + 5 day one (0.25), beyond a 10 + 1 day one (0).
    for deadline, score in ((Deadline(10, 5), 0.25), (Deadline(10, 1), 0.0)):
        short = compute_fieldwork(inst, institutions(), observations(inst), deadline=deadline)
        assert short.frame.iloc[1]["PC.speed"] == score
    # Declaring the days between closed makes the answer faster.
    closed = Calendar.of([date(2026, 3, d) for d in (17, 18, 19, 20, 23, 24, 25)])
    faster = compute_fieldwork(inst, institutions(), observations(inst), calendar=closed)
    assert faster.frame.iloc[1]["PC.speed"] == 1.0


def test_a_missing_answer_leaves_its_component_and_what_depends_on_it_unknown():
    inst = instruments()
    rows = [o for o in observations(inst)
            if not (o.institution.endswith("-b") and o.item == "PG.actors.who")]
    result = compute_fieldwork(inst, institutions(), rows)
    b = result.frame.iloc[1]
    assert pd.isna(b["PG.actors"]) and pd.isna(b["PG"]) and pd.isna(b["P"]) and pd.isna(b["GA"])
    assert b["TG"] == pytest.approx(0.525) and b["PC"] == pytest.approx(0.6)
    assert result.missing == [("municipal:22:synthetic-b", "PG.actors.who", 1)]
    with pytest.raises(NotFinal, match="1 items without an answer"):
        compute_fieldwork(inst, institutions(), rows, final=True)


def _double(inst, changed: dict[tuple[str, int], Answer]) -> list[Observation]:
    """B coded twice: coder-2 agrees with coder-1 except on ``changed``."""
    key = "municipal:22:synthetic-b"
    rows = observations(inst)
    rows += [Observation(key, item, "coder-2", changed.get((item, occ), answer), occ)
             for (item, occ), answer in B_ANSWERS.items()]
    return rows


def test_double_coding_lists_disagreements_and_a_reviewer_settles_them():
    inst = instruments()
    key = "municipal:22:synthetic-b"
    rows = _double(inst, {("PG.actors.who", 1): Answer("open"),
                          ("TC.clear.clear", 2): Answer("none")})
    expected = {key: 2}
    result = compute_fieldwork(inst, institutions(), rows, expected_coders=expected)
    assert [(d.item, d.occasion, d.answers) for d in result.open_disagreements] == [
        ("TC.clear.clear", 2, {"coder-1": "partial", "coder-2": "none"}),
        ("PG.actors.who", 1, {"coder-1": "invited", "coder-2": "open"}),
    ]
    assert pd.isna(result.frame.iloc[1]["PG.actors"])  # disputed: not computed
    with pytest.raises(NotFinal, match="2 items in dispute"):
        compute_fieldwork(inst, institutions(), rows, expected_coders=expected, final=True)
    settled = [
        Reconciliation(key, "PG.actors.who", Answer("invited"), "reviewer-1", "acta de 2026"),
        Reconciliation(key, "TC.clear.clear", Answer("partial"), "reviewer-1", "releída", 2),
    ]
    final = compute_fieldwork(inst, institutions(), rows, settled, expected_coders=expected,
                              final=True)
    assert all(d.reconciled for d in final.disagreements)
    for column in INDICES:
        assert final.frame.iloc[1][column] == pytest.approx(EXPECTED_B[column], abs=1e-12)
    by_component = {a.component: a for a in final.agreement}
    assert by_component["PG.actors"].units == 1 and by_component["PG.actors"].agreed == 0
    assert by_component["TG.access_info"].units == 4
    assert by_component["TG.access_info"].share == 1.0


def test_an_item_a_second_coder_has_not_answered_is_still_missing():
    inst = instruments()
    key = "municipal:22:synthetic-b"
    rows = [o for o in _double(inst, {})
            if not (o.coder == "coder-2" and o.item == "PC.speed.days")]
    result = compute_fieldwork(inst, institutions(), rows, expected_coders={key: 2})
    assert result.missing == [(key, "PC.speed.days", 1)]


def test_krippendorff_alpha_matches_a_hand_computed_example():
    # Two coders, ten units, binary answers; they differ on units 4 and 6.
    coder_1 = [1, 1, 0, 0, 1, 1, 0, 1, 1, 0]
    coder_2 = [1, 1, 0, 1, 1, 0, 0, 1, 1, 0]
    # Coincidences: o11 = 10, o00 = 6, o01 = o10 = 2; n1 = 12, n0 = 8, n = 20.
    # Do = 4/20 = 0.2; De = 2*8*12 / (20*19) = 192/380; alpha = 1 - Do/De = 29/48.
    assert agreement_alpha([coder_1, coder_2]) == pytest.approx(29 / 48, abs=1e-12)
    assert agreement_alpha([[1, 1, 1], [1, 1, 1]]) is None  # no variation: undefined
    assert agreement_alpha([[1, None], [None, 0]]) is None  # nothing coded twice
    assert agreement_alpha([coder_1, coder_1]) == 1.0


def test_bad_observations_are_refused_naming_the_observation():
    inst = instruments()
    key = "state:01:synthetic-a"
    cases = [
        (Observation(key, "TG.access_info.nope", "c", Answer("yes")), "not in the instruments"),
        (Observation(key, "TG.access_info.unit", "c", Answer("maybe")), "'maybe' is not one of"),
        (Observation(key, "TC.clear.clear", "c", Answer("full"), 3), "occasion 3 outside 1..2"),
        (Observation("other", "TG.access_info.unit", "c", Answer("yes")), "is not sampled"),
        (Observation(key, "TC.speed.days", "c", Answer("answered", date(2026, 2, 2),
                                                       answered_on=date(2026, 1, 2))),
         "answered before it was sent"),
    ]
    for observation, message in cases:
        with pytest.raises(FieldworkDataError, match=message) as caught:
            compute_fieldwork(inst, institutions(), [observation])
        assert "observation 1 (coder c)" in str(caught.value)


def test_the_scheme_must_name_the_instruments_components():
    inst = instruments()
    scheme = inst.scheme()
    scheme["TG"] = {"access_info": 0.5, "reactive": 0.5}
    with pytest.raises(FieldworkDataError, match="only in the instruments"):
        compute_fieldwork(inst, institutions(), observations(inst), scheme=scheme)


def test_a_fieldwork_file_computes_the_same_as_the_objects(tmp_path):
    inst = instruments()
    data = {
        "format": "mga-fieldwork/1",
        "round": {"year": 2026, "label": "SYNTHETIC", "deadline_days": 20, "extension_days": 10,
                  "requests": 2, "proposals": 1, "closed_days": {"2026-04-02": "Semana Santa"}},
        "scheme": inst.scheme(),
        "instruments": dict(inst.raw),
        "institutions": institutions().to_dict("records"),
        "observations": [
            {"institution": o.institution, "item": o.item, "occasion": o.occasion,
             "coder": o.coder, "answer": o.answer.value,
             "sent_on": o.answer.sent_on and o.answer.sent_on.isoformat(),
             "answered_on": o.answer.answered_on and o.answer.answered_on.isoformat()}
            for o in observations(inst)
        ],
    }
    result = parse_fieldwork(data, "round.json").compute(final=True)
    for column in INDICES:
        assert result.frame.iloc[1][column] == pytest.approx(EXPECTED_B[column], abs=1e-12)
    data["observations"][0]["sent_on"] = "yesterday"
    data["observations"][0]["item"] = "TC.speed.days"
    with pytest.raises(FieldworkDataError, match=r"round.json: observations\[0\], sent_on"):
        parse_fieldwork(data, "round.json")


# --- Property: one answer moves only its component and the indices above it -------------

ABOVE = {"TG": ("T", "GAg"), "TC": ("T", "GAc"), "PG": ("P", "GAg"), "PC": ("P", "GAc")}


def _answers_for(item, draw):  # type: ignore[no-untyped-def]
    scale = item.scale
    if scale.type == "yes_no":
        choices = ["yes", "no"]
    elif scale.type == "ordinal":
        choices = [level.code for level in scale.levels]
    else:
        offset = draw(st.integers(min_value=0, max_value=45))
        if offset == 45:
            return Answer("unanswered", sent_on=date(2026, 5, 4))
        return Answer("answered", sent_on=date(2026, 5, 4),
                      answered_on=date.fromordinal(date(2026, 5, 4).toordinal() + offset))
    if item.not_applicable:
        choices.append("na")
    return Answer(draw(st.sampled_from(choices)))


@st.composite
def _round_and_change(draw):  # type: ignore[no-untyped-def]
    inst = instruments(requests=1)
    rows = {}
    for (item_key, occasion) in best_answers(inst):
        rows[(item_key, occasion)] = _answers_for(inst.items[item_key], draw)
    target = draw(st.sampled_from(sorted(rows)))
    new = _answers_for(inst.items[target[0]], draw)
    return inst, rows, target, new


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_round_and_change())
def test_changing_one_answer_moves_only_its_component_and_the_indices_above_it(case):
    inst, rows, target, new = case
    key = "state:01:synthetic-a"
    frame = institutions().iloc[:1]

    def run(answers):  # type: ignore[no-untyped-def]
        obs = [Observation(key, item, "c", answer, occ) for (item, occ), answer in answers.items()]
        return compute_fieldwork(inst, frame, obs).frame.iloc[0]

    before, after = run(rows), run({**rows, target: new})
    component = inst.items[target[0]].component
    sub = component.split(".")[0]
    may_move = {component, sub, *ABOVE[sub], "GA"}
    for column in (*(c.key for c in inst.components), *INDICES, "GAg", "GAc"):
        if column not in may_move:
            assert after[column] == before[column], column
    item = inst.items[target[0]]
    score_before = item_score(item, normalise(item, rows[target]), Deadline(20, 10))
    score_after = item_score(item, normalise(item, new), Deadline(20, 10))
    if None not in (score_before, score_after) and score_before != score_after:
        assert after[component] != before[component]
        # Everything above moves the same way (the weights are positive).
        for column in (sub, *ABOVE[sub], "GA"):
            assert (after[column] > before[column]) == (score_after > score_before), column


def test_reconciliations_without_an_answer_are_refused():
    inst = instruments()
    bad = [Reconciliation("state:01:synthetic-a", "TG.access_info.unit", Answer(""), "r", "x")]
    with pytest.raises(FieldworkDataError, match="needs an answer"):
        compute_fieldwork(inst, institutions(), observations(inst), bad)


def test_instruments_keep_their_raw_data_for_the_round():
    inst = load_instruments(TEMPLATE)
    again = parse_instruments(dict(inst.raw))
    assert again.scheme() == inst.scheme() and again == replace(inst, raw={})


def test_a_refused_answer_names_its_problem_so_an_interface_can_say_it_in_any_language():
    inst = instruments()
    items = inst.items
    cases = [
        (items["TG.access_info.unit"], Answer("maybe"), "not_one_of", "answer",
         {"value": "maybe", "allowed": "yes, no"}),
        (items["TG.access_info.unit"], Answer("na"), "na_not_allowed", "answer", {}),
        (items["TG.reactive.contracts"], Answer("perhaps"), "not_one_of", "answer",
         {"value": "perhaps", "allowed": "none, partial, full, na"}),
        (items["TC.speed.days"], Answer("unanswered"), "unanswered_needs_sent", "sent_on", {}),
        (items["TC.speed.days"], Answer("late"), "answered_or_unanswered", "answer",
         {"value": "late"}),
        # Dates out of order are refused whatever the item's scale.
        (items["TC.available.delivered"], Answer("yes", date(2026, 2, 9), date(2026, 2, 6)),
         "acknowledged_before_sent", "acknowledged_on", {}),
        (items["TC.available.delivered"], Answer("yes", date(2026, 2, 9),
                                                 answered_on=date(2026, 2, 6)),
         "answered_before_sent", "answered_on", {}),
    ]
    for item, answer, code, field, params in cases:
        with pytest.raises(AnswerError) as caught:
            normalise(item, answer)
        assert (caught.value.code, caught.value.field, caught.value.params) == (
            code, field, params), item.key
    # In order, or with dates on one side only, they pass.
    assert normalise(items["TC.available.delivered"],
                     Answer("yes", date(2026, 2, 9), date(2026, 2, 9))) == "yes"
