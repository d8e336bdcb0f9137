"""The hostile run of tests/app/test_hostile_signed_in.py on every fieldwork route, signed in as
an account with every role of a SYNTHETIC round: bad and huge path values, every method, hostile
query strings and forms (numbers such as NaN and 1e400, long and control text, invalid UTF-8,
junk files). Nothing may answer 5xx. The routes come from the URL map, so a new one is attacked
too.
"""

from __future__ import annotations

from collections import Counter

from flask import Flask
from werkzeug.routing import Rule

from app.extensions import db
from app.metric.fieldwork import service
from metrics.fieldwork import Answer
from tests.app import metric_fixtures
from tests.app.fieldwork_fixtures import A_KEY, B_KEY, YEAR, enter, fw, institution, user
from tests.app.test_fieldwork_pages import bare_round, signed_in
from tests.app.test_hostile_signed_in import (
    CONTROLS,
    NUMBERS,
    QUERIES,
    TEXTS,
    _paths,
    _send,
)
from tests.metrics.fieldwork_data import B_ANSWERS

metric_seeded = metric_fixtures.metric_seeded
__all__ = ["bare_round"]  # the fixture, used by name

UNIT = "TG-access_info-unit-1"
NAMES = ["base", "csrf_token", f"{UNIT}__answer", f"{UNIT}__evidence_url",
         "TC-speed-days-1__sent_on", "TC-speed-days-1__answered_on", "TC-speed-days-1__answer",
         f"keep__{UNIT}__answer", "email", "role", "listed", "count", "state", "level", "kind",
         "coders", "double_share", "freeze-confirm", "publish-confirm", "answer", "reason",
         "version", "sent_on", "answered_on", "keep_answer"]


def _forms() -> list[tuple[str, dict | bytes, str | None]]:
    values = NUMBERS + TEXTS
    forms: list[tuple[str, dict | bytes, str | None]] = [
        (f"values+{shift}", {n: values[(i + shift) % len(values)] for i, n in enumerate(NAMES)},
         None) for shift in range(0, len(values), 5)]
    forms += [(f"all {number}", dict.fromkeys(NAMES, number), None) for number in NUMBERS]
    forms.append(("controls", {n: CONTROLS[i % len(CONTROLS)] for i, n in enumerate(NAMES)},
                  None))
    forms.append(("repeated", {"coders": ["1", "x", "NaN"], "role": ["coder", "admin"],
                               f"{UNIT}__answer": ["yes", "no"]}, None))
    forms.append(("invalid utf-8", b"email=%FF%FE&reason=\xff\xfe&listed=\xc0\xaf",
                  "application/x-www-form-urlencoded"))
    return forms


def test_no_hostile_request_to_a_fieldwork_route_is_a_server_error(bare_round: Flask):
    app = bare_round
    with app.app_context():
        s, round_, coord = db.session, fw(), user("coord")
        for who, role in (("coord", "coder"), ("coord", "reviewer"), ("coder1", "coder")):
            service.add_member(s, coord, round_, user(who), role)
        service.draw_sample(s, coord, round_, listed=[A_KEY, B_KEY])
        service.assign_coders(s, coord, round_, [coord, user("coder1")], double_share=1)
        s.commit()
        enter("coord", B_KEY, B_ANSWERS)
        enter("coder1", B_KEY, {**B_ANSWERS, ("PG.actors.who", 1): Answer("open")})
        s.commit()
        good = {"year": [str(YEAR)], "institution_id": [str(institution(B_KEY).id)],
                "item": ["PG.actors.who"], "occasion": ["1"]}
    client = signed_in(app, "coord")
    forms = _forms()
    answers: Counter[int] = Counter()
    failures = []
    rules: list[Rule] = sorted((r for r in app.url_map.iter_rules()
                                if r.rule.startswith("/fieldwork/")), key=lambda r: r.rule)
    assert len(rules) >= 12
    for rule in rules:
        for path, hostile in dict.fromkeys(_paths(rule, good)):
            requests: list[tuple[str, str, dict | bytes | None, str | None]] = []
            if hostile:
                requests.append(("get", path, None, None))
                requests += [("post", path, data, kind) for _label, data, kind in forms[::9]]
            else:
                requests += [(m, path, None, None)
                             for m in ("get", "head", "options", "put", "delete", "patch")]
                requests += [("get", path + query, None, None) for query in QUERIES[::2]]
                # Every third form: each kind of hostile value still reaches every route.
                requests += [("post", path, data, kind) for _label, data, kind in forms[::3]]
            for method, target, data, kind in requests:
                status = _send(client, method, target, data, kind)
                answers[status] += 1
                if status >= 500:
                    failures.append((method, target[:120], status))
    assert not failures, failures[:10]
    assert answers[200] and answers[404] and answers[405]  # the run reached real pages
