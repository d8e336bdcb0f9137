"""The source registry (``sources.csv``) and the links from every seeded row to its sources.

A seed file's ``source`` cell cites one or more registered sources, separated by " | ". Each
citation is a reference, a key of ``sources.csv`` or the public address of a registered source,
optionally followed by a space and where in the source the fact is ("anexo 2, pp. 34-35"):

    mga-2017-resumen anexo 2 | https://opengovpartnership.org/members/mexico/commitments/MX0075

``read_csv`` refuses a cell that cites an unregistered source (file, row, field). After each
loader, ``link_sources`` makes the ``source_link`` rows of every record with a ``source`` column
match its cell: a record cites exactly the sources its cell names, and loading twice changes
nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import ScalarResult
from sqlalchemy.orm import Session

from app import models, records
from app.models import Base, Source, SourceLink
from app.schema.records import SOURCE

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, seed_record

SOURCES_CSV = DATA_DIR / "sources.csv"
SEPARATOR = " | "
# Hosts that carry copies of documents other publishers made (document-sharing sites, a mirror
# of a newspaper, a digital newsstand). A source at one of them is recorded as a copy: its
# ``copy_host`` names the host, publisher/title/date are the original's, and ``original_url``
# (or, when the original's address is not known, ``note``) names the original.
COPY_HOSTS = (
    "fdocuments.mx", "fdocuments.net", "fdocuments.es", "fdocuments.ec", "fdocumento.com",
    "pdfslide.net", "docslib.org", "yumpu.com", "scribd.com", "studylib.es", "documentop.com",
    "gfjx.asia", "pressreader.com",
)
# Every table whose rows carry a ``source`` cell from the seed files.
Citing = (
    models.State | models.LocalExercise | models.StlMember | models.ProgrammeCount
    | models.ProgrammeCountPlan | models.ActionPlan | models.Commitment | models.Assessment
    | models.ProgrammeFact | models.MetricRound | models.PublishedFigure
)
C = TypeVar("C", bound=Citing)
CITING_MODELS: tuple[type[Citing], ...] = (
    models.State, models.LocalExercise, models.StlMember, models.ProgrammeCount,
    models.ProgrammeCountPlan, models.ActionPlan, models.Commitment, models.Assessment,
    models.ProgrammeFact, models.MetricRound, models.PublishedFigure,
)


@dataclass(frozen=True)
class Citation:
    """One reference of a source cell: the source's key and where in it (may be empty)."""

    ref: str
    detail: str | None


def split_citations(text: str | None) -> list[Citation]:
    """Split a source cell into its citations (reference first, detail after a space)."""
    citations = []
    for part in (text or "").split(SEPARATOR):
        part = part.strip()
        if part:
            ref, _, detail = part.partition(" ")
            citations.append(Citation(ref, detail.strip() or None))
    return citations


def _read_registry(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return [
            (n, {k: (v or "").strip() or None for k, v in row.items()})
            for n, row in enumerate(reader, start=2)
        ]


@lru_cache(maxsize=4)
def registry_refs(path: Path = SOURCES_CSV) -> dict[str, str]:
    """Return every reference a seed cell may use (key or public address) -> source key."""
    refs: dict[str, str] = {}
    for _, row in _read_registry(path):
        if key := row.get("key"):
            refs[key] = key
            if url := row.get("url"):
                refs[url] = key
    return refs


def check_source_cell(path: Path, row: int, text: str | None) -> None:
    """Refuse a cell that names no source or one that is not in the registry."""
    refs = registry_refs()
    citations = split_citations(text)
    if not citations:
        raise SeedError(path, row, "source", "is empty but required")
    for citation in citations:
        if citation.ref not in refs:
            raise SeedError(
                path, row, "source",
                f"'{citation.ref}' is not a key or address of {SOURCES_CSV.name}",
            )


def url_host(url: str | None) -> str:
    """The host of ``url`` ("" when there is none)."""
    return (urlsplit(url).hostname or "") if url else ""


def is_copy_host(host: str) -> bool:
    """Whether ``host`` is (a subdomain of) one of COPY_HOSTS."""
    return any(host == h or host.endswith("." + h) for h in COPY_HOSTS)


def _check_copy(path: Path, number: int, row: dict[str, Any]) -> None:
    """A source at a host that carries copies names that host and is listed under its
    original's publisher (the schema's rules ask for the original's address or a note)."""
    host, copy_host = url_host(row.get("url")), row.get("copy_host")
    if is_copy_host(host) and copy_host != host:
        raise SeedError(path, number, "copy_host",
                        f"'{host}' carries copies: the row must name it as copy_host")
    if copy_host:
        if copy_host != host:
            raise SeedError(path, number, "copy_host", f"'{copy_host}' is not the host of url")
        if "copia" in (row.get("publisher") or "").lower():
            raise SeedError(path, number, "publisher",
                            "a copy is listed under its original's publisher, not the copy's")


def load_sources(session: Session) -> LoadReport:
    """Load the registry: one Source per row of sources.csv, read by the source schema."""
    report = LoadReport("sources")
    keys: set[str] = set()
    urls: set[str] = set()
    for number, row in _read_registry(SOURCES_CSV):
        values = seed_record(SOURCES_CSV, number, SOURCE, {
            f.name: (f.name, row.get(f.name) or ("printed" if f.name == "title_basis" else None))
            for f in SOURCE.fields})
        key, url = values.pop("key"), values["url"]
        if " " in key or key in keys:
            raise SeedError(SOURCES_CSV, number, "key", f"'{key}' has a space or appears twice")
        if url and url in urls:
            raise SeedError(SOURCES_CSV, number, "url", f"'{url}' is not a unique web address")
        _check_copy(SOURCES_CSV, number, values)
        keys.add(key)
        if url:
            urls.add(url)
        _, outcome = records.upsert(
            session, Source, {"key": key}, values,
            actor=SEED_ACTOR, source=url or key, summary=values["title"],
        )
        report.count(outcome)
    return report


def _required(row: dict[str, str | None], number: int, name: str) -> str:
    value = row.get(name)
    if not value:
        raise SeedError(SOURCES_CSV, number, name, "is empty but required")
    return value


def _entity_id(obj: Base) -> str:
    return str(obj.__mapper__.primary_key_from_instance(obj)[0])


def _rows(session: Session, model: type[C]) -> ScalarResult[C]:
    return session.scalars(select(model))


def link_sources(session: Session, models: Iterable[type[Citing]] = CITING_MODELS) -> int:
    """Make every record's source links match its source cell; return the links changed.

    The links are written through the audited path like every other row (actor ``seed``, the
    cited source as the event's source), so the history and the "sources" revision see them.
    """
    session.flush()
    by_ref: dict[str, Source] = {}
    for registered in session.scalars(select(Source)):
        by_ref[registered.key] = registered
        if registered.url:
            by_ref[registered.url] = registered
    batches: dict[str, records.Batch] = {}

    def batch(ref: str) -> records.Batch:
        if ref not in batches:
            batches[ref] = records.Batch(session, actor=SEED_ACTOR, source=ref)
        return batches[ref]

    changed = 0
    for model in models:
        entity = model.__tablename__
        existing: dict[tuple[str, int], SourceLink] = {
            (link.entity_id, link.source_id): link
            for link in session.scalars(select(SourceLink).where(SourceLink.entity == entity))
        }
        wanted: set[tuple[str, int]] = set()
        for obj in _rows(session, model):
            entity_id = _entity_id(obj)
            for citation in split_citations(obj.source):
                cited = by_ref.get(citation.ref)
                if cited is None:  # not a registered source (e.g. an address typed by hand)
                    continue
                ident = (entity_id, cited.id)
                if ident in wanted:
                    continue
                wanted.add(ident)
                link = existing.get(ident)
                summary = f"{entity} {entity_id} → {cited.key}"
                if link is None:
                    batch(cited.key).create(SourceLink, {
                        "source_id": cited.id, "entity": entity, "entity_id": entity_id,
                        "detail": citation.detail,
                    }, summary=summary)
                    changed += 1
                elif batch(cited.key).update(link, {"detail": citation.detail},
                                              summary=summary):
                    changed += 1
        for (entity_id, _source_id), link in existing.items():
            if (entity_id, _source_id) not in wanted:
                batch(link.source.key).hard_delete(
                    link, summary=f"{entity} {entity_id} → {link.source.key}")
                changed += 1
    for pending in batches.values():
        pending.flush()
    return changed
