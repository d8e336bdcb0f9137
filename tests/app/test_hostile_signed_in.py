"""The outside tester's hostile run, repeated signed in (issue 19): every edit, account and admin
route, as the Durango editor and as an admin, with bad and huge arguments, NUL and invalid
UTF-8, traversal, method confusion, huge numbers, NaN and control characters in paths, query
strings, forms and uploads. Nothing may answer 5xx.

The routes come from the app's URL map, so a new signed-in route is attacked too. Each path
argument is replaced in turn by hostile values (the others keep a real value), and each path
gets every method, hostile query strings and hostile forms (urlencoded, raw invalid UTF-8 and
multipart with junk files).
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from app.accounts import forms as account_forms
from app.accounts.service import find_user
from app.edit import forms as edit_forms
from app.extensions import db
from app.models import ActionPlan, AuditEvent, Commitment, Evidence, LocalExercise, Milestone, User
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, VERACRUZ, add_milestone, commitment_of

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

PREFIXES = ("/edit/", "/admin/", "/account", "/milestones/", "/login",
            "/commitments/<int:commitment_id>/milestones")
HUGE = "99999999999999999999"
BAD_INTS = ["0", "-1", "2147483647", "2147483648", HUGE, "9" * 400, "%C2%B2", "%00", "1.5",
            "1e3", "NaN", "%EF%BC%91", "%D9%A1"]
BAD_TEXT = ["nonsense", "%00", "a%00b", "%1B%5B31m", "%FF%FE", "%C0%AF", "..%2F..%2Fetc%2Fpasswd",
            "..", ".", "%2e%2e", "%C2%B2", HUGE, "2147483648", "NaN", "a" * 3000,
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "'%3B--", "%E2%80%AE", "%F0%9F%92%A9"]
QUERIES = ["?sheet=%00", "?sheet=..%2F..%2Fetc%2Fpasswd", "?format=xlsx&page=" + HUGE,
           "?next=//evil.example&lang=xx", "?version=NaN&id=" + HUGE, "?%FF=%FE",
           "?sheet=plans&sheet=milestones", "?q=" + "a" * 2000, "?_method=DELETE"]
NUMBERS = ["NaN", "sNaN", "-sNaN", "Infinity", "-Infinity", "1e400", "-1e400", HUGE,
           "-" + HUGE, "2147483648", "²", "١٢", "１２", "0x10", "1_000", "", " ", "-0"]
TEXTS = ["<script>alert(1)</script>", "../../../../etc/passwd", "'; DROP TABLE state; --",
         "x" * 20_000, "%00", "\u202e", "javascript:alert(1)", "//evil.example", "\r\n\r\n",
         "💩" * 500]
CONTROLS = ["\x00", "\x01", "\x1b", "\x7f"]


def _field_names() -> list[str]:
    """Every field name of every form an editor or admin posts."""
    names = {"csrf_token", "active", "_method", "id", "version"}
    for module in (edit_forms, account_forms):
        for value in vars(module).values():
            if isinstance(value, type):
                names.update(n for n in dir(value)
                             if isinstance(getattr(value, n, None), UnboundField))
    return sorted(names)


def _forms() -> Iterator[tuple[str, dict | bytes, str | None]]:
    """(label, data, content type): hostile forms, none carrying a real password."""
    names = _field_names()
    values = NUMBERS + TEXTS
    for shift in range(0, len(values), 7):
        yield f"values+{shift}", {n: values[(i + shift) % len(values)]
                                  for i, n in enumerate(names)}, None
    for number in NUMBERS:  # every field the same number (weight=sNaN, year=1e400...)
        yield f"all {number}", dict.fromkeys(names, number), None
    yield "controls", {n: CONTROLS[i % len(CONTROLS)] for i, n in enumerate(names)}, None
    yield "repeated", {"status": ["complete", "verified", "x"], "weight": ["1", "NaN"]}, None
    yield "invalid utf-8", b"title=%FF%FE&status=\xff\xfe&weight=\xc0\xaf&source_url=\x80", \
        "application/x-www-form-urlencoded"
    yield "json body", b'{"title": "x", "weight": NaN}', "application/json"
    yield "junk multipart", {"file": (io.BytesIO(b"PK\x03\x04\x00\x00junk"), "x.xlsx"),
                             "year": HUGE, "fmt": "../../etc", "source_url": "x"}, \
        "multipart/form-data"
    yield "huge-number workbook", {"file": (io.BytesIO(_huge_workbook()), "records.xlsx"),
                                   "source_url": "https://example.org/x"}, \
        "multipart/form-data"
    yield "nul filename", {"file": (io.BytesIO(b"id,version\n"), "a\x00b.csv")}, \
        "multipart/form-data"


def _huge_workbook() -> bytes:
    book = Workbook()
    for n, (sheet, header) in enumerate((
            ("plans", ["id", "version", "state_cve", "title", "period_start", "period_end",
                       "published_date", "commitments_published", "proactive_published",
                       "notes"]),
            ("milestones", ["id", "version", "commitment_id", "number", "title", "weight",
                            "start_date", "due_date", "status", "progress",
                            "completed_on"]))):
        ws = book.active if n == 0 else book.create_sheet()
        ws.title = sheet
        ws.append(header)
        ws.append([10**20, 10**20, "10", "T", 10**20, -(10**20), 10**20, 10**20, 1e308,
                   float("nan"), float("inf")][:len(header)])
        ws.append([None, None, 10**20, 10**20, "T", "sNaN", 10**20, "9999-99-99", "complete",
                   float("inf"), -1][:len(header)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _good_values(app: Flask) -> dict[str, list[str]]:
    """Real values of each path argument, so the hostile one is the only thing wrong (a
    Durango milestone with its evidence is added first: the seeds have none)."""
    with app.app_context():
        s = db.session
        c = commitment_of(DURANGO)
        admin = find_user(s, "admin@example.org")
        add_milestone(s, admin, s.get(Commitment, c), {
            "title": "Hito", "status": "in_progress", "progress": 0.5},
            source="https://example.org/acta", evidence={
                "url": "https://example.org/acta", "title": "Acta", "dated": None,
                "proves": None})
        s.commit()
        plan = s.scalars(select(ActionPlan.id).where(ActionPlan.state_cve == DURANGO)).first()
        exercise = s.scalars(select(LocalExercise.id)
                             .where(LocalExercise.state_cve == DURANGO)).first()
        milestone = s.scalars(select(Milestone.id)).first()
        event = s.scalars(select(AuditEvent.id)).first()
        evidence = s.scalars(select(Evidence.id)).first()
        other = s.scalars(select(User.id).where(User.email == "veracruz@example.org")).one()
    return {
        "commitment_id": [str(c)], "milestone_id": [str(milestone)], "event_id": [str(event)],
        "user_id": [str(other)], "obj_id": [str(plan), str(evidence)],
        "cve_ent": [DURANGO, VERACRUZ],
        "kind": ["plan", "commitment", "member", "evidence", "exercise"],
        "parent_key": [DURANGO, str(plan), str(exercise), str(c)],
        "table": ["action_plan", "commitment", "milestone", "app_user"],
        "fmt": ["xlsx", "csv"], "token": ["x"],
    }


def _paths(rule: Rule, good: dict[str, list[str]]) -> Iterator[tuple[str, bool]]:
    """(path, hostile): the rule with every combination of real values, then with each
    argument in turn replaced by each hostile value, beside every real value of the others."""
    converters = rule._converters

    def build(values: dict[str, str]) -> str:
        path = rule.rule
        for name, converter in converters.items():
            kind = {"IdConverter": "int", "StateCodeConverter": "cve"}.get(
                type(converter).__name__)
            path = path.replace(f"<{kind}:{name}>" if kind else f"<{name}>", values[name])
        return path

    names = list(converters)
    for values in itertools.product(*(good[n] for n in names)):
        yield build(dict(zip(names, values, strict=True))), False
    for name, converter in converters.items():
        hostile = BAD_INTS if type(converter).__name__ == "IdConverter" else BAD_TEXT
        others = [n for n in names if n != name]
        for values in itertools.product(*(good[n] for n in others)):
            for value in hostile:
                yield build({**dict(zip(others, values, strict=True)), name: value}), True


def _requests(app: Flask) -> Iterator[tuple[str, str, str, dict | bytes | None, str | None]]:
    good = _good_values(app)
    forms = list(_forms())
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIXES) or rule.rule == "/logout":
            continue
        for path, hostile in dict.fromkeys(_paths(rule, good)):
            if hostile:  # the path is the attack: a GET and a POST of each kind of form
                yield "get", path, "", None, None
                for label, data, content_type in forms[::4]:
                    yield "post", path, label, data, content_type
                continue
            for method in ("get", "head", "options", "put", "delete", "patch"):
                yield method, path, "", None, None
            for query in QUERIES:
                yield "get", path + query, "", None, None
            for label, data, content_type in forms:
                yield "post", path, label, data, content_type


def _send(client: FlaskClient, method: str, path: str, data: dict | bytes | None,
          content_type: str | None) -> int:
    kwargs: dict = {}
    if data is not None:
        kwargs["data"] = {k: (v if not isinstance(v, tuple) else (io.BytesIO(v[0].getvalue()),
                                                                  v[1]))
                          for k, v in data.items()} if isinstance(data, dict) else data
    if content_type:
        kwargs["content_type"] = content_type
    return getattr(client, method)(path, **kwargs).status_code


@pytest.mark.parametrize("who", ["durango@example.org", "admin@example.org"])
def test_no_hostile_request_to_a_signed_in_route_is_a_server_error(local_app, as_user, who):
    local_app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug is then a 500, counted below
    client = as_user(who)
    statuses: Counter[int] = Counter()
    errors = []
    for method, path, label, data, content_type in _requests(local_app):
        status = _send(client, method, path, data, content_type)
        statuses[status] += 1
        if status >= 500:
            errors.append((method, path[:120], label, status))
    assert errors == [], f"{len(errors)} server errors of {sum(statuses.values())}: {errors[:20]}"
    assert sum(statuses.values()) > 3000
    # The run was signed in throughout (not redirected to sign in) and reached the views.
    assert client.get("/account").status_code == 200
    assert statuses[302] < sum(statuses.values()) / 2, statuses
    assert statuses[200] > 100 and statuses[400] > 100 and statuses[404] > 100, statuses

