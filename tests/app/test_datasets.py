"""Datasets: every model declares its own, and every page's cache key covers what it reads.

A page is cached (and its ETag derived) from the revisions of the datasets its view declares
(``httpcache.cached_public``; all public datasets by default). These tests read which tables
each public page actually queries and check that the declared datasets cover them, so no
write can leave a page stale; and they replay the case that was stale: a source's title
changed through the audited path must show on /sources at once, with a new ETag.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import ORMExecuteState, Session

from app import records
from app.extensions import db
from app.models import (
    ActionPlan,
    AuditEvent,
    Commitment,
    DataRevision,
    Milestone,
    SignInAttempt,
    Source,
    User,
)

# Models that are not public data: accounts, the audit trail (written with the changes it
# records, whose datasets it bumps) and the revisions themselves.
NOT_DATA = {User, AuditEvent, DataRevision, SignInAttempt}

PAGES = ["/", "/states/", "/states/10", "/exercises", "/plans", "/plans/1", "/commitments",
         "/commitments/1", "/sources", "/metric/", "/map", "/map/exercises", "/map.csv",
         "/map.geojson", "/data", "/states/10/feed.atom", "/api/v1/states",
         "/api/v1/commitments", "/api/v1/sources", "/api/v1/changes"]


def test_every_model_declares_its_dataset_and_owners():
    for model in records.MODELS:
        if model in NOT_DATA:
            assert records.datasets_of_model(model) == (), model
            continue
        assert records.datasets_of_model(model), f"{model.__name__} declares no dataset"
        for column, owner in model.__owners__:
            assert column in model.__table__.c and owner in records.BY_NAME, model
    assert "sources" in records.public_datasets()


def test_a_milestone_is_filed_and_counted_like_its_plan(seeded_app):
    with seeded_app.app_context():
        s = db.session
        for scope, dataset in (("local", "local"), ("national", "national")):
            plan = s.scalars(sa.select(ActionPlan).where(ActionPlan.scope == scope)).first()
            commitment = plan.commitments[0]
            with s.no_autoflush:  # not flushed: the owner is read through the relationship
                milestone = Milestone(commitment=commitment, number=99, title="t")
                assert records.dataset_of(s, milestone) == dataset
                assert records.derive_context(s, milestone) == (plan.state_cve, commitment.id)
            s.rollback()


@contextmanager
def tables_read(app: Flask) -> Iterator[set[type]]:
    """Collect the models every ORM query of ``app``'s sessions touches meanwhile."""
    seen: set[type] = set()

    def collect(state: ORMExecuteState) -> None:
        if state.is_select:
            seen.update(mapper.class_ for mapper in state.all_mappers)

    sa.event.listen(Session, "do_orm_execute", collect)
    try:
        yield seen
    finally:
        sa.event.remove(Session, "do_orm_execute", collect)


def _declared(app: Flask, url: str) -> tuple[str, ...]:
    adapter = app.url_map.bind("localhost")
    endpoint, _args = adapter.match(url.split("?")[0])
    policy = getattr(app.view_functions[endpoint], "_httpcache", None)
    return (policy.datasets if policy is not None else ()) or records.public_datasets()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_declares_the_datasets_it_reads(seeded_app, url):
    with tables_read(seeded_app) as seen:
        response = seeded_app.test_client().get(url)
    assert response.status_code == 200, url
    read = {name for model in seen - NOT_DATA for name in records.datasets_of_model(model)}
    assert read <= set(_declared(seeded_app, url)), (url, read)


def test_a_corrected_source_title_shows_at_once_with_a_new_etag(seeded_app):
    """The stale case: a source's title changed through the audited path (as `flask seed all`
    does after correcting sources.csv) is on /sources and the commitment citing it at once."""
    client = seeded_app.test_client()
    with seeded_app.app_context():
        source = db.session.scalars(sa.select(Source).order_by(Source.id)).first()
        commitment = db.session.scalars(
            sa.select(Commitment).where(Commitment.source.contains(source.key))).first()
        urls = ["/sources", "/api/v1/sources"]
        if commitment is not None:
            urls.append(f"/commitments/{commitment.id}")
    before = {url: client.get(url) for url in urls}
    with seeded_app.app_context():
        source = db.session.get(Source, source.id)
        records.update(db.session, source, {"title": "Título corregido «prueba»"},
                       actor="seed", source=source.url or source.key)
        db.session.commit()
    for url in urls:
        again = client.get(url, headers={"If-None-Match": before[url].headers["ETag"]})
        assert again.status_code == 200, url
        assert again.headers["ETag"] != before[url].headers["ETag"], url
        assert "corregido «prueba»" in again.get_data(as_text=True).encode().decode(
            "unicode_escape" if url.startswith("/api/") else "utf-8"), url
