"""The application factory and its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.settings import SETTINGS, load_settings, settings_markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_missing_secret_key_outside_development_is_an_error(monkeypatch, tmp_path):
    for name in ("FLASK_SECRET_KEY", "FLASK_DEVELOPMENT", "FLASK_TESTING"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_development_mode_runs_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_DEVELOPMENT", "1")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["DEVELOPMENT"] is True
    assert app.config["SECRET_KEY"]


def test_default_database_is_sqlite_under_instance(tmp_path):
    values = load_settings(str(tmp_path), environ={})
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'estado.sqlite3'}"
    assert values["BABEL_DEFAULT_LOCALE"] == "es"


def test_database_url_environment_selects_postgresql(tmp_path):
    url = "postgresql+psycopg://u:p@127.0.0.1/db"
    assert load_settings(str(tmp_path), environ={"DATABASE_URL": url})["DATABASE_URL"] == url


def test_environment_values_take_the_type_of_the_default(tmp_path):
    values = load_settings(
        str(tmp_path), environ={"FLASK_PAGE_SIZE": "20", "FLASK_LANGUAGES": "en, es"}
    )
    assert values["PAGE_SIZE"] == 20
    assert values["LANGUAGES"] == ("en", "es")


def test_test_config_overrides_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_PAGE_SIZE", "20")
    app = create_app({"TESTING": True, "PAGE_SIZE": 7, "DATABASE_URL": f"sqlite:///{tmp_path}/x"})
    assert app.config["PAGE_SIZE"] == 7
    assert app.config["SQLALCHEMY_ENGINES"]["default"] == f"sqlite:///{tmp_path}/x"


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_markdown_table() in readme, "run: python -m app.settings to refresh README"
    assert len(SETTINGS) == len({s.name for s in SETTINGS})


def test_every_area_blueprint_is_registered(app):
    assert {"main", "states"} <= set(app.blueprints)


def _sample_urls(app) -> dict[str, list[object]]:
    """Every rule of ``app`` built with sample values (and with an unknown argument, which
    goes to the query string), or the error building raised."""
    samples = {"IdConverter": 7, "IntegerConverter": 7, "StateCodeConverter": "10",
               "PathConverter": "a/b c", "UnicodeConverter": "ñ x/?"}
    urls: dict[str, list[object]] = {}
    for rule in app.url_map.iter_rules():
        values = {name: samples.get(type(converter).__name__, "x")
                  for name, converter in rule._converters.items()}
        built: list[object] = []
        for extra in ({}, {"q": "á b&c", "page": 2}):
            try:
                built.append(rule.build({**values, **extra}, append_unknown=bool(extra)))
            except Exception as error:  # noqa: BLE001  (compared: both ways must fail alike)
                built.append(type(error).__name__)
        urls[f"{rule.endpoint} {rule.rule}"] = built
    return urls


def test_the_tests_reused_url_builders_build_what_werkzeug_builds(make_app, monkeypatch):
    """tests/databases.py's ReusedBuilderRule (each app of the suite reuses the URL builders
    Werkzeug generated for the first) builds every URL as Werkzeug's own Rule does."""
    from flask import Flask
    from werkzeug.routing import Rule

    from tests.databases import ReusedBuilderRule

    assert Flask.url_rule_class is ReusedBuilderRule
    first, reusing = make_app(), make_app()
    shared = [r for r, f in zip(reusing.url_map.iter_rules(), first.url_map.iter_rules(),
                                strict=True)
              if r._build.__func__ is f._build.__func__]
    assert len(shared) > 50  # the second app did reuse the first one's builders
    monkeypatch.setattr(Flask, "url_rule_class", Rule)
    plain = make_app()
    assert not any(isinstance(r, ReusedBuilderRule) for r in plain.url_map.iter_rules())
    expected = _sample_urls(plain)
    assert _sample_urls(reusing) == expected
    assert sum(isinstance(u[1], tuple) and "?q=" in u[1][1] for u in expected.values()) > 50


@pytest.mark.own_database("reads what each app's own engine compiles")
def test_test_apps_share_compiled_statements_across_engines_of_the_same_kind(states_app,
                                                                           make_app):
    """tests/databases.py's SharedStatementCache: a second app's engine finds the SQL the
    first compiled (same page, same answer), and an engine whose dialect is set differently
    does not."""
    import sqlalchemy as sa

    from app.extensions import db
    from tests.databases import SharedStatementCache

    cache = SharedStatementCache()
    pages, sizes = [], []
    for app in (states_app, make_app()):
        with app.app_context():
            db.engine.update_execution_options(compiled_cache=cache)
        response = app.test_client().get("/")
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True))
        sizes.append(len(cache))
    compiled = sizes[0]
    # The second app found nearly all of its SQL (a few statements' keys are made anew per
    # app, as they would be per engine); its page is the same.
    assert compiled > 20 and sizes[1] - compiled <= compiled // 5
    assert pages[0] == pages[1]
    compiled = sizes[1]

    statement = sa.select(sa.literal_column("1").label("a_rather_long_label_name"))
    for options in ({}, {"label_length": 10}):
        engine = sa.create_engine(str(make_app().config["DATABASE_URL"]), **options)
        with engine.connect() as conn:
            conn.execution_options(compiled_cache=cache).execute(statement)
        engine.dispose()
    assert len(cache) == compiled + 2  # the second dialect compiled it again


def test_a_shared_postgresql_database_is_as_new_for_each_test(databases):
    """tests/databases.py's Isolation: what a test sharing a copy commits through its apps
    (rows, and the ids its sequences gave) is gone for the next test that shares it; the
    shared connection itself cannot be committed."""
    from sqlalchemy import func, select

    from app.accounts.service import create_user
    from app.extensions import db
    from app.models import State, User
    from tests.databases import build_app, dispose

    if databases.server_url is None:
        pytest.skip("PostgreSQL's shared copies: on SQLite every test has a copy of its own")

    def one_test() -> tuple[int, int]:
        isolation = databases.isolated("states")
        app = build_app(isolation.url.render_as_string(hide_password=False))
        isolation.adopt(app)
        try:
            with app.app_context():
                states = db.session.scalar(select(func.count()).select_from(State))
                user = create_user(db.session, "isolation@example.org", "correct horse battery",
                                   role="admin", agency="SYNTHETIC agency")
                db.session.commit()
                user_id = user.id
            with app.app_context():  # another session of the test sees the commit
                assert db.session.get(User, user_id) is not None
            with pytest.raises(AssertionError, match="own_database"):
                isolation.connection.commit()
        finally:
            dispose(app)
            assert isolation.end()
        return states, user_id

    first = one_test()
    assert first[0] == 32
    assert one_test() == first  # the account is gone, and the next one gets the same id
