"""Every error and refusal in the reader's language: each is rendered in Spanish and in English,
and the whole visible text of the page (title, text, tooltips, labels) holds no word of the
other language (tests/app/pages.py: ``foreign_words``). Identifiers shown as code (a
spreadsheet's column names) are not words of either language and are left out."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import httpcache
from app.accounts.service import find_user
from app.extensions import db
from app.models import Commitment
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, add_milestone, commitment_of, login
from tests.app.pages import foreign_words, visible_text

local_app = editing_fixtures.local_app

LANGUAGES = ("es", "en")
SOURCE = "https://idaip.example.org/acta-7.pdf"


def _client(app: Flask, lang: str, address: str = "192.0.2.10",
            email: str | None = None) -> FlaskClient:
    """A client that has chosen ``lang`` (the switcher's cookie), from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.get(f"/?lang={lang}")
    if email:
        assert login(client, email).status_code == 302
    return client


def _language_of(response: TestResponse) -> str:
    found = re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:300]
    return found.group(1)


def assert_in_language(response: TestResponse, lang: str, status: int, *expected: str) -> None:
    """The page is the site's, in ``lang``, with ``status``, says each of ``expected``, and
    shows no word of the other language."""
    assert response.status_code == status, (response.status_code, response.location)
    assert response.mimetype == "text/html"
    assert _language_of(response) == lang
    text = visible_text(response.get_data(as_text=True), lang=lang, code=False)
    for words in expected:
        assert words in text, (words, text)
    foreign = foreign_words(text, lang)
    assert not foreign, (sorted(foreign), text)


@pytest.fixture
def milestone(local_app: Flask) -> int:
    """A milestone of a Durango commitment (the admin added it)."""
    with local_app.app_context():
        admin = find_user(db.session, "admin@example.org")
        c = db.session.get(Commitment, commitment_of(DURANGO))
        m = add_milestone(db.session, admin, c, {"title": "A-1", "status": "not_started"},
                          source=SOURCE)
        db.session.commit()
        return m.id


# What each refusal says, in each language: a phrase the page must show.
SAYS = {
    "sign-in": {"es": "Inicie sesión para abrir esta página.",
                "en": "Sign in to open this page."},
    "csrf": {"es": "Formulario caducado", "en": "Form expired"},
    "429": {"es": "Podrá volver a intentarlo en", "en": "You can try again in"},
    "400": {"es": "no admite el valor", "en": "does not accept the value"},
    "403": {"es": "Acceso denegado", "en": "Access denied"},
    "404": {"es": "Página no encontrada", "en": "Page not found"},
    "405": {"es": "Método no permitido", "en": "Method not allowed"},
    "413": {"es": "Archivo demasiado grande", "en": "File too large"},
    "414": {"es": "Dirección demasiado larga", "en": "Address too long"},
    "503": {"es": "La base de datos no responde", "en": "The database is not answering"},
    "required": {"es": "Este campo es obligatorio.", "en": "This field is required."},
    "field": {"es": "debe estar entre 0 y 100", "en": "must be between 0 and 100"},
    "upload": {"es": "No se guardó nada: 1 problema", "en": "Nothing was saved: 1 problem"},
    "conflict": {"es": "cambiaron este campo", "en": "changed this field"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_out_goes_to_sign_in_with_a_message_in_its_language(local_app, lang):
    client = _client(local_app, lang)
    response = client.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    assert_in_language(client.get(response.location), lang, 200, SAYS["sign-in"][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_post_without_its_csrf_token(local_app, make_app, lang):
    app = make_app(WTF_CSRF_ENABLED=True)  # the same database, CSRF checked
    client = _client(app, lang)
    response = client.post("/login", data={"email": "a@example.org", "password": "x" * 12})
    assert_in_language(response, lang, 400, SAYS["csrf"][lang])
    assert "CSRF token" not in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_many_sign_in_attempts(local_app, lang):
    client = _client(local_app, lang, address=f"192.0.2.{120 + LANGUAGES.index(lang)}")
    codes = [login(client, f"nobody-{lang}@example.org", f"wrong {i:02d} password").status_code
             for i in range(11)]
    assert codes[-1] == 429
    response = login(client, f"nobody-{lang}@example.org", "wrong again")
    assert_in_language(response, lang, 429, SAYS["429"][lang])
    assert " per " not in response.get_data(as_text=True)  # Flask-Limiter's "10 per 15 minute"


def _error_responses(app: Flask, client: FlaskClient, editor: FlaskClient, milestone: int
                     ) -> Iterator[tuple[str, int, TestResponse]]:
    yield "400", 400, client.get("/plans?sort=zzz")
    yield "403", 403, editor.get(f"/edit/milestone/{milestone}")
    yield "404", 404, client.get("/plans/999999")
    yield "405", 405, client.post("/states/")
    app.config["IMPORT_MAX_BYTES"] = 1000  # a form over the largest upload allowed
    yield "413", 413, client.post("/login", data={"email": "x" * 70_000})
    yield "414", 414, client.get("/commitments?q=" + "a" * 9000)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_page(local_app, milestone, lang):
    client = _client(local_app, lang)
    editor = _client(local_app, lang, email="veracruz@example.org")
    for name, status, response in _error_responses(local_app, client, editor, milestone):
        assert_in_language(response, lang, status, SAYS[name][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_database_unavailable(local_app, monkeypatch, lang):
    client = _client(local_app, lang)

    def unreachable(*datasets: str) -> None:
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(httpcache, "revisions", unreachable)
    assert_in_language(client.get("/states/"), lang, 503, SAYS["503"][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_refused_form_fields(local_app, milestone, lang):
    """WTForms' own message (an empty sign-in) and the schema's (a milestone's fields)."""
    blank = _client(local_app, lang).post("/login", data={"email": "", "password": ""})
    assert_in_language(blank, lang, 200, SAYS["required"][lang])
    editor = _client(local_app, lang, email="durango@example.org")
    refused = editor.post(f"/edit/milestone/{milestone}", data={
        "title": "A-2", "status": "in_progress", "progress": "150", "start_date": "2024-13-01",
        "version": "1", "source_url": SOURCE})
    assert_in_language(refused, lang, 200, SAYS["field"][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_refused_spreadsheet_upload(local_app, milestone, lang):
    editor = _client(local_app, lang, email="durango@example.org")
    text = editor.get(f"/edit/states/{DURANGO}/records.csv?sheet=milestones").data.decode()
    header, *rows = text.lstrip("\ufeff").splitlines()
    status = header.split(",").index("status")
    row = rows[0].split(",")
    row[status] = "zzz"
    content = "\n".join([header, ",".join(row)]).encode()
    response = editor.post(f"/edit/states/{DURANGO}/upload", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), "m.csv"), "source_url": SOURCE})
    assert_in_language(response, lang, 422, SAYS["upload"][lang])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_conflict_page(local_app, milestone, lang):
    first = _client(local_app, lang, email="admin@example.org")
    second = _client(local_app, lang, email="durango@example.org")
    url = f"/edit/milestone/{milestone}"
    form: Callable[[str], dict[str, str]] = lambda title: {  # noqa: E731
        "title": title, "status": "not_started", "version": "1", "source_url": SOURCE}
    assert first.post(url, data=form("A-2")).status_code == 302
    assert_in_language(second.post(url, data=form("A-3")), lang, 409, SAYS["conflict"][lang])


def test_the_word_lists_catch_the_other_language():
    """The check can fail: library English on a Spanish page, Spanish on an English one."""
    assert foreign_words("Please log in to access this page.", "es")
    assert foreign_words("The CSRF token is missing.", "es")
    assert foreign_words("10 per 15 minute", "es")
    assert foreign_words("Página no encontrada", "en")
    assert not foreign_words("Estado Abierto: Página no encontrada (404)", "es")
    assert not foreign_words("Open State: Page not found (404)", "en")
    html = ('<html lang="en"><head><title>Page</title></head><body><p>Changes</p>'
            '<a lang="es" href="?lang=es">ES</a><code>estado</code></body></html>')
    assert visible_text(html, lang="en", code=False).split() == ["Page", "Changes"]
