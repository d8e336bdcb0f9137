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
