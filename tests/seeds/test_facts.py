"""The dated programme facts: loaded with quote, basis and source, idempotent, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cli import run_loaders
from app.extensions import db
from app.models import ProgrammeFact
from seeds import LOADERS, SeedError
from seeds import facts as facts_module
from tests.app import editing_fixtures
from tests.seeds.seed_files import use_cell

local_app = editing_fixtures.local_app


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProgrammeFact)) or 0


def test_facts_load_after_the_plans_they_name_and_twice_changes_nothing(app):
    names = list(LOADERS)
    assert names.index("facts") > names.index("ogp_local") > names.index("local")
    with app.app_context():
        first = run_loaders(["states", "local", "ogp_local", "facts"])[-1]
        assert first.created == _count() > 10 and first.updated == 0
        again = run_loaders(["facts"])[0]
        assert (again.created, again.updated) == (0, 0)
        facts = {f.key: f for f in db.session.scalars(select(ProgrammeFact))}
        conflicts = [f for f in facts.values() if f.kind == "conflict"]
        assert conflicts and all("conflicto" in f.text for f in conflicts)
        assert all(f.quote and f.source for f in facts.values())
        chihuahua = facts["chh-primer-plan-fecha"]
        assert chihuahua.plan is not None and chihuahua.plan.key == (
            "ogp-local-08-chihuahua-2023-2024")


@pytest.mark.parametrize(
    ("row_index", "field", "value", "message"),
    [
        (0, "plan_key", "local-99", "programme_facts.csv, row 2, field 'plan_key'"),
        (1, "as_of", "febrero 2019", "programme_facts.csv, row 3, field 'as_of'"),
        (2, "basis", "rumour", "programme_facts.csv, row 4, field 'basis'"),
        (9, "reasoning", "", "programme_facts.csv, row 11, field 'reasoning'"),
    ],
)
def test_a_bad_fact_names_file_row_and_field_and_stores_nothing(
    local_app, tmp_path, monkeypatch, row_index, field, value, message
):
    """On the prepared database of the local plans (``local_app``), the OGP Local plans the
    facts name are loaded, then the bad facts file."""
    use_cell(monkeypatch, tmp_path, facts_module, "FACTS_CSV", row_index, field, value)
    with local_app.app_context():
        run_loaders(["ogp_local"])
        with pytest.raises(SeedError, match=message):
            run_loaders(["facts"])
        assert _count() == 0
