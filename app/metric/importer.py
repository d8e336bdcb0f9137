"""Import a round file into the database: all or nothing, idempotent, with a report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from app.models import (
    Institution,
    InstitutionAlias,
    MetricRound,
    MetricScore,
    State,
)
from app.models.base import utcnow
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
) -> ImportReport:
    """Read ``path`` as round ``year`` into the session (the caller commits or rolls back).

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
    batch = Batch(session, actor=IMPORT_ACTOR, source=source or path.name)
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
    components = [c for c in frame.columns if "." in str(c)]
    session.flush()

    by_key = {
        i.key: i
        for i in session.scalars(select(Institution).execution_options(**WITH_DELETED))
    }
    by_id = {i.id: i for i in by_key.values()}
    # Name variant -> institution; new institutions get ids only at the final flush.
    by_alias: dict[str, Institution] = {
        a.alias_key: by_id[a.institution_id]
        for a in session.scalars(select(InstitutionAlias).execution_options(**WITH_DELETED))
        if a.institution_id in by_id
    }
    existing = {
        s.institution_id: s
        for s in session.scalars(
            select(MetricScore).where(MetricScore.round_id == metric_round.id)
            .execution_options(**WITH_DELETED)
        )
    }
    explicit_keys = fmt == "standard"
    seen: dict[Institution, int] = {}
    records = frame.to_dict("records")
    for row in tqdm(records, desc=f"round {year}", unit="row", disable=not progress):
        number = int(row["row"])
        row["state"] = _text(row["state"])
        row["municipality_code"] = _text(row["municipality_code"])
        alias_key = institution_key(row["level"], row["state"], row["name"])
        institution = by_key.get(row["key"])
        if institution is None and not (explicit_keys and row["key"] != alias_key):
            institution = by_alias.get(alias_key)
        if institution is None:
            institution = batch.create(
                Institution,
                {
                    "key": row["key"], "name": row["name"], "level": row["level"],
                    "kind": row["kind"], "state_cve": row["state"],
                    "municipality_code": row["municipality_code"],
                },
                summary=row["name"],
            )
            by_key[institution.key] = institution
            report.institutions_created += 1
        else:
            report.institutions_matched += 1
            if (institution.level, institution.state_cve) != (row["level"], row["state"]):
                raise ReadError(
                    path, number, "institution",
                    f"key {institution.key!r} belongs to a {institution.level} institution "
                    f"of state {institution.state_cve or 'federal'}",
                )
            if row["municipality_code"] and not institution.municipality_code:
                batch.update(
                    institution, {"municipality_code": row["municipality_code"]},
                    summary=institution.name,
                )
        if institution in seen:
            raise ReadError(
                path, number, "institution",
                f"the same institution as row {seen[institution]} ({institution.key!r})",
            )
        seen[institution] = number
        owner = by_alias.get(alias_key)
        if owner is None:
            batch.create(
                InstitutionAlias,
                {"institution": institution, "name": row["name"], "alias_key": alias_key},
                summary=row["name"],
            )
            by_alias[alias_key] = institution
            report.aliases_added += 1
        elif owner is not institution:
            raise ReadError(
                path, number, "key",
                f"the name {row['name']!r} is already a variant of institution {owner.key!r}",
            )
        values: dict[str, Any] = {attr: _float(row[i]) for i, attr in SCORE_ATTRIBUTES.items()}
        comps = {c: _float(row[c]) for c in components}
        values["components"] = {k: v for k, v in comps.items() if v is not None} or None
        values["source_row"] = number
        values["source_name"] = str(row["source_name"])[:300]
        summary = f"{year} · {institution.name}"
        score = existing.get(institution.id) if institution.id is not None else None
        if score is None:
            batch.create(
                MetricScore, {"round": metric_round, "institution": institution, **values},
                summary=summary,
            )
            report.scores_created += 1
        else:
            # A score deleted by hand comes back when the file has it: the file is the round.
            restored = score.deleted_at is not None and batch.restore(score, summary=summary)
            if batch.update(score, values, summary=summary) or restored:
                report.scores_updated += 1
            else:
                report.scores_unchanged += 1
    kept = {i.id for i in seen if i.id is not None}
    for institution_id, score in existing.items():
        if institution_id not in kept:
            # Replaced by the file, not an editor's delete: gone for good, its values kept
            # in the event.
            batch.hard_delete(score, summary=f"{year} · {by_id[institution_id].name}")
            report.scores_removed += 1

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if report.changed or metric_round.imported_sha256 != digest:
        batch.update(
            metric_round,
            {"imported_file": path.name, "imported_sha256": digest, "imported_at": utcnow()},
            summary=metric_round.label,
        )
    batch.flush()  # the events, and the "metric" revision once if anything changed
    session.flush()
    return report
