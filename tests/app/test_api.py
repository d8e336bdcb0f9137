"""The read-only JSON API: lists, pages and links, filters, errors, CORS, conditional requests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.extensions import db
from app.models import Commitment, DataRevision, State
from tests.app.api_fixtures import api_app  # noqa: F401  (the fixture)


@pytest.fixture
def api(api_app):  # noqa: F811
    return api_app.test_client()


def _operations(spec: dict) -> list[tuple[str, dict]]:
    return [(path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items() if method == "get"]


def _query_parameters(op: dict) -> list[dict]:
    return [p for p in op.get("parameters", []) if p.get("in") == "query"]


def test_description_is_generated_openapi_3_with_every_resource(api):
    spec = api.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/states", "/exercises", "/secretariat-members", "/plans", "/commitments",
                 "/milestones", "/evidence", "/institutions", "/rounds", "/scores",
                 "/rounds/{year}/aggregates", "/comparisons", "/published-figures", "/changes",
                 "/sources", "/sources/{source_id}"):
        assert "/api/v1" + path in spec["paths"], path
    params = {p["name"] for p in _query_parameters(spec["paths"]["/api/v1/commitments"]["get"])}
    assert {"state", "plan", "scope", "status", "theme", "sdg", "q", "sort", "order", "page",
            "per_page"} <= params


@pytest.mark.own_database("eight threads ask the app at once")
def test_the_description_read_by_several_clients_at_once_is_the_same_whole_document(app):
    """The views are described when the document is first read (app.api.Api.spec): eight
    threads asking for it at once on a new app all get the same document, every operation in
    it once, and it equals the one read afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    def read(_n: int) -> bytes:
        return app.test_client().get("/api/openapi.json").get_data()

    with ThreadPoolExecutor(8) as pool:
        bodies = set(pool.map(read, range(8)))
    assert len(bodies) == 1
    (body,) = bodies
    assert read(0) == body
    spec = json.loads(body)
    ids = [op["operationId"] for _path, op in _operations(spec)]
    assert len(ids) == len(set(ids)) > 15
    tags = [t["name"] for t in spec["tags"]]  # one per blueprint: described once
    assert len(tags) == len(set(tags)) >= 4


def test_every_argument_is_declared_as_the_server_checks_it(api):
    """Every choice is an enum (sort keys with and without "-"), every number bounded, every
    text bounded with its pattern; every operation has an id, a documented 304 and the
    validators' headers; lists document their Link header."""
    spec = api.get("/api/openapi.json").get_json()
    ids = [op.get("operationId") for _path, op in _operations(spec)]
    assert None not in ids and len(ids) == len(set(ids)) == len(_operations(spec))
    for path, op in _operations(spec):
        assert {"200", "304"} <= set(op["responses"]), path
        assert {"ETag", "Last-Modified"} <= set(op["responses"]["200"]["headers"]), path
        for p in _query_parameters(op):
            schema = p["schema"]
            if schema["type"] == "string":
                assert "enum" in schema or ("pattern" in schema and "maxLength" in schema), (
                    path, p["name"])
            else:
                assert schema["type"] == "integer" and {"minimum", "maximum"} <= set(schema)
            assert p.get("required") or p["allowEmptyValue"] is True  # empty is absent
        if "page" in {p["name"] for p in _query_parameters(op)}:
            assert "Link" in op["responses"]["200"]["headers"], path
    commitments = {p["name"]: p["schema"] for p in
                   _query_parameters(spec["paths"]["/api/v1/commitments"]["get"])}
    assert commitments["state"]["enum"] == [f"{n:02d}" for n in range(1, 33)]
    assert {"plan", "-plan", "progress", "-progress"} <= set(commitments["sort"]["enum"])
    assert commitments["status"]["enum"] == ["unknown", "not_started", "in_progress",
                                             "complete", "verified", "off_track"]
    assert commitments["plan"]["minimum"] == 1  # an id: any id, existing or not
    aggregates = spec["paths"]["/api/v1/rounds/{year}/aggregates"]["get"]
    assert _query_parameters(aggregates)[0]["schema"]["enum"] == [
        "national", "state", "level", "type"]


def test_examples_in_the_description_are_valid(api):
    """Every example a parameter carries is accepted by the server (200)."""
    spec = api.get("/api/openapi.json").get_json()
    checked = 0
    for path, op in _operations(spec):
        examples = {p["name"]: p["schema"]["example"] for p in _query_parameters(op)
                    if "example" in p["schema"]}
        if examples and "{" not in path:
            required = {p["name"]: p["schema"].get("example") for p in _query_parameters(op)
                        if p.get("required")}
            assert api.get(path, query_string={**required, **examples}).status_code == 200
            checked += 1
    assert checked >= 1


def test_docs_page_uses_only_local_assets(api):
    page = api.get("/api/docs").get_data(as_text=True)
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources == ["/static/vendor/redoc-2.5.4/redoc.standalone.js"]
    asset = api.get(sources[0])
    assert asset.status_code == 200
    asset.close()
    assert "/api/openapi.json" in page
    with api.get(sources[0]) as asset:
        bundle = asset.get_data(as_text=True)
    assert "cdn.redoc.ly" not in bundle and 'src:"http' not in bundle  # no remote logo


def test_favicon_and_robots_are_served_locally(api):
    icon = api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    robots = api.get("/robots.txt")
    assert robots.status_code == 200 and robots.mimetype == "text/plain"
    lines = robots.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *" and "Disallow: /edit/" in lines
    assert "Disallow: /data/" not in lines and "Disallow: /api/" not in lines


def test_list_pages_with_links_and_stable_order(api):
    first = api.get("/api/v1/states?per_page=10").get_json()
    assert first["total"] == 32 and first["pages"] == 4 and first["page"] == 1
    assert [s["cve_ent"] for s in first["items"]] == [f"{i:02d}" for i in range(1, 11)]
    assert first["links"]["prev"] is None
    second = api.get(first["links"]["next"]).get_json()
    assert second["items"][0]["cve_ent"] == "11"
    assert second["links"]["prev"] == "/api/v1/states?per_page=10&page=1"
    last = api.get(first["links"]["last"]).get_json()
    assert last["links"]["next"] is None and len(last["items"]) == 2
    by_name = api.get("/api/v1/states?sort=-name&per_page=1").get_json()
    assert by_name["items"][0]["name"] == "Zacatecas"


def test_filters_are_named_as_on_the_pages(api, api_app):  # noqa: F811
    local = api.get("/api/v1/plans?scope=local&per_page=100").get_json()
    assert local["total"] > 0 and all(p["scope"] == "local" for p in local["items"])
    state = local["items"][0]["cve_ent"]
    mine = api.get(f"/api/v1/commitments?state={state}&per_page=500").get_json()
    with api_app.app_context():
        from sqlalchemy import func, select

        from app.models import ActionPlan

        expected = db.session.scalar(
            select(func.count()).select_from(Commitment).join(ActionPlan)
            .where(ActionPlan.state_cve == state)
        )
    assert mine["total"] == expected > 0
    assert {c["cve_ent"] for c in mine["items"]} == {state}
    assert all(c["progress"] is None for c in mine["items"])  # no milestones: unknown, not 0


def test_scores_aggregates_and_comparisons_of_synthetic_rounds(api):
    scores = api.get("/api/v1/scores?round=2019&state=22").get_json()
    assert [s["name"] for s in scores["items"]] == ["Municipio de Querétaro"]
    assert scores["items"][0]["GA"] == pytest.approx(1.0)
    federal = api.get("/api/v1/scores?round=2019&level=federal").get_json()
    assert federal["total"] == 1 and federal["items"][0]["GA"] == 0
    national = api.get("/api/v1/rounds/2019/aggregates?by=national").get_json()
    assert national["items"][0]["n"] == 5
    assert "GA_published" in national["items"][0]
    by_state = api.get("/api/v1/rounds/2019/aggregates?by=state").get_json()
    assert {r["key"] for r in by_state["items"]} >= {"01", "22"}
    compared = api.get("/api/v1/comparisons?from=2019&to=2021&by=level").get_json()
    assert compared["from"] == 2019 and compared["counts"]["matched"] == 5
    assert all(r["GA_delta"] == 0 for r in compared["items"])
    figures = api.get("/api/v1/published-figures?round=2017&scope=national&index=GA").get_json()
    assert figures["total"] >= 1 and all(f["index"] == "GA" for f in figures["items"])


@pytest.mark.parametrize("query, name", [
    ("/api/v1/states?sort=bogus", "sort"),
    ("/api/v1/states?page=0", "page"),
    ("/api/v1/states?per_page=100000", "per_page"),
    ("/api/v1/commitments?sdg=18", "sdg"),
    ("/api/v1/commitments?state=99", "state"),
    ("/api/v1/scores?round=1999", "round"),
    ("/api/v1/rounds/2019/aggregates?by=planet", "by"),
    ("/api/v1/rounds/2019/aggregates", "by"),
    ("/api/v1/comparisons?from=2019", "to"),
    ("/api/v1/states?sort=o", "sort"),
    ("/api/v1/commitments?plan=0", "plan"),
    ("/api/v1/commitments?plan=1.5", "plan"),
    ("/api/v1/commitments?plan=%201", "plan"),
    ("/api/v1/changes?action=explode", "action"),
    ("/api/v1/sources?kind=rumour", "kind"),
])
def test_bad_arguments_are_json_400_naming_the_argument(api, query, name):
    response = api.get(query)
    assert response.status_code == 400
    body = response.get_json()
    assert name in {p["argument"] for p in body["problems"]}
    assert f"«{name}»" in body["message"]


@pytest.mark.parametrize("path", [
    "/api/v1/plans/999999", "/api/v1/commitments/2147483648", "/api/v1/states/99",
    "/api/v1/rounds/1999", "/api/v1/rounds/1999/aggregates?by=state", "/api/v1/nothing",
    "/api/v1/institutions/999999", "/api/v1/milestones/999999", "/api/v1/evidence/999999",
    "/api/v1/comparisons?from=2019&to=2003", "/api/v1/plans/0",
])
def test_unknown_ids_are_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["status"] == 404


@pytest.mark.parametrize("listed, one, key", [
    ("/api/v1/states", "/api/v1/states/{cve_ent}", "cve_ent"),
    ("/api/v1/plans", "/api/v1/plans/{id}", "id"),
    ("/api/v1/commitments", "/api/v1/commitments/{id}", "id"),
    ("/api/v1/institutions", "/api/v1/institutions/{id}", "id"),
    ("/api/v1/sources", "/api/v1/sources/{id}", "id"),
])
def test_a_listed_record_has_its_own_address(api, listed, one, key):
    first = api.get(listed).get_json()["items"][0]
    response = api.get(one.format(**first))
    assert response.status_code == 200
    assert response.get_json()[key] == first[key]


def test_an_institution_with_its_name_variants_and_rounds(api):
    first = api.get("/api/v1/institutions?sort=id").get_json()["items"][0]
    body = api.get(f"/api/v1/institutions/{first['id']}").get_json()
    assert first["name"] in body["aliases"]
    assert [r["year"] for r in body["rounds"]] == [2019, 2021]


def test_sources_with_their_citations(api):
    listed = api.get("/api/v1/sources?per_page=500").get_json()
    assert listed["total"] > 0
    cited = [s for s in listed["items"] if s["cited_by"]]
    assert cited
    one = api.get(f"/api/v1/sources/{cited[0]['id']}").get_json()
    assert one == cited[0]
    kinds = {s["kind"] for s in listed["items"]}
    kind = sorted(kinds)[0]
    assert {s["kind"] for s in api.get(f"/api/v1/sources?kind={kind}&per_page=500")
            .get_json()["items"]} == {kind}


def test_a_valid_filter_without_rows_is_an_empty_list(api):
    """Any of the 32 states, an id nobody has, a year without a round: 200 and no items."""
    plans = api.get("/api/v1/plans?per_page=500").get_json()["items"]
    without_plans = sorted({f"{n:02d}" for n in range(1, 33)} - {p["cve_ent"] for p in plans})
    assert without_plans
    for query in (f"/api/v1/plans?state={without_plans[0]}",
                  f"/api/v1/commitments?state={without_plans[0]}",
                  "/api/v1/commitments?plan=2147483647", "/api/v1/scores?round=2003",
                  "/api/v1/published-figures?round=2099", "/api/v1/changes?commitment=999999",
                  "/api/v1/institutions?state=32&level=federal"):
        response = api.get(query)
        assert response.status_code == 200, query
        body = response.get_json()
        assert (body["items"], body["total"], body["pages"]) == ([], 0, 1), query
        assert body["links"]["next"] is None


def test_a_page_past_the_end_is_empty_without_next(api):
    last = api.get("/api/v1/states?per_page=10&page=4")
    assert len(last.get_json()["items"]) == 2 and last.get_json()["links"]["next"] is None
    assert 'rel="next"' not in last.headers["Link"]
    assert '<<' not in last.headers["Link"]
    assert '</api/v1/states?per_page=10&page=3>; rel="prev"' in last.headers["Link"]
    first = api.get("/api/v1/states?per_page=10")
    assert '</api/v1/states?per_page=10&page=2>; rel="next"' in first.headers["Link"]
    past = api.get("/api/v1/states?per_page=10&page=999")
    body = past.get_json()
    assert past.status_code == 200 and body["items"] == [] and body["page"] == 999
    assert body["total"] == 32 and body["links"]["next"] is None
    assert body["links"]["prev"] == "/api/v1/states?per_page=10&page=4"  # the last page
    assert 'rel="next"' not in past.headers["Link"]


def test_reads_are_open_to_every_origin(api, api_app):  # noqa: F811
    origin = {"Origin": "https://example.org"}
    with api_app.app_context():
        commitment = db.session.scalars(select(Commitment.id)).first()
    for url in ("/api/v1/states", "/api/openapi.json", "/data/datapackage.json",
                "/data/state.csv", "/data/commitment.json", "/map.geojson",
                "/map/exercises.geojson", "/states/10/feed.atom",
                f"/commitments/{commitment}/feed.atom"):
        response = api.get(url, headers=origin)
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert "Access-Control-Allow-Credentials" not in response.headers
        response.close()
    assert "Link" in api.get("/api/v1/states", headers=origin).headers[
        "Access-Control-Expose-Headers"]
    # The same headers with or without Origin: a cached copy serves every client.
    assert api.get("/data/datapackage.json").headers["Access-Control-Allow-Origin"] == "*"
    for url in ("/plans", "/data", "/login", "/commitments/1"):
        assert api.get(url, headers=origin).headers.get("Access-Control-Allow-Origin") is None
    preflight = api.options("/api/v1/states", headers={
        **origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert int(preflight.headers["Access-Control-Max-Age"]) >= 600
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]


def test_etag_last_modified_and_304_follow_the_data_revision(api, api_app):  # noqa: F811
    with api_app.app_context():  # Last-Modified is sent once the latest change is 2 s old
        db.session.execute(sa.update(DataRevision).values(
            changed_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
    first = api.get("/api/v1/states/01")
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = api.get("/api/v1/states/01", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = api.get("/api/v1/states/02")
    assert other.headers["ETag"] != etag
    with api_app.app_context():
        from app import records

        state = db.session.get(State, "01")
        records.update(db.session, state, {"source": state.source + " (checked)"},
                       actor="test", source="test")
        db.session.commit()
    changed = api.get("/api/v1/states/01", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["source"].endswith("(checked)")


def test_a_commitment_record_has_the_lists_progress_and_its_evidence_in_full(api):
    """The record and the list give one progress (the same rules); the evidence of the
    commitment and of its milestones comes with its own date and what it proves."""
    milestone = api.get("/api/v1/milestones?per_page=1").get_json()["items"][0]
    record = api.get(f"/api/v1/commitments/{milestone['commitment_id']}").get_json()
    listed = [c for c in api.get(f"/api/v1/commitments?plan={record['plan_id']}&per_page=500")
              .get_json()["items"] if c["id"] == record["id"]]
    assert len(listed) == 1
    for key in ("progress", "progress_state", "late_milestones"):
        assert record[key] == listed[0][key], key
    assert record["progress"] == 1.0 and record["progress_state"] == "complete"
    evidence = api.get(f"/api/v1/evidence?commitment={record['id']}").get_json()["items"]
    assert {e["id"] for e in record["evidence"]} == {e["id"] for e in evidence} != set()
    for item in (*record["evidence"], *evidence):
        assert {"dated", "proves"} <= set(item)
