"""app.httpcache: the response cache, ETags and 304s, Vary, privacy, compression."""

from __future__ import annotations

import gzip
import re
import time

import brotli
import pytest
import sqlalchemy as sa
from flask import Flask

from app import httpcache, records
from app.extensions import db
from app.models import Base, User
from seeds.states import load_states


def _app_with_states(make_app, **config) -> Flask:
    app = make_app(**config)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        load_states(db.session)
        db.session.commit()
    return app


def _hits(app: Flask) -> int:
    """Answers from either cache: the rendered bodies or the finished responses in front."""
    return app.extensions["httpcache"].hits + app.extensions["httpcache_front"].hits


def _misses(app: Flask) -> int:
    return app.extensions["httpcache"].misses + app.extensions["httpcache_front"].misses


def _bump(app: Flask, dataset: str) -> None:
    with app.app_context():
        records.touch(db.session, dataset)
        db.session.commit()


PAGES = ["/", "/states/", "/states/10", "/exercises", "/plans", "/commitments", "/metric/",
         "/map", "/map/exercises", "/map.csv"]


@pytest.mark.parametrize("url", PAGES)
def test_every_public_page_is_cached_with_revalidation_headers(states_app, url):
    client = states_app.test_client()
    cache = states_app.extensions["httpcache"]
    first = client.get(url)
    assert first.status_code == 200, url
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert first.headers["Last-Modified"]
    control = first.headers["Cache-Control"]
    assert control.startswith("public, max-age=") and "stale-while-revalidate" in control
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"Accept-Language", "Cookie", "Accept-Encoding"} <= vary
    front = states_app.extensions["httpcache_front"]
    hits, rendered = front.hits, cache.hits + cache.misses
    second = client.get(url)
    assert front.hits == hits + 1  # answered in front of Flask...
    assert cache.hits + cache.misses == rendered  # ...which was not asked
    assert second.get_data() == first.get_data()
    assert list(second.headers.items()) == list(first.headers.items())
    conditional = client.get(url, headers={"If-None-Match": etag})
    assert conditional.status_code == 304 and conditional.get_data() == b""
    assert conditional.headers["ETag"] == etag
    assert conditional.headers["Cache-Control"] == control
    assert client.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_a_write_changes_the_etag_and_the_page_is_rendered_afresh(states_app):
    client = states_app.test_client()
    cache = states_app.extensions["httpcache"]
    front = states_app.extensions["httpcache_front"]
    etag = client.get("/states/10").headers["ETag"]
    _bump(states_app, "local")
    misses, front_misses = cache.misses, front.misses
    response = client.get("/states/10", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert cache.misses == misses + 1 and front.misses == front_misses + 1
    assert client.get("/states/10").get_data() == response.get_data()


def test_a_view_declaring_its_datasets_ignores_other_writes(states_app):
    client = states_app.test_client()
    etag = client.get("/map").headers["ETag"]
    _bump(states_app, "national")  # /map does not draw national plans
    assert client.get("/map", headers={"If-None-Match": etag}).status_code == 304
    _bump(states_app, "metric")
    assert client.get("/map", headers={"If-None-Match": etag}).status_code == 200


def test_language_is_part_of_the_key_and_set_cookie_is_never_public(states_app):
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


def test_errors_and_bad_arguments_are_not_cached(states_app):
    client = states_app.test_client()
    for url in ("/states/99", "/map?index=XX", "/no-such-page"):
        response = client.get(url)
        assert response.status_code in (400, 404)
        assert "public" not in response.headers.get("Cache-Control", "")
        assert "ETag" not in response.headers
    assert len(states_app.extensions["httpcache"]) == 0


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
    hits = _hits(states_app)
    response = client.get("/states/", headers={"If-None-Match": public.headers["ETag"]})
    assert response.status_code == 200
    assert _hits(states_app) == hits
    assert "public" not in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert "ETag" not in response.headers


def test_private_views_are_never_cached(make_app):
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
    assert "Content-Encoding" not in client.get("/map").headers
    raw = client.get("/map").get_data()
    for _ in range(2):  # rendered, then from the caches
        response = client.get("/map", headers={"Accept-Encoding": f"{encoding}"})
        assert response.headers["Content-Encoding"] == encoding
        assert len(response.get_data()) < len(raw) / 3
        assert decode(response.get_data()) == raw
        assert response.headers["ETag"].startswith('W/"')


def test_the_front_cache_keeps_each_encoding_and_answers_head_and_304(make_app):
    app = _app_with_states(make_app, COMPRESS_REGISTER=True)
    client = app.test_client()
    front = app.extensions["httpcache_front"]
    first = {ae: client.get("/states/", headers={"Accept-Encoding": ae})
             for ae in ("br", "gzip", "")}
    hits = front.hits
    for ae, response in first.items():
        again = client.get("/states/", headers={"Accept-Encoding": ae})
        assert again.headers.get("Content-Encoding") == (ae or None)
        assert again.get_data() == response.get_data()
        head = client.head("/states/", headers={"Accept-Encoding": ae})
        assert head.get_data() == b""
        assert head.headers["Content-Length"] == response.headers["Content-Length"]
        etag = response.headers["ETag"]
        not_modified = client.get("/states/", headers={"Accept-Encoding": ae,
                                                       "If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.get_data() == b""
        assert "Content-Encoding" not in not_modified.headers
        assert not_modified.headers["ETag"] == etag
    assert front.hits == hits + 9
    assert gzip.decompress(first["gzip"].get_data()) == first[""].get_data()
    assert brotli.decompress(first["br"].get_data()) == first[""].get_data()


def test_the_front_cache_never_answers_a_post_or_a_signed_in_cookie(states_app):
    client = states_app.test_client()
    client.get("/states/")
    front = states_app.extensions["httpcache_front"]
    hits = front.hits
    assert client.post("/states/").status_code == 405
    client.set_cookie("session", "anything")
    assert "public" not in client.get("/states/").headers.get("Cache-Control", "")
    assert front.hits == hits


def test_the_script_nonce_of_a_cached_page_matches_its_header(states_app):
    client = states_app.test_client()
    for _ in range(2):
        response = client.get("/map")
        policy = response.headers.get("Content-Security-Policy")
        if policy is None:
            pytest.skip("no Content-Security-Policy on this branch")
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        body = response.get_data(as_text=True)
        assert f'nonce="{nonce}"' in body
        assert set(re.findall(r'nonce="([^"]+)"', body)) == {nonce}
    other = client.get("/map/exercises").headers["Content-Security-Policy"]
    assert re.search(r"'nonce-([^']+)'", other).group(1) != nonce


def test_etag_for_is_the_header_of_the_current_request(states_app):
    etag = states_app.test_client().get("/states/10").headers["ETag"]
    with states_app.test_request_context("/states/10"):
        assert httpcache.etag_for() == etag
        assert httpcache.etag_for("states") != etag


def test_lru_cache_keeps_the_most_recent_entries():
    cache = httpcache.LRUCache(size=2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.get_or_build("d", lambda: 4) == 4 and len(cache) == 2


def test_revisions_are_trusted_for_their_ttl_then_read_again(make_app):
    app = _app_with_states(make_app, HTTPCACHE_REVISION_TTL=0.5)
    client = app.test_client()
    etag = client.get("/states/").headers["ETag"]
    _bump(app, "states")
    assert client.get("/states/", headers={"If-None-Match": etag}).status_code == 304
    time.sleep(0.6)
    assert client.get("/states/", headers={"If-None-Match": etag}).status_code == 200


def test_a_database_failure_behind_a_cached_page_is_the_sites_503(states_app, monkeypatch):
    client = states_app.test_client()
    client.get("/states/")  # kept in front

    def unreachable(*datasets):  # noqa: ANN002, ANN202
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(httpcache, "revisions", unreachable)
    response = client.get("/states/")
    assert response.status_code == 503
    assert "La base de datos no responde" in response.get_data(as_text=True)
