"""Import a round file into the database: all or nothing, idempotent, with a report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from app.models import (
    Institution,
    InstitutionAlias,
    MetricRound,
    MetricScore,
    State,
    User,
)
from app.models.base import Base, utcnow
from app.records import WITH_DELETED, Batch
from metrics import INDICES, SchemeError, compute_indices, validate_scheme
from metrics.names import institution_key, state_lookup
from metrics.readers import FORMATS, ReadError, Repair, read_round

SCORE_ATTRIBUTES = {i: i.lower() for i in INDICES}
IMPORT_ACTOR = "import"  # the actor of the audit events an import records


class RoundImportError(ValueError):
    """An import that cannot go ahead; the message says why (and names the row if one)."""


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    year: int
    path: str
    fmt: str
    rows_read: int = 0
    institutions_created: int = 0
    institutions_matched: int = 0
    aliases_added: int = 0
    scores_created: int = 0
    scores_updated: int = 0
    scores_unchanged: int = 0
    scores_removed: int = 0
    repairs: list[Repair] = field(default_factory=list)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.institutions_created or self.aliases_added or self.scores_created
            or self.scores_updated or self.scores_removed
        )

    def lines(self) -> list[str]:
        """Return the report as lines of text for the command line."""
        out = [
            f"Round {self.year} from {self.path} (format {self.fmt})",
            f"  rows read: {self.rows_read}",
            f"  institutions: {self.institutions_created} created, "
            f"{self.institutions_matched} matched",
            f"  name variants recorded as aliases: {self.aliases_added}",
            f"  scores: {self.scores_created} created, {self.scores_updated} updated, "
            f"{self.scores_unchanged} unchanged, {self.scores_removed} removed",
            f"  names repaired: {len(self.repairs)}",
        ]
        out += [f"    row {r.row}: {r.before!r} -> {r.after!r} ({'; '.join(r.notes)})"
                for r in self.repairs]
        out.append(f"  values rejected: {len(self.rejected)}")
        out += [
            f"    row {r.row}, field {r.field}: {r.value!r} {r.reason}"
            for r in self.rejected.itertuples(index=False)
        ]
        out += [f"  note: {n}" for n in self.notes]
        if not self.changed:
            out.append("  nothing changed")
        return out


def detect_format(path: Path) -> str:
    """Guess the format from the header: the 2017 file has SO and edo columns."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return "standard"
    with path.open("rb") as handle:  # the header only, never the whole file
        first = handle.readline(65536).removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    columns = {c.strip() for c in first.split(",")}
    return "inai-2017" if {"SO", "edo", "niv", "ts"} <= columns else "standard"


def read_scheme_file(path: Path) -> dict[str, dict[str, float]]:
    """Read and validate a weight scheme from a JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RoundImportError(f"{path.name}: not a readable JSON weight scheme ({exc})") from None
    try:
        return validate_scheme(data)
    except SchemeError as exc:
        raise RoundImportError(f"{path.name}: {exc}") from None


def _states(session: Session) -> dict[str, str]:
    rows = session.execute(select(State.cve_ent, State.name, State.short_name)).all()
    if not rows:
        raise RoundImportError(
            "no states in the database: load them first with `flask seed states`"
        )
    return state_lookup({cve: (name, short) for cve, name, short in rows})


def _float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Rows written per step: new rows go in with Core bulk INSERTs of this many, their events
# with them, and the ORM objects of the step (matched institutions, updated scores) are
# flushed and let go, so memory stays flat however long the file.
CHUNK_ROWS = 5000
_TEXT_COLUMNS = ("row", "key", "name", "level", "kind", "state", "municipality_code",
                 "source_name")


def _float_columns(part: pd.DataFrame, columns: list[str]) -> dict[str, list[float | None]]:
    """Return the columns as lists of floats, missing values as None."""
    out = {}
    for column in columns:
        values = pd.to_numeric(part[column], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        out[column] = [None if v != v else v for v in values.tolist()]
    return out


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` with one Core executemany; return their new ids, in the rows' order."""
    if not rows:
        return []
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())


class _RoundWriter:
    """Writes a computed round frame: matches institutions, inserts, updates, records.

    Keeps only small state per row (institution key -> id, alias key -> institution id,
    institution id -> the row that used it); everything else lives for one chunk of rows.
    """

    def __init__(
        self, session: Session, batch: Batch, metric_round: MetricRound, report: ImportReport,
        path: Path, explicit_keys: bool,
    ):
        self.session, self.batch, self.round = session, batch, metric_round
        self.report, self.path, self.explicit_keys = report, path, explicit_keys
        self.year = metric_round.year
        # iter(): a Result has keys(), which dict() would take for a mapping's.
        self.by_key: dict[str, int] = dict(iter(session.execute(
            select(Institution.key, Institution.id).execution_options(**WITH_DELETED)
        )))
        known = set(self.by_key.values())
        # Name variant -> institution id; new institutions get a negative placeholder until
        # their chunk is inserted.
        self.by_alias: dict[str, int] = {
            alias_key: institution_id
            for alias_key, institution_id in session.execute(
                select(InstitutionAlias.alias_key, InstitutionAlias.institution_id)
                .execution_options(**WITH_DELETED)
            )
            if institution_id in known
        }
        del known
        # Institutions that have a score in this round already (deleted ones included).
        self.scored: set[int] = set(
            session.scalars(
                select(MetricScore.institution_id).where(MetricScore.round_id == metric_round.id)
                .execution_options(**WITH_DELETED)
            )
        )
        self.seen: dict[int, int] = {}  # institution id -> the file's row that has it

    def _institutions(self, ids: set[int]) -> dict[int, Institution]:
        if not ids:
            return {}
        found: dict[int, Institution] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK_ROWS):
            part = ordered[start:start + CHUNK_ROWS]
            found.update(
                (i.id, i) for i in self.session.scalars(
                    select(Institution).where(Institution.id.in_(part))
                    .execution_options(**WITH_DELETED)
                )
            )
        return found

    def write(self, frame: pd.DataFrame, progress: bool) -> None:
        indices = list(SCORE_ATTRIBUTES)
        components = [c for c in frame.columns if "." in str(c)]
        with tqdm(total=len(frame), desc=f"round {self.year}", unit="row",
                  disable=not progress) as bar:
            for start in range(0, len(frame), CHUNK_ROWS):
                part = frame.iloc[start:start + CHUNK_ROWS]
                self._chunk(part, indices, components)
                bar.update(len(part))
        self._remove_missing()

    def _chunk(self, part: pd.DataFrame, indices: list[str], components: list[str]) -> None:
        report, by_key, by_alias, seen = self.report, self.by_key, self.by_alias, self.seen
        text = {c: part[c].tolist() for c in _TEXT_COLUMNS}
        numbers = _float_columns(part, indices + components)
        states = [_text(v) for v in text["state"]]
        alias_keys = [
            institution_key(level, state, name)
            for level, state, name in zip(text["level"], states, text["name"], strict=True)
        ]
        found = chain((by_key.get(k) for k in text["key"]), (by_alias.get(a) for a in alias_keys))
        candidates = {i for i in found if i is not None}
        institutions = self._institutions(candidates)  # matched ones, as ORM objects
        new_institutions: list[dict[str, Any]] = []  # placeholder id -k is item k-1
        new_aliases: list[dict[str, Any]] = []
        new_scores: list[dict[str, Any]] = []
        updates: list[tuple[int, dict[str, Any]]] = []

        def key_of(institution_id: int) -> str:
            if institution_id < 0:
                return new_institutions[-institution_id - 1]["key"]
            if institution_id not in institutions:
                institutions.update(self._institutions({institution_id}))
            return institutions[institution_id].key

        for i, (number, key, name, level) in enumerate(
            zip(text["row"], text["key"], text["name"], text["level"], strict=True)
        ):
            number = int(number)
            state, alias_key = states[i], alias_keys[i]
            municipality_code = _text(text["municipality_code"][i])
            institution_id = by_key.get(key)
            if institution_id is None and not (self.explicit_keys and key != alias_key):
                institution_id = by_alias.get(alias_key)
            if institution_id is None:
                new_institutions.append({
                    "key": key, "name": name, "level": level, "kind": text["kind"][i],
                    "state_cve": state, "municipality_code": municipality_code,
                })
                institution_id = -len(new_institutions)
                report.institutions_created += 1
            else:
                report.institutions_matched += 1
                if institution_id > 0:  # one created by an earlier row has this row's level
                    key_of(institution_id)
                    institution = institutions[institution_id]
                    if (institution.level, institution.state_cve) != (level, state):
                        raise ReadError(
                            self.path, number, "institution",
                            f"key {institution.key!r} belongs to a {institution.level} "
                            f"institution of state {institution.state_cve or 'federal'}",
                        )
                    if municipality_code and not institution.municipality_code:
                        self.batch.update(
                            institution, {"municipality_code": municipality_code},
                            summary=institution.name,
                        )
            if institution_id in seen:
                raise ReadError(
                    self.path, number, "institution",
                    f"the same institution as row {seen[institution_id]} "
                    f"({key_of(institution_id)!r})",
                )
            seen[institution_id] = number
            owner = by_alias.get(alias_key)
            if owner is None:
                new_aliases.append(
                    {"institution_id": institution_id, "name": name, "alias_key": alias_key}
                )
                by_alias[alias_key] = institution_id
                report.aliases_added += 1
            elif owner != institution_id:
                raise ReadError(
                    self.path, number, "key",
                    f"the name {name!r} is already a variant of institution {key_of(owner)!r}",
                )
            values: dict[str, Any] = {
                attr: numbers[index][i] for index, attr in SCORE_ATTRIBUTES.items()
            }
            comps = {c: numbers[c][i] for c in components}
            values["components"] = {k: v for k, v in comps.items() if v is not None} or None
            values["source_row"] = number
            values["source_name"] = str(text["source_name"][i])[:300]
            if institution_id > 0 and institution_id in self.scored:
                updates.append((institution_id, values))
            else:
                new_scores.append(
                    {"round_id": self.round.id, "institution_id": institution_id, **values}
                )
        self._store(institutions, new_institutions, new_aliases, new_scores, updates)

    def _store(
        self, institutions: dict[int, Institution], new_institutions: list[dict[str, Any]],
        new_aliases: list[dict[str, Any]], new_scores: list[dict[str, Any]],
        updates: list[tuple[int, dict[str, Any]]],
    ) -> None:
        """Write one chunk: inserts with their events, then the updates; flush and let go."""
        session, batch, report = self.session, self.batch, self.report
        ids = _insert(session, Institution, new_institutions)
        for row, new_id in zip(new_institutions, ids, strict=True):
            row["id"] = new_id
        batch.record_created(Institution, new_institutions, [r["name"] for r in new_institutions])
        names = {r["id"]: r["name"] for r in new_institutions}
        placeholder = {-(k + 1): new_id for k, new_id in enumerate(ids)}
        for alias_key in (a["alias_key"] for a in new_aliases):
            if self.by_alias[alias_key] < 0:
                self.by_alias[alias_key] = placeholder[self.by_alias[alias_key]]
        for old, new_id in placeholder.items():
            if old in self.seen:
                self.seen[new_id] = self.seen.pop(old)
        for rows in (new_aliases, new_scores):
            for row in rows:
                if row["institution_id"] < 0:
                    row["institution_id"] = placeholder[row["institution_id"]]
        for model, rows in ((InstitutionAlias, new_aliases), (MetricScore, new_scores)):
            for row, new_id in zip(rows, _insert(session, model, rows), strict=True):
                row["id"] = new_id
        batch.record_created(InstitutionAlias, new_aliases, [a["name"] for a in new_aliases])

        def name_of(institution_id: int) -> str:
            if institution_id in names:
                return names[institution_id]
            return institutions[institution_id].name

        batch.record_created(
            MetricScore, new_scores,
            [f"{self.year} · {name_of(s['institution_id'])}" for s in new_scores],
        )
        report.scores_created += len(new_scores)
        scores = self._scores([institution_id for institution_id, _ in updates])
        for institution_id, values in updates:
            score = scores[institution_id]
            summary = f"{self.year} · {institutions[institution_id].name}"
            # A score deleted by hand comes back when the file has it: the file is the round.
            restored = score.deleted_at is not None and batch.restore(score, summary=summary)
            if batch.update(score, values, summary=summary) or restored:
                report.scores_updated += 1
            else:
                report.scores_unchanged += 1
        batch.flush()
        session.flush()
        for obj in (*institutions.values(), *scores.values()):
            session.expunge(obj)

    def _scores(self, institution_ids: list[int]) -> dict[int, MetricScore]:
        if not institution_ids:
            return {}
        return {
            s.institution_id: s
            for s in self.session.scalars(
                select(MetricScore).where(
                    MetricScore.round_id == self.round.id,
                    MetricScore.institution_id.in_(institution_ids),
                ).execution_options(**WITH_DELETED)
            )
        }

    def _remove_missing(self) -> None:
        """Delete for good the round's scores of institutions the file no longer has."""
        gone = sorted(self.scored.difference(self.seen))
        for start in range(0, len(gone), CHUNK_ROWS):
            part = gone[start:start + CHUNK_ROWS]
            rows = self.session.execute(
                select(MetricScore, Institution.name)
                .join(Institution, Institution.id == MetricScore.institution_id)
                .where(MetricScore.round_id == self.round.id,
                       MetricScore.institution_id.in_(part))
                .order_by(MetricScore.id)
                .execution_options(**WITH_DELETED)
            ).all()
            for score, name in rows:
                # Replaced by the file, not an editor's delete: gone for good, its values
                # kept in the event.
                self.batch.hard_delete(score, summary=f"{self.year} · {name}")
                self.report.scores_removed += 1
            self.batch.flush()
            self.session.flush()


def import_round(
    session: Session,
    path: Path | str,
    year: int,
    fmt: str | None = None,
    scheme: dict[str, Any] | None = None,
    label: str | None = None,
    source: str | None = None,
    strict: bool = False,
    progress: bool = False,
    *,
    actor: str = IMPORT_ACTOR,
    user: User | None = None,
) -> ImportReport:
    """Read ``path`` as round ``year`` into the session (the caller commits or rolls back).

    Its changes are recorded as ``actor`` (the CLI's "import"; an admin's agency and account
    when the round is uploaded from the browser).

    Institutions are matched by stable key or by a recorded name variant (alias); new ones
    are created. The round's scores become exactly the file's: importing the same file
    again changes nothing. Raises ReadError or RoundImportError when the file cannot be used.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise RoundImportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    report = ImportReport(year=year, path=path.name, fmt=fmt)
    read = read_round(path, fmt, _states(session))
    report.rows_read, report.repairs = read.rows_read, read.repairs

    # Every write below is an audited change (app.records), its events written in one go.
    batch = Batch(session, actor=actor, source=source or path.name, user=user)
    metric_round = session.scalars(select(MetricRound).where(MetricRound.year == year)).first()
    if metric_round is None and not source:
        raise RoundImportError(
            f"round {year} is not known yet: give its --source (and --label) to create it"
        )
    clean = validate_scheme(scheme) if scheme is not None else None
    if metric_round is None:
        metric_round = batch.create(
            MetricRound,
            {
                "year": year, "label": label or f"Métrica de Gobierno Abierto {year}",
                "source": source, "weight_scheme": clean or {},
            },
            summary=f"Ronda {year}",
        )
        report.notes.append(f"round {year} created")
        if clean:
            report.notes.append("weight scheme replaced")
    else:
        if clean is not None and metric_round.weight_scheme != clean:
            report.notes.append("weight scheme replaced")
        given = {"label": label, "source": source, "weight_scheme": clean}
        batch.update(
            metric_round, {k: v for k, v in given.items() if v is not None},
            summary=metric_round.label,
        )
    computed = compute_indices(read.frame, metric_round.weight_scheme or None)
    report.rejected = computed.rejected.sort_values(["row", "field"]).reset_index(drop=True)
    if strict and len(report.rejected):
        first = report.rejected.iloc[0]
        raise RoundImportError(
            f"{path.name}, row {first['row']}, field '{first['field']}': {first['value']!r} "
            f"{first['reason']} ({len(report.rejected)} values rejected; --strict stops)"
        )
    frame = computed.frame
    del read, computed  # the frame read is no longer needed: free it before writing
    session.flush()
    writer = _RoundWriter(session, batch, metric_round, report, path, fmt == "standard")
    writer.write(frame, progress)
    del frame, writer

    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if report.changed or metric_round.imported_sha256 != digest:
        batch.update(
            metric_round,
            {"imported_file": path.name, "imported_sha256": digest, "imported_at": utcnow()},
            summary=metric_round.label,
        )
    batch.flush()  # the events, and the "metric" revision once if anything changed
    session.flush()
    return report
