"""app.httpcache: ETags, Last-Modified and 304s (If-None-Match, If-Modified-Since), Vary,
privacy, compression; the dataset list derived from app.records. The copies themselves are
kept by nginx: tests/app/test_stack.py runs it."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import brotli
import pytest
import sqlalchemy as sa
from flask import Flask

from app import httpcache, records
from app.extensions import db
from app.models import Base, DataRevision, User
from seeds.states import load_states


def _app_with_states(make_app, **config) -> Flask:
    app = make_app(**config)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        load_states(db.session)
        db.session.commit()
    return app


def _bump(app: Flask, dataset: str) -> None:
    with app.app_context():
        records.touch(db.session, dataset)
        db.session.commit()


def settle(app: Flask, ago: timedelta = timedelta(hours=1)) -> None:
    """Date every dataset's last change ``ago`` (Last-Modified is sent once a change is 2 s
    old; the tests' data was written a moment ago)."""
    with app.app_context():
        for dataset in records.public_datasets():
            if db.session.get(DataRevision, dataset) is None:
                records.touch(db.session, dataset)
        db.session.execute(sa.update(DataRevision).values(changed_at=datetime.now(UTC) - ago))
        db.session.commit()


def _same_content(a: bytes, b: bytes) -> bool:
    folium_ids = re.compile(rb"[0-9a-f]{32}")
    return folium_ids.sub(b"", a) == folium_ids.sub(b"", b)


PAGES = ["/", "/states/", "/states/10", "/exercises", "/plans", "/commitments", "/metric/",
         "/map", "/map/exercises", "/map.csv", "/sources", "/states/10/feed.atom",
         "/api/v1/states", "/api/v1/states/10", "/data/datapackage.json"]
CONTROL = "public, max-age=0, s-maxage=1"


@pytest.mark.parametrize("url", PAGES)
def test_every_public_page_has_validators_and_304s_without_rendering(states_app, url):
    client = states_app.test_client()
    first = client.get(url)
    assert first.status_code == 200, url
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert first.headers["Cache-Control"] == CONTROL
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"Accept-Language", "Cookie", "Accept-Encoding"} <= vary
    again = client.get(url)
    assert again.headers["ETag"] == etag
    # A weak ETag: the same content, though folium names a map's elements anew each render.
    assert _same_content(again.get_data(), first.get_data())
    conditional = client.get(url, headers={"If-None-Match": etag})
    assert conditional.status_code == 304 and conditional.get_data() == b""
    assert conditional.headers["ETag"] == etag
    assert conditional.headers["Cache-Control"] == CONTROL
    assert client.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200


@pytest.mark.parametrize("url", ["/states/10", "/api/v1/states", "/states/10/feed.atom"])
def test_if_modified_since_gives_304_on_pages_api_and_feeds(states_app, url):
    settle(states_app)
    client = states_app.test_client()
    first = client.get(url)
    last_modified = first.headers["Last-Modified"]
    stamp = parsedate_to_datetime(last_modified)
    assert stamp < datetime.now(UTC)
    same = client.get(url, headers={"If-Modified-Since": last_modified})
    assert same.status_code == 304 and same.get_data() == b""
    assert same.headers["ETag"] == first.headers["ETag"]  # (RFC 9110 15.4.5: no date needed)
    future = client.get(url, headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert future.status_code == 304
    earlier = format_datetime(stamp - timedelta(seconds=1), usegmt=True)
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    both = client.get(url, headers={"If-Modified-Since": last_modified,
                                    "If-None-Match": 'W/"other"'})
    assert both.status_code == 200
    # A write is visible to the very next request, by date as by ETag.
    _bump(states_app, "states")
    changed = client.get(url, headers={"If-Modified-Since": last_modified})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    # The change is less than 2 s old: no Last-Modified yet (see last_modified_header).
    assert "Last-Modified" not in changed.headers


def test_last_modified_is_the_change_rounded_up_once_it_is_two_seconds_old():
    change = datetime(2026, 12, 1, 10, 0, 0, 300_000, tzinfo=UTC)
    header = httpcache.last_modified_header
    assert header(change, now=change + timedelta(seconds=1)) is None
    assert header(change, now=datetime(2026, 12, 1, 10, 0, 1, 999_999, tzinfo=UTC)) is None
    rounded = datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC)
    assert header(change, now=datetime(2026, 12, 1, 10, 0, 2, tzinfo=UTC)) == rounded
    assert header(change, now=change + timedelta(days=3)) == rounded


def test_a_copy_from_the_second_of_a_change_never_hides_a_later_one(states_app):
    """Two writes in the same second: a client that fetched between them must not be told
    its copy is current (If-Modified-Since) after the second one."""
    client = states_app.test_client()
    _bump(states_app, "states")
    between = client.get("/states/")
    assert "Last-Modified" not in between.headers  # nothing to send back as IMS
    with states_app.app_context():
        changed = db.session.get(DataRevision, "states").changed_at
    since = format_datetime(httpcache._utc(changed).replace(microsecond=0), usegmt=True)
    _bump(states_app, "states")  # within the same second or not, it is a change
    assert client.get("/states/", headers={"If-Modified-Since": since}).status_code == 200


def test_a_write_changes_the_etag_at_once(states_app):
    client = states_app.test_client()
    first = client.get("/states/10")
    etag = first.headers["ETag"]
    _bump(states_app, "local")
    response = client.get("/states/10", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag


def test_the_source_registry_is_a_dataset_of_every_page(states_app):
    client = states_app.test_client()
    before = {url: client.get(url).headers["ETag"] for url in ("/sources", "/states/10", "/")}
    _bump(states_app, "sources")
    after = {url: client.get(url).headers["ETag"] for url in before}
    assert all(after[url] != before[url] for url in before)


def test_public_datasets_are_every_dataset_app_records_declares():
    declared = {name for model in records.MODELS for name in records.datasets_of_model(model)}
    assert set(records.public_datasets()) == declared
    assert len(records.public_datasets()) == len(declared)
    assert {"states", "local", "national", "metric", "geodata", "sources"} <= declared


def test_views_declare_only_datasets_app_records_knows(app):
    known = set(records.public_datasets())
    declared = {name: httpcache.view_datasets(view) for name, view in app.view_functions.items()}
    assert any(declared.values())  # the maps declare theirs
    for name, datasets in declared.items():
        assert set(datasets) <= known, name


def test_a_view_declaring_its_datasets_ignores_other_writes(states_app):
    client = states_app.test_client()
    etag = client.get("/map").headers["ETag"]
    _bump(states_app, "national")  # /map does not draw national plans
    assert client.get("/map", headers={"If-None-Match": etag}).status_code == 304
    _bump(states_app, "metric")
    assert client.get("/map", headers={"If-None-Match": etag}).status_code == 200


def test_language_is_part_of_the_etag_and_set_cookie_is_never_public(states_app):
    client = states_app.test_client()
    spanish = client.get("/states/")
    chosen = client.get("/states/?lang=en")  # sets the language cookie
    assert "Set-Cookie" in chosen.headers
    assert chosen.headers["Cache-Control"] == "private, no-cache"
    english = client.get("/states/")  # now with the cookie
    assert english.headers["Cache-Control"].startswith("public")
    assert 'lang="en"' in english.get_data(as_text=True)
    assert 'lang="es"' in spanish.get_data(as_text=True)
    assert english.headers["ETag"] != spanish.headers["ETag"]


def test_query_order_does_not_matter_but_values_do(states_app):
    client = states_app.test_client()
    a = client.get("/commitments?scope=local&sort=title").headers["ETag"]
    b = client.get("/commitments?sort=title&scope=local").headers["ETag"]
    c = client.get("/commitments?sort=-title&scope=local").headers["ETag"]
    assert a == b != c


def test_the_release_is_part_of_the_etag(states_app, tmp_path):
    client = states_app.test_client()
    etag = client.get("/states/").headers["ETag"]
    states_app.extensions["httpcache"] = httpcache.Release("another-release",
                                                           datetime(2020, 1, 1, tzinfo=UTC))
    assert client.get("/states/", headers={"If-None-Match": etag}).status_code == 200


def test_a_new_secret_key_changes_every_etag(states_app):
    client = states_app.test_client()
    etag = client.get("/map").headers["ETag"]
    states_app.config["SECRET_KEY"] = "a-rotated-key"
    again = client.get("/map", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


def test_the_release_digest_follows_the_files(tmp_path: Path):
    (tmp_path / "app" / "templates").mkdir(parents=True)
    (tmp_path / "app" / "static").mkdir()
    page = tmp_path / "app" / "templates" / "page.html"
    page.write_text("<p>uno</p>")
    (tmp_path / "app" / "static" / "site.css").write_text("p {}")
    first = httpcache.read_release(tmp_path)
    assert httpcache.read_release(tmp_path) == first
    (tmp_path / "app" / "static" / "site.css").write_text("p { color: red }")
    assert httpcache.read_release(tmp_path).digest == first.digest  # static files: not pages
    page.write_text("<p>dos</p>")
    assert httpcache.read_release(tmp_path).digest != first.digest


def test_errors_and_bad_arguments_are_not_public(states_app):
    client = states_app.test_client()
    for url in ("/states/99", "/map?index=XX", "/no-such-page"):
        response = client.get(url)
        assert response.status_code in (400, 404)
        assert "public" not in response.headers.get("Cache-Control", "")
        assert "ETag" not in response.headers


def test_a_signed_in_user_gets_private_fresh_pages(states_app):
    with states_app.app_context():
        user = User(email="ed@example.org", name="Órgano garante", password_hash="x",
                    role="admin")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    client = states_app.test_client()
    public = client.get("/states/")
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    response = client.get("/states/", headers={"If-None-Match": public.headers["ETag"]})
    assert response.status_code == 200
    assert "public" not in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert "ETag" not in response.headers


def test_private_views_are_never_public(make_app):
    app = make_app()

    @app.get("/per-visit")
    @httpcache.private
    def per_visit() -> str:
        return "fresh"

    response = app.test_client().get("/per-visit")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert "public" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize(("encoding", "decode"), [("br", brotli.decompress),
                                                  ("gzip", gzip.decompress)])
def test_pages_are_compressed_when_the_client_accepts_it(make_app, encoding, decode):
    states_app = _app_with_states(make_app, COMPRESS_REGISTER=True)
    client = states_app.test_client()
    raw = client.get("/map")
    assert "Content-Encoding" not in raw.headers
    response = client.get("/map", headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert len(response.get_data()) < len(raw.get_data()) / 3
    assert _same_content(decode(response.get_data()), raw.get_data())
    assert response.headers["ETag"] == raw.headers["ETag"]
    head = client.head("/map", headers={"Accept-Encoding": encoding})
    assert head.get_data() == b"" and head.headers["ETag"] == raw.headers["ETag"]


def test_the_script_nonce_of_a_public_page_is_the_same_in_every_copy(states_app):
    client = states_app.test_client()
    nonces = set()
    for _ in range(2):
        response = client.get("/map")
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        body = response.get_data(as_text=True)
        assert set(re.findall(r'nonce="([^"]+)"', body)) == {nonce}
        nonces.add(nonce)
    assert len(nonces) == 1  # a copy kept by nginx and one rendered later agree
    revalidated = client.get("/map", headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["Content-Security-Policy"] == policy
    other = client.get("/map/exercises").headers["Content-Security-Policy"]
    assert re.search(r"'nonce-([^']+)'", other).group(1) != nonce


def test_etag_for_is_the_header_of_the_current_request(states_app):
    etag = states_app.test_client().get("/states/10").headers["ETag"]
    with states_app.test_request_context("/states/10"):
        assert httpcache.etag_for() == etag
        assert httpcache.etag_for("states") != etag


def test_a_database_failure_while_reading_revisions_is_the_sites_503(states_app, monkeypatch):
    def unreachable(*datasets):  # noqa: ANN002, ANN202
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(httpcache, "revisions", unreachable)
    response = states_app.test_client().get("/states/")
    assert response.status_code == 503
    assert "La base de datos no responde" in response.get_data(as_text=True)
