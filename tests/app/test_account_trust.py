"""Trust behind the sign-in: sessions that end, reset links, sign-in records, rate limits that
do not lock the owner out, and ``next`` only to this site (issue 19)."""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, SignInAttempt, User
from tests.app import editing_fixtures
from tests.app.editing_fixtures import DURANGO, PASSWORD, commitment_of, login

local_app = editing_fixtures.local_app
as_user = editing_fixtures.as_user

SOURCE = "https://idaip.example.org/acta.pdf"
NEW_PASSWORD = "a brand new passphrase"


def _copy(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _events(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _write(client: FlaskClient, app: Flask) -> int:
    """Try to add a milestone to a Durango commitment; return the status."""
    with app.app_context():
        c = commitment_of(DURANGO)
    return client.post(f"/edit/milestone/new/{c}", data={
        "title": "Hito escrito con una cookie copiada", "status": "not_started",
        "source_url": SOURCE}).status_code


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def _user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


# --- Sessions that end ---------------------------------------------------------------------


def _sign_out(app: Flask, runner: object, owner: FlaskClient, admin: FlaskClient) -> None:
    owner.post("/logout")


def _change_password(app: Flask, runner: object, owner: FlaskClient, admin: FlaskClient) -> None:
    response = owner.post("/account/password", data={
        "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _signed_in(owner)  # the session that changed it goes on


def _disable_by_cli_then_enable(app: Flask, runner: object, owner: FlaskClient,
                                admin: FlaskClient) -> None:
    cli = app.test_cli_runner()
    assert cli.invoke(args=["users", "disable", "durango@example.org"]).exit_code == 0
    assert cli.invoke(args=["users", "enable", "durango@example.org"]).exit_code == 0


def _disable_by_admin_then_enable(app: Flask, runner: object, owner: FlaskClient,
                                  admin: FlaskClient) -> None:
    user_id = _user_id(app, "durango@example.org")
    for active in ("0", "1"):
        assert admin.post(f"/admin/users/{user_id}/active",
                          data={"active": active}).status_code == 302


def _admin_signs_out_everywhere(app: Flask, runner: object, owner: FlaskClient,
                                admin: FlaskClient) -> None:
    user_id = _user_id(app, "durango@example.org")
    assert admin.post(f"/admin/users/{user_id}/sign-out").status_code == 302


def _cli_signs_out(app: Flask, runner: object, owner: FlaskClient, admin: FlaskClient) -> None:
    result = app.test_cli_runner().invoke(args=["users", "sign-out", "durango@example.org"])
    assert result.exit_code == 0, result.output


def _reset_link_used(app: Flask, runner: object, owner: FlaskClient, admin: FlaskClient) -> None:
    link = _issue_reset(admin, _user_id(app, "durango@example.org"))
    stranger = app.test_client()
    assert stranger.post(link, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                         ).status_code == 302


ENDINGS = [_sign_out, _change_password, _disable_by_cli_then_enable,
           _disable_by_admin_then_enable, _admin_signs_out_everywhere, _cli_signs_out,
           _reset_link_used]


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__.strip("_"))
def test_a_cookie_copied_before_the_session_ends_is_refused_after(local_app, as_user, ending):
    owner = as_user("durango@example.org")
    admin = as_user("admin@example.org")
    thief = _copy(owner, local_app)
    assert _signed_in(thief)  # the copy works while the session lives
    ending(local_app, None, owner, admin)
    before = _events(local_app)
    assert not _signed_in(thief)
    assert thief.get("/account").headers["Location"].startswith("/login")
    assert _write(thief, local_app) == 302  # to sign in: no write goes through
    assert _events(local_app) == before
    assert _signed_in(admin)  # other accounts' sessions are untouched


def test_sign_out_ends_every_session_of_the_account(local_app, as_user):
    laptop, phone = as_user("durango@example.org"), as_user("durango@example.org")
    assert _signed_in(laptop) and _signed_in(phone)
    laptop.post("/logout")
    assert not _signed_in(phone) and not _signed_in(laptop)
    assert login(phone, "durango@example.org").status_code == 302 and _signed_in(phone)


def test_idle_timeout_and_absolute_lifetime(local_app, as_user, monkeypatch):
    local_app.config.update(SESSION_IDLE_MINUTES=30, SESSION_LIFETIME_MINUTES=120)
    now = [time.time()]
    monkeypatch.setattr("app.auth.time.time", lambda: now[0])
    client = as_user("durango@example.org")
    # Used every 25 minutes: the idle timeout never strikes, the lifetime does at 2 hours.
    for _ in range(4):
        now[0] += 25 * 60
        assert _signed_in(client)
    now[0] += 25 * 60  # 125 minutes after the sign-in
    assert not _signed_in(client)
    # Idle for 31 minutes: ended.
    client = as_user("durango@example.org")
    now[0] += 29 * 60
    assert _signed_in(client)
    now[0] += 31 * 60
    assert not _signed_in(client)
    assert _write(client, local_app) == 302


def test_a_session_cookie_without_a_token_is_refused(local_app, as_user):
    """A cookie of the old form (the id alone), as signed before this change, is refused."""
    client = as_user("durango@example.org")
    with client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].split(":")[0]
    assert not _signed_in(client)


# --- Password reset links ----------------------------------------------------------------


def _issue_reset(admin: FlaskClient, user_id: int) -> str:
    """The path of a reset link the admin issues on /admin/users."""
    page = admin.post(f"/admin/users/{user_id}/reset")
    assert page.status_code == 200
    link = re.search(r'<code class="reset-link">([^<]+)</code>', page.get_data(as_text=True))
    assert link, page.get_data(as_text=True)
    assert link.group(1).startswith("http://127.0.0.1:5000/account/reset/")  # SITE_URL
    return urlsplit(link.group(1)).path


def test_a_reset_link_works_once(local_app, as_user):
    admin = as_user("admin@example.org")
    link = _issue_reset(admin, _user_id(local_app, "durango@example.org"))
    stranger = local_app.test_client()
    form = stranger.get(link)
    assert form.status_code == 200 and "durango@example.org" in form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "no-store"
    short = stranger.post(link, data={"new": "short", "confirm": "short"})
    assert short.status_code == 200  # refused, the link still works
    done = stranger.post(link, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert login(local_app.test_client(), "durango@example.org").status_code == 200  # old
    assert login(local_app.test_client(), "durango@example.org", NEW_PASSWORD).status_code == 302
    # Used: the link no longer works, not even to look at.
    again = stranger.get(link)
    assert again.status_code == 404 and "no es válido" in again.get_data(as_text=True)
    assert stranger.post(link, data={"new": "yet another passphrase",
                                     "confirm": "yet another passphrase"}).status_code == 404
    with local_app.app_context():
        outcomes = db.session.scalars(select(SignInAttempt.outcome)).all()
    assert "password_reset" in outcomes


def test_a_reset_link_expires(local_app, as_user, monkeypatch):
    local_app.config["PASSWORD_RESET_HOURS"] = 24
    link = _issue_reset(as_user("admin@example.org"), _user_id(local_app, "durango@example.org"))
    issued = time.time()
    monkeypatch.setattr("itsdangerous.timed.TimestampSigner.get_timestamp",
                        lambda self: int(issued + 23 * 3600))
    assert local_app.test_client().get(link).status_code == 200
    monkeypatch.setattr("itsdangerous.timed.TimestampSigner.get_timestamp",
                        lambda self: int(issued + 24 * 3600 + 5))
    stranger = local_app.test_client()
    assert stranger.get(link).status_code == 404
    assert stranger.post(link, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                         ).status_code == 404
    assert login(local_app.test_client(), "durango@example.org").status_code == 302  # unchanged


def test_a_reset_link_dies_when_the_password_changes(local_app, as_user):
    link = _issue_reset(as_user("admin@example.org"), _user_id(local_app, "durango@example.org"))
    owner = as_user("durango@example.org")
    owner.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                          "confirm": NEW_PASSWORD})
    assert local_app.test_client().get(link).status_code == 404


@pytest.mark.parametrize("token", ["x", "a" * 300, "eyJ0eXAiOiJKV1QifQ.e30.", "%00", "..%2F.."])
def test_a_forged_reset_token_is_refused(local_app, token):
    assert local_app.test_client().get(f"/account/reset/{token}").status_code in (400, 404)


def test_flask_users_reset_password_prints_a_link_that_works(local_app):
    result = local_app.test_cli_runner().invoke(
        args=["users", "reset-password", "Durango@Example.org"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://127\.0\.0\.1:5000(/account/reset/\S+)", result.output)
    assert link, result.output
    client = local_app.test_client()
    assert client.post(link.group(1), data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                       ).status_code == 302
    assert login(client, "durango@example.org", NEW_PASSWORD).status_code == 302
    missing = local_app.test_cli_runner().invoke(args=["users", "reset-password", "no@x.org"])
    assert missing.exit_code != 0 and "no account" in missing.output


# --- Every sign-in and failed attempt, shown to the user and the admin ------------------------


def test_sign_ins_and_failed_attempts_are_recorded_and_shown(local_app):
    stranger = local_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    assert login(stranger, "durango@example.org", "not the password").status_code == 200
    assert login(stranger, "nobody@example.org", "not the password").status_code == 200
    assert login(stranger, "off@example.org").status_code == 200  # disabled
    owner = local_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert login(owner, "durango@example.org").status_code == 302
    with local_app.app_context():
        rows = db.session.execute(select(SignInAttempt.user_id, SignInAttempt.address,
                                         SignInAttempt.outcome).order_by(SignInAttempt.id)).all()
    durango, off = _user_id(local_app, "durango@example.org"), _user_id(local_app,
                                                                       "off@example.org")
    assert [tuple(r) for r in rows] == [
        (durango, "198.51.100.23", "wrong_password"), (None, "198.51.100.23", "unknown_account"),
        (off, "198.51.100.23", "disabled"), (durango, "203.0.113.9", "success")]
    page = owner.get("/account")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "198.51.100.23" in html and "Contraseña incorrecta" in html
    assert "203.0.113.9" in html and "Sesión iniciada" in html
    assert "Cuenta inexistente" not in html  # only the user's own attempts
    admin = local_app.test_client()
    login(admin, "admin@example.org")
    html = admin.get("/admin/users?lang=en").get_data(as_text=True)
    assert "Wrong password" in html and "Unknown account" in html and "Account disabled" in html
    assert "198.51.100.23" in html and "nobody@example.org" not in html  # never the email typed
    assert _user_row(html, "durango@example.org").count("<td>") >= 5
    assert re.search(r"durango@example\.org</th>.*?<td>\d{4}-\d\d-\d\d \d\d:\d\d</td><td>0</td>",
                     html, re.S)  # last sign-in, no failed attempt since


def _user_row(html: str, email: str) -> str:
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(email)}</th>.*?</tr>", html, re.S)
    assert row, email
    return row.group(0)


# --- Rate limits that do not lock the owner out ----------------------------------------------


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(local_app):
    stranger = _from(local_app, "192.0.2.66")
    codes = [login(stranger, "durango@example.org", f"wrong {i:02d} password").status_code
             for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    assert login(stranger, "durango@example.org").status_code == 429  # this address waits
    owner = _from(local_app, "203.0.113.10")
    assert login(owner, "durango@example.org").status_code == 302  # the owner is not locked out
    assert _signed_in(owner)


def test_the_429_page_says_how_long_to_wait_in_the_readers_language(local_app):
    stranger = _from(local_app, "192.0.2.67")
    for i in range(10):
        login(stranger, "durango@example.org", f"wrong {i:02d} password")
    spanish = login(stranger, "durango@example.org", "wrong again!!")
    html = spanish.get_data(as_text=True)
    assert spanish.status_code == 429 and 'class="site-header"' in html
    assert re.search(r"Podrá volver a intentarlo en 1[45] minutos", html), html
    assert 14 * 60 <= int(spanish.headers["Retry-After"]) <= 15 * 60 + 1
    english = stranger.post("/login?lang=en", data={"email": "durango@example.org",
                                                    "password": "wrong again!!"})
    assert re.search(r"You can try again in 1[45] minutes", english.get_data(as_text=True))


def test_limits_per_address_per_account_and_address_and_per_account(local_app):
    local_app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "25 per hour"
    # Per address, across accounts.
    crawler = _from(local_app, "192.0.2.70")
    codes = [login(crawler, f"nobody{i}@example.org", "wrong password!").status_code
             for i in range(11)]
    assert codes[-1] == 429
    # Per account from one address: the address can still sign in to another account.
    shared = _from(local_app, "192.0.2.71")
    for i in range(5):
        assert login(shared, "veracruz@example.org", f"wrong {i} password").status_code == 200
    assert login(shared, "durango@example.org").status_code == 302
    # The slower ceiling per account, whatever the address: 25 failures from 3 addresses.
    for n, address in enumerate(("192.0.2.80", "192.0.2.81", "192.0.2.82")):
        client = _from(local_app, address)
        for i in range(10 if n < 2 else 5):
            login(client, "veracruz@example.org", f"wrong {i} password")
    fresh = _from(local_app, "192.0.2.99")
    assert login(fresh, "veracruz@example.org").status_code == 429
    assert login(fresh, "durango@example.org").status_code == 302  # other accounts are fine


# --- ``next`` only to a path of this site -------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.example", "//evil.example/", "///evil.example", "////evil.example",
    "/\\evil.example", "\\/evil.example", "\\\\evil.example", "/\\/evil.example",
    "/%09/evil.example", "/\t/evil.example", "/%0A/evil.example", "/%0D/evil.example",
    "/%0D%0AX:y", "/\r\nX: y", "%2F%2Fevil.example", "/%2F%2Fevil.example", "/%2fevil.example",
    "/%5Cevil.example", "%5C%5Cevil.example", "https:evil.example", "https:/evil.example",
    "https://evil.example", "http://evil.example/", "HTTPS://evil.example", "//evil.example@x",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    " //evil.example", "/ /evil.example", "/.//evil.example", "/\u3002evil.example",
    "//evil%E3%80%82example", "/%E2%80%AE/evil.example", "evil.example", "@evil.example",
    "/\x00/evil.example", "/%00/evil.example", "x" * 600, "/" + "a" * 600,
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_never_leaves_the_site(local_app, target):
    client = local_app.test_client()
    response = client.post("/login", data={"email": "durango@example.org",
                                           "password": PASSWORD, "next": target})
    # 302 somewhere on this site, 400 (a control character in a field) or 200 (the form
    # again: a ``next`` over 500 characters is refused by the form).
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 200:
        assert len(target) > 500
    elif response.status_code == 302:
        location = response.headers["Location"]
        assert location == "/" or location.startswith("/") and not location.startswith(
            ("//", "/\\")), location
        assert urlsplit(urljoin("http://localhost/a/", location)).netloc == "localhost"
        assert not any(ch in location for ch in "\t\r\n\\")
    else:  # a control character in the form: the site's 400, nobody signed in
        assert 'class="site-header"' in response.get_data(as_text=True)
    for login_page in (client.get("/login", query_string={"next": target}),):
        assert login_page.status_code in (200, 302, 400)


@pytest.mark.parametrize("target", ["/states/10", "/commitments?state=10&sort=-plan",
                                    "/edit/states/10", "/states/10#historial"])
def test_next_follows_a_path_of_this_site(local_app, target):
    response = local_app.test_client().post("/login", data={
        "email": "durango@example.org", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == target


# --- Settings as documented ----------------------------------------------------------------------


def test_session_and_reset_settings_come_from_the_environment():
    from app.settings import load_settings

    values = load_settings("/nonexistent", {
        "FLASK_SESSION_IDLE_MINUTES": "15", "FLASK_SESSION_LIFETIME_MINUTES": "60",
        "FLASK_PASSWORD_RESET_HOURS": "2", "FLASK_LOGIN_ACCOUNT_RATE_LIMIT": "5 per hour"})
    assert (values["SESSION_IDLE_MINUTES"], values["SESSION_LIFETIME_MINUTES"],
            values["PASSWORD_RESET_HOURS"], values["LOGIN_ACCOUNT_RATE_LIMIT"]) == (
        15, 60, 2, "5 per hour")


def test_a_reset_link_survives_a_secret_key_rotation(local_app, as_user):
    link = _issue_reset(as_user("admin@example.org"), _user_id(local_app, "durango@example.org"))
    local_app.config.update(SECRET_KEY="a-new-secret-key", SECRET_KEY_FALLBACKS=["test-secret"])
    assert local_app.test_client().get(link).status_code == 200
    local_app.config.update(SECRET_KEY_FALLBACKS=[])
    assert local_app.test_client().get(link).status_code == 404
