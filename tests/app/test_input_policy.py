"""The one input policy, route by route: bad arguments are 400, unknown ids 404, never a 500.

The table names every documented argument of every route; a test checks that every GET
route of the app is in it, so a new route or argument cannot escape the policy. The data is
the seeds plus a SYNTHETIC metric round (test data, not real results), so this runs without
../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from tests.app.metric_fixtures import import_file, write_synthetic_2019

# route -> {argument: a good value} (the good value must give 200).
ROUTES: dict[str, dict[str, str]] = {
    "/": {},
    "/states/": {},
    "/states/01": {},
    "/states/01/feed.atom": {},
    "/exercises": {"stage": "plan", "q": "Durango", "sort": "-stage", "order": "asc",
                   "page": "1", "format": "csv"},
    "/plans": {"scope": "local", "state": "10", "q": "plan", "sort": "-commitments",
               "order": "desc", "page": "1", "format": "json"},
    "/plans/1": {},
    "/plans/1/report": {"since": "2019-01-31"},
    "/plans/1/report.pdf": {"since": "2019-01-31"},
    "/commitments": {"state": "10", "plan": "1", "scope": "local", "status": "unknown",
                     "theme": "Gender", "sdg": "5", "q": "acceso", "sort": "-plan",
                     "order": "asc", "page": "2", "format": "xlsx"},
    "/commitments/1": {},
    "/commitments/1/feed.atom": {},
    "/metric/": {},
    "/sources": {},
    "/metric/2019": {"sort": "-GA", "order": "asc", "page": "1", "format": "csv"},
    "/metric/2019/state.csv": {},
    "/metric/2019/institutions": {"state": "01", "type": "municipality", "level": "municipal",
                                  "q": "jesus", "sort": "name", "order": "desc", "page": "1",
                                  "format": "json"},
    "/institutions/1": {},
    "/metric/compare": {"from": "2019", "to": "2019", "by": "level", "download": "csv",
                        "sort": "name", "order": "asc", "format": "csv"},
    "/map": {"round": "2019", "index": "T", "classes": "quantile", "sort": "-value",
             "order": "asc", "format": "csv"},
    "/map.csv": {"round": "2019", "index": "P", "classes": "fixed"},
    "/map.geojson": {"round": "2019", "index": "GA"},
    "/map/exercises": {"sort": "name", "order": "desc"},
    "/map/exercises.csv": {"sort": "code"},
    "/map/exercises.geojson": {},
    "/embed/map": {"round": "2019", "index": "T", "classes": "quantile"},
    "/find": {"q": "Baja"},
    "/metric/series.csv": {"format": "csv"},
    "/healthz": {},
    "/login": {},
    "/data": {},
    "/data/datapackage.json": {},
    "/data/state.csv": {},
    "/favicon.ico": {},
    "/robots.txt": {},
    "/fieldwork/": {},
    "/fieldwork/2030": {},
    "/fieldwork/2030/methodology": {},
    "/fieldwork/2030/fieldwork.json": {},
}
SIGNED_IN_ONLY = ("/api/", "/edit/", "/admin/", "/account", "/milestones/",
                  "/commitments/<int:commitment_id>/milestones",
                  *(f"/fieldwork/<int:year>/{page}" for page in (
                      "manage", "mine", "institutions", "disagreements", "progress.csv")))
# Public routes whose good values need records the seeds do not have (an uploaded file:
# tests/app/test_evidence_files.py downloads them); their unknown ids are in UNKNOWN_IDS.
TESTED_ELSEWHERE = ("/files/",)
# Values no declared argument accepts (text arguments are checked with the long ones).
BAD_VALUES = ("nonsense", "-1", "9" * 25, "1\x00", "%", ";DROP TABLE state")
LONG_SEARCH = " ".join(["palabra"] * 400)  # under the 4096 bytes of an address (else 414)
HUGE_ID = str(2**63)
# Paths with ids nobody has, or that no table can hold.
UNKNOWN_IDS = (
    "/states/99", "/states/1", "/states/%00", "/states/99/feed.atom",
    f"/plans/{HUGE_ID}", "/plans/999999", f"/commitments/{HUGE_ID}", "/commitments/999999",
    f"/commitments/{HUGE_ID}/feed.atom", f"/institutions/{HUGE_ID}", "/institutions/999999",
    "/metric/1999", f"/metric/{HUGE_ID}", "/metric/2019/nonsense.csv", "/metric/1999/state.csv",
    f"/metric/{HUGE_ID}/institutions", "/nothing-here", "/plans/%00",
    "/data/app_user.json", "/data/nothing.csv", "/data/state.txt",
    "/plans/999999/report", f"/plans/{HUGE_ID}/report.pdf",
    "/files/evidence/999999", f"/files/evidence/{HUGE_ID}", "/files/progress/999999",
    "/files/nothing/1",
    "/fieldwork/1999", f"/fieldwork/{HUGE_ID}/methodology", "/fieldwork/2031/fieldwork.json",
)


@pytest.fixture
def policy_app(seeded_app: Flask, tmp_path: Path) -> Flask:
    import_file(seeded_app, write_synthetic_2019(tmp_path / "synthetic-2019.csv"), 2019)
    add_frozen_fieldwork_round(seeded_app, 2030)
    return seeded_app


def add_frozen_fieldwork_round(app: Flask, year: int) -> None:
    """A SYNTHETIC fieldwork round (the shipped template, no sample), frozen: its public pages
    and its anonymised data answer 200."""
    from app import records
    from app.accounts.service import create_user
    from app.extensions import db
    from app.metric.fieldwork import service
    from app.models.base import utcnow
    from metrics.fieldwork import load_instruments
    from tests.metrics.fieldwork_data import TEMPLATE

    with app.app_context():
        admin = create_user(db.session, "policy-admin@example.org", "correct horse battery",
                            role="admin", agency="SYNTHETIC admin")
        service.create_round(db.session, admin, year=year, label="SYNTHETIC round",
                             source="SYNTHETIC", instruments=dict(load_instruments(TEMPLATE).raw))
        records.update(db.session, service.get_round(db.session, year), {"frozen_at": utcnow()},
                       actor="test", source="SYNTHETIC")
        db.session.commit()


def _is_text_argument(name: str) -> bool:
    return name in ("q", "theme")  # free text: any words, bounded in length and words


def test_every_get_route_is_in_the_table(policy_app):
    rules = {r.rule for r in policy_app.url_map.iter_rules()
             if "GET" in r.methods and r.endpoint not in ("static", "metric.static")
             # The JSON API's arguments are checked by tests/app/test_api*.py (schemathesis);
             # pages for signed-in users by the role matrix (tests/app/test_editing*.py,
             # tests/app/test_fieldwork_pages.py).
             and not r.rule.startswith(SIGNED_IN_ONLY + TESTED_ELSEWHERE)}
    table = {
        "/states/<cve:cve_ent>": "/states/01",
        "/states/<cve:cve_ent>/feed.atom": "/states/01/feed.atom",
        "/plans/<int:plan_id>": "/plans/1",
        "/plans/<int:plan_id>/report": "/plans/1/report",
        "/plans/<int:plan_id>/report.pdf": "/plans/1/report.pdf",
        "/commitments/<int:commitment_id>": "/commitments/1",
        "/commitments/<int:commitment_id>/feed.atom": "/commitments/1/feed.atom",
        "/metric/<int:year>": "/metric/2019",
        "/metric/<int:year>/<by>.csv": "/metric/2019/state.csv",
        "/metric/<int:year>/institutions": "/metric/2019/institutions",
        "/institutions/<int:id>": "/institutions/1",
        "/data/<name>.<any(json, csv, xlsx):fmt>": "/data/state.csv",
        "/fieldwork/<int:year>": "/fieldwork/2030",
        "/fieldwork/<int:year>/methodology": "/fieldwork/2030/methodology",
        "/fieldwork/<int:year>/fieldwork.json": "/fieldwork/2030/fieldwork.json",
    }
    assert {table.get(rule, rule) for rule in rules} == set(ROUTES)


def _not_200(app: Flask, requests: list[tuple[str, dict[str, str]]]) -> list[tuple]:
    client = app.test_client()
    answers = [(route, query, client.get(route, query_string=query).status_code)
               for route, query in requests]
    return [a for a in answers if a[2] != 200]


def test_good_values_and_empty_values_answer_200(policy_app):
    requests = [(route, query) for route, args in ROUTES.items()
                for name, value in args.items() for query in ({name: value}, {name: ""})]
    assert _not_200(policy_app, requests) == []


def test_bad_values_of_every_argument_answer_400_with_the_site_page(policy_app):
    client = policy_app.test_client()
    failures = []
    for route, args in ROUTES.items():
        for name in args:
            values = (LONG_SEARCH, "a\x00b") if _is_text_argument(name) else BAD_VALUES
            for value in values:
                response = client.get(route, query_string={name: value})
                html = response.get_data(as_text=True)
                if response.status_code != 400 or f"«<code>{name}</code>»" not in html:
                    failures.append((route, name, value[:20], response.status_code))
                elif 'class="site-header"' not in html:
                    failures.append((route, name, "no site page"))
    assert failures == []


def test_unknown_ids_answer_404_with_the_site_page(policy_app):
    client = policy_app.test_client()
    failures = []
    for path in UNKNOWN_IDS:
        response = client.get(path)
        if response.status_code != 404 or 'class="site-header"' not in response.get_data(
            as_text=True
        ):
            failures.append((path, response.status_code))
    assert failures == []


def test_unrelated_arguments_are_ignored_everywhere(policy_app):
    unrelated = ({"endpoint": "x"}, {"_method": "POST"}, {"utm_source": "x"}, {"lang": "xx"},
                 {"_external": "1", "_anchor": "x"})
    assert _not_200(policy_app, [(r, q) for r in ROUTES for q in unrelated]) == []


def test_error_pages_speak_both_languages_and_json(policy_app):
    client = policy_app.test_client()
    spanish = client.get("/commitments?status=nonsense").get_data(as_text=True)
    # The argument and the values allowed are named, as code (they are typed, not read).
    assert "Petición incorrecta" in spanish and "«<code>status</code>»" in spanish
    assert "<code>verified</code>" in spanish
    english = client.get("/commitments?status=nonsense&lang=en").get_data(as_text=True)
    assert "Bad request" in english and "“<code>status</code>”" in english
    assert 'lang="en"' in english
    missing = client.get("/plans/999999?lang=en")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    as_json = client.get("/commitments?format=json&status=nonsense")
    assert as_json.status_code == 400 and as_json.mimetype == "application/json"
    body = json.loads(as_json.get_data(as_text=True))
    assert body["problems"][0]["argument"] == "status"
    method = client.post("/plans")
    assert method.status_code == 405 and 'class="site-header"' in method.get_data(as_text=True)


def test_the_sites_own_default_plan_sort_link_works(policy_app):
    client = policy_app.test_client()
    for sort in ("plan", "-plan", "title", "-title", "state", "-state", "progress",
                 "-progress", "updated", "-updated"):
        assert client.get(f"/commitments?sort={sort}").status_code == 200, sort


def test_search_is_literal_and_bounded(policy_app):
    client = policy_app.test_client()
    as_json = client.get("/metric/2019/institutions?q=%25&format=json")
    assert json.loads(as_json.get_data(as_text=True)) == []  # "%" is a character, not "all"
    words = " ".join(["acceso"] * 12)
    assert client.get("/commitments", query_string={"q": words}).status_code == 200
    assert client.get("/commitments", query_string={"q": words + " x"}).status_code == 400


def test_a_server_error_is_the_site_page_without_a_trace(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Error interno" in html
    assert "secret detail" not in html and "Traceback" not in html


def test_the_search_pattern_splits_words_as_python_does():
    """The declared pattern (also the API description's) spells whitespace out; every code
    point it calls a space is one for ``str.split()``, and none it allows in a word is."""
    import re
    import sys

    from app.params import _NOT_WORD, _SPACES

    space, word = re.compile(f"[{_SPACES}]"), re.compile(f"[^{_NOT_WORD}]")
    disagree = [hex(cp) for cp in range(sys.maxunicode + 1)
                if (space.fullmatch(chr(cp)) and not chr(cp).isspace())
                or (word.fullmatch(chr(cp)) and chr(cp).isspace())]
    assert disagree == []


def test_a_valid_filter_without_rows_and_a_page_past_the_end_on_the_pages(policy_app):
    """Any of the 32 states is a valid filter (an empty list, 200); a page past the last one
    is empty, says so, links to the last page and has no next link."""
    client = policy_app.test_client()
    for code in [f"{n:02d}" for n in range(1, 33)]:
        for page in ("/plans", "/commitments"):
            assert client.get(page, query_string={"state": code}).status_code == 200
    assert client.get("/commitments?plan=2147483647").status_code == 200
    listed = client.get("/commitments").get_data(as_text=True)
    assert 'rel="next"' in listed
    past = client.get("/commitments?page=999")
    html = past.get_data(as_text=True)
    assert past.status_code == 200
    assert 'rel="next"' not in html and "Ir a la última página" in html
    assert 'rel="prev"' in html and "<table" not in html
