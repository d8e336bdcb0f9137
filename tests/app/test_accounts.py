"""Accounts: `flask users`, sign-in with CSRF and rate limits, security headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Base, User
from tests.app import editing_fixtures
from tests.app.editing_fixtures import PASSWORD, login

local_app = editing_fixtures.local_app


def _count_users(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_a_fresh_database_has_no_account(seeded_app):
    assert _count_users(seeded_app) == 0


def test_users_create_list_disable(app, runner):
    from app.cli import run_loaders

    with app.app_context():
        run_loaders(["states"])
    result = runner.invoke(args=["users", "create", "Ed@Example.org", "--role", "editor",
                                 "--state", "10", "--agency", "IDAIP Durango",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "boss@example.org", "--role", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["users", "list"]).output
    assert "ed@example.org\teditor\t10\tIDAIP Durango\tactive" in listed
    assert "boss@example.org\tadmin" in listed
    assert runner.invoke(args=["users", "disable", "ed@example.org"]).exit_code == 0
    assert "ed@example.org\teditor\t10\tIDAIP Durango\tdisabled" in runner.invoke(
        args=["users", "list"]).output
    with app.app_context():
        stored = db.session.scalars(select(User.password_hash)).all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)


def test_users_create_refuses_bad_accounts(app, runner):
    from app.cli import run_loaders

    with app.app_context():
        run_loaders(["states"])
    cases = [
        (["x@example.org", "--role", "editor", "--agency", "A"], "needs --state"),
        (["x@example.org", "--role", "editor", "--state", "99", "--agency", "A"], "needs --state"),
        (["x@example.org", "--role", "editor", "--state", "10"], "needs --agency"),
        (["x@example.org", "--role", "admin", "--state", "10"], "belongs to no state"),
        (["not-an-email", "--role", "admin"], "not an email"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["users", "create", *args, "--password", PASSWORD])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    short = runner.invoke(args=["users", "create", "x@example.org", "--role", "admin",
                                "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output
    assert _count_users(app) == 0


def test_login_logout_and_wrong_password(local_app):
    client = local_app.test_client()
    assert login(client, "durango@example.org", "wrong password!").status_code == 200
    assert client.get("/edit/milestone/new/1").status_code == 302  # still anonymous
    response = login(client, "DURANGO@example.org ")
    assert response.status_code == 302
    assert "IDAIP Durango" in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert "IDAIP Durango" not in client.get("/").get_data(as_text=True)


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(local_app):
    assert login(local_app.test_client(), "off@example.org").status_code == 200
    client = local_app.test_client()
    assert login(client, "durango@example.org").status_code == 302
    with local_app.app_context():
        db.session.scalars(select(User).where(User.email == "durango@example.org")).one() \
            .active = False
        db.session.commit()
    assert client.get("/account/password").status_code == 302  # back to sign in


def test_next_only_follows_paths_on_this_site(local_app):
    client = local_app.test_client()
    for target, expected in (("/states/10", "/states/10"), ("//evil.example/", "/"),
                             ("https://evil.example/", "/")):
        response = client.post("/login", data={"email": "durango@example.org",
                                               "password": PASSWORD, "next": target})
        assert response.headers["Location"] == expected
        client.post("/logout")


def test_login_form_has_a_csrf_token_and_a_post_without_it_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    from app.models import Base

    with app.app_context():
        Base.metadata.create_all(db.engine)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page
    refused = client.post("/login", data={"email": "a@example.org", "password": "x" * 12})
    assert refused.status_code == 400
    # The site's own words, in the reader's language (Flask-WTF's reason is English).
    assert "Formulario caducado" in refused.get_data(as_text=True)
    assert "The CSRF token" not in refused.get_data(as_text=True)
    accepted = client.post("/login", data={"email": "a@example.org", "password": "x" * 12,
                                           "csrf_token": token.group(1)})
    assert accepted.status_code == 200  # the form again: wrong credentials, not refused
    assert client.post("/logout").status_code == 400


def test_quick_wrong_logins_are_rate_limited_per_account_and_per_address(local_app):
    client = local_app.test_client()
    codes = [login(client, "durango@example.org", f"wrong {i:02d} password").status_code
             for i in range(30)]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
    # The right password is refused too from this address while it is limited.
    assert login(client, "durango@example.org").status_code == 429
    other = local_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    # From another address the owner signs in: a stranger cannot lock the account out
    # (tests/app/test_account_trust.py has the slower ceiling per account).
    assert login(other, "durango@example.org").status_code == 302
    assert login(local_app.test_client(), "veracruz@example.org").status_code == 429  # address
    third = local_app.test_client()
    third.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    codes = [login(third, f"nobody{i}@example.org", "wrong password!").status_code
             for i in range(11)]
    assert codes[-1] == 429  # per address, across accounts


def test_security_headers_and_cookies(make_app):
    app = make_app(TESTING=False, SECRET_KEY="k" * 32)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_password_change(local_app):
    client = local_app.test_client()
    login(client, "durango@example.org")
    new = "another long passphrase"
    wrong = client.post("/account/password",
                        data={"current": "nope", "new": new, "confirm": new})
    assert wrong.status_code == 200 and "no es correcta" in wrong.get_data(as_text=True)
    assert client.post("/account/password",
                       data={"current": PASSWORD, "new": new, "confirm": new}).status_code == 302
    client.post("/logout")
    assert login(client, "durango@example.org").status_code == 200
    assert login(client, "durango@example.org", new).status_code == 302


@pytest.mark.parametrize("proxies, other_client_limited", [(1, False), (0, True)])
def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(
        make_app, proxies, other_client_limited):
    app = make_app(TRUSTED_PROXIES=proxies)
    with app.app_context():
        Base.metadata.create_all(db.engine)
    clients = []
    for address in ("203.0.113.1", "203.0.113.2"):  # both reach the app from the proxy
        client = app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        clients.append(client)
    codes = [login(clients[0], f"nobody{i}@example.org", "wrong password!").status_code
             for i in range(11)]
    assert codes[-1] == 429
    other = login(clients[1], "someone@example.org", "wrong password!").status_code
    # Trusted: the forwarded address is the client's. Not trusted: everyone is the proxy.
    assert (other == 429) is other_client_limited
