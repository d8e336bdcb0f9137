"""Citations from the source registry: resolve a record's source cell, list every source.

A record's ``source`` text cites registered sources by key or public address, separated by
" | " (see ``seeds.sources``); anything else (an address typed by hand) is shown as it is,
linked when it is a web address. Functions take a session and never commit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Source, SourceLink

SEPARATOR = " | "


_IDENTIFIERS = re.compile(r"[A-Za-z][A-Za-z0-9_]*(, [A-Za-z][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Cited:
    """One citation as a page shows it: a registered source, or a plain address or text."""

    source: Source | None
    detail: str | None
    href: str | None
    text: str

    @property
    def detail_is_code(self) -> bool:
        """Whether the detail names columns of the source's file ("cve_ent, NOM_ENT"): shown
        as code, as written there."""
        return bool(self.detail and "_" in self.detail
                    and _IDENTIFIERS.fullmatch(self.detail))


def registry(session: Session) -> dict[str, Source]:
    """Every registered source by key and by public address."""
    refs: dict[str, Source] = {}
    for source in session.scalars(select(Source)):
        refs[source.key] = source
        if source.url:
            refs[source.url] = source
    return refs


def _parts(text: str) -> list[str]:
    if SEPARATOR in text:
        return text.split(SEPARATOR)
    return text.split("; ")  # free text written before the registry


def resolve(refs: dict[str, Source], text: str | None) -> list[Cited]:
    """Turn a source cell into citations, registered sources first-class."""
    cited = []
    for part in _parts(text or ""):
        part = part.strip()
        if not part:
            continue
        ref, _, detail = part.partition(" ")
        source = refs.get(ref)
        if source is not None:
            cited.append(Cited(source, detail.strip() or None, source.url, source.title))
        elif ref.startswith(("http://", "https://")):
            host = urlsplit(ref).netloc.removeprefix("www.")
            cited.append(Cited(None, detail.strip() or None, ref, host))
        else:
            cited.append(Cited(None, None, None, part))
    return cited


@dataclass
class SourceUse:
    source: Source
    uses: dict[str, int]  # cited by table -> records


def sources_list(session: Session) -> list[SourceUse]:
    """Every source with how many records of each kind cite it."""
    uses: dict[int, dict[str, int]] = defaultdict(dict)
    for source_id, entity, n in session.execute(
        select(SourceLink.source_id, SourceLink.entity, func.count())
        .group_by(SourceLink.source_id, SourceLink.entity)
    ):
        uses[source_id][entity] = n
    sources = session.scalars(select(Source).order_by(Source.publisher, Source.title)).all()
    return [SourceUse(s, uses.get(s.id, {})) for s in sources]
