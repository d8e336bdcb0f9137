"""Alembic migrations produce exactly the schema the models declare."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import alembic, db
from app.models import Base


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_matches_models_and_downgrade_removes_everything(make_app):
    app = make_app()
    with app.app_context():
        alembic.upgrade()
        engine = db.engine
        tables = set(sa.inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert _diff(engine) == []
        alembic.downgrade("base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}


def test_check_constraints_exist_in_the_migrated_database(make_app):
    app = make_app()
    with app.app_context():
        alembic.upgrade()
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO state (cve_ent, name, short_name, iso_3166_2, source) "
                    "VALUES ('09', 'Ciudad de México', 'CDMX', 'MX-CMX', 's')"
                )
            )
        try:
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO institution (key, name, level, kind, state_cve) "
                        "VALUES ('k', 'n', 'federal', 'Autonomo', '09')"
                    )
                )
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a federal institution with a state was accepted")


def test_the_session_token_migration_gives_existing_accounts_a_token(make_app):
    """1796400000: accounts created before it get a random session token each (so sessions
    signed before the upgrade end), and it goes down again."""
    app = make_app()
    with app.app_context():
        alembic.upgrade("1796400000-1")
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO app_user (email, name, password_hash, role, active, created_at)"
                    f" VALUES ('a{n}@example.org', 'A', 'h', 'admin', true, '2026-01-01')"))
        alembic.upgrade("1796400000")
        with db.engine.connect() as conn:
            tokens = conn.execute(sa.text("SELECT session_token FROM app_user")).scalars().all()
        assert len(tokens) == 2 and len(set(tokens)) == 2
        assert all(t and len(t) == 32 for t in tokens)
        alembic.downgrade("1796400000-1")
        assert "session_token" not in {c["name"] for c in sa.inspect(db.engine)
                                       .get_columns("app_user")}
        assert "sign_in_attempt" not in sa.inspect(db.engine).get_table_names()
