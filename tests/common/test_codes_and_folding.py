"""One text-folding function (Python and SQL agree) and code lists declared once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import State
from common import codes
from common.text import TRANSLATE_FROM, fold, fold_words, folded
from metrics import readers

SAMPLES = [
    "Querétaro", "QUERÉTARO", "Michoacán de Ocampo", "Ñuu Savi", "CIUDAD DE MÉXICO",
    "Nuevo León", "Güémez", "São Paulo", "Àéîõü ÇÃ", "Ångström", "façade", "Œuvre",
    "plain ascii", "", "100% (acceso)", "ÁÉÍÓÚÜÑ áéíóúüñ",
]


def test_fold_strips_case_and_accents():
    assert fold("Querétaro") == "queretaro"
    assert fold("ÑANDÚ") == "nandu"
    assert fold_words("Mpio. de  Coyoacán") == "mpio de coyoacan"


def test_sql_and_python_fold_agree(app: Flask):
    """The same strings fold the same in the database (SQLite or PostgreSQL) and in Python."""
    with app.app_context():
        names = [s for (s,) in db.session.execute(sa.select(State.name))]
        strings = [*SAMPLES, *names, TRANSLATE_FROM]
        for text in strings:
            in_sql = db.session.scalar(sa.select(folded(sa.literal(text, sa.Text))))
            assert in_sql == fold(text), text


def test_search_and_sort_use_the_same_folding(seeded_app: Flask):
    client = seeded_app.test_client()
    accented = client.get("/exercises?q=QUERÉTARO&format=json").get_json()
    plain = client.get("/exercises?q=queretaro&format=json").get_json()
    assert accented == plain and [r["state"] for r in plain] == ["Querétaro"]


@pytest.mark.parametrize("code_list", [
    codes.INDICES, codes.LEVELS, codes.INSTITUTION_TYPES, codes.STAGES, codes.SECTORS,
    codes.SCOPES, codes.MILESTONE_STATUSES, codes.PROGRESS_STATES, codes.GROUPINGS,
])
def test_every_code_has_a_label(code_list):
    assert code_list.codes and all(code_list.label(c) for c in code_list.codes)
    assert code_list.label("not-a-code") == "not-a-code"


def test_the_engine_and_the_readers_use_the_declared_codes():
    from metrics import INDICES, SUBINDICES

    assert tuple(INDICES) == codes.INDICES.codes and tuple(SUBINDICES) == codes.SUBINDICES
    assert set(readers.LEVELS) == set(codes.LEVELS.codes)
    assert set(readers.KINDS) == set(codes.INSTITUTION_TYPES.codes)


def test_check_constraints_come_from_the_code_lists():
    from app.models import LocalExercise, Milestone

    text = " ".join(str(c.sqltext) for c in LocalExercise.__table__.constraints
                    if isinstance(c, sa.CheckConstraint))
    assert all(f"'{s}'" in text for s in codes.STAGES.codes)
    text = " ".join(str(c.sqltext) for c in Milestone.__table__.constraints
                    if isinstance(c, sa.CheckConstraint))
    assert all(f"'{s}'" in text for s in codes.MILESTONE_STATUSES.codes)


def test_labels_translate_in_a_request(app: Flask):
    with app.test_request_context("/?lang=en"):
        assert codes.STAGES["plan"] == "Plan published"
    assert codes.STAGES["plan"] == "Plan publicado"  # outside a request: the Spanish text
