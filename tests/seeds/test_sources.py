"""The source registry: every seeded row cites registered sources; no file names leak."""

from __future__ import annotations

import pytest
from sqlalchemy import String, cast, select

from app.extensions import db
from app.models import Source, SourceLink
from seeds.base import SeedError
from seeds.sources import CITING_MODELS, SOURCES_CSV, check_source_cell, split_citations


def test_every_seeded_row_cites_at_least_one_registered_source(seeded_app):
    with seeded_app.app_context():
        for model in CITING_MODELS:
            entity = model.__tablename__
            pk = model.__mapper__.primary_key[0]
            cited = select(SourceLink.entity_id).where(SourceLink.entity == entity)
            uncited = db.session.scalars(
                select(pk).where(cast(pk, String).not_in(cited))
            ).all()
            assert uncited == [], f"{entity} rows without a source: {uncited[:5]}"
        sources = db.session.scalars(select(Source)).all()
        assert len(sources) > 100
        assert not [s.key for s in sources if "shared/sources" in (s.url or "") + s.title]


def test_a_cell_citing_an_unregistered_source_is_refused():
    with pytest.raises(SeedError, match=r"x.csv, row 3, field 'source'"):
        check_source_cell(SOURCES_CSV.with_name("x.csv"), 3, "shared/sources/001_x.txt: OGP")
    check_source_cell(SOURCES_CSV, 2, "mga-2019 | https://www.opengovpartnership.org/members/mexico/")
    citations = split_citations("mga-2017-resumen anexo 2 | mga-2019")
    assert [(c.ref, c.detail) for c in citations] == [
        ("mga-2017-resumen", "anexo 2"), ("mga-2019", None),
    ]
