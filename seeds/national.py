"""Mexico's national OGP action plans transcribed from the stored sources.

``national_plans.csv``: the four plans (2011, 2013-2015, 2016-2018, 2019-2021) and the
2011-2012 extended plan, with plan-level facts in their notes (self-reports labelled as such).
``national_commitments.csv``: their commitments (MX0001..MX0087 with OGP themes, English and,
where a source gives it, Spanish titles; the
extended plan: the 36 commitments of the civil-society evaluation, with its challenge as theme).
``national_assessments.csv``: findings per commitment as Assessment rows (IRM commitment pages,
results and design reports for plan 4; the civil-society grades for the extended plan).
Every row names its source.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.models import ActionPlan, Assessment, Commitment, CommitmentTheme
from app.schema.records import PLAN
from common.codes import BASES

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, read_csv, seed_record
from .local import check_number

PLANS_CSV = DATA_DIR / "national_plans.csv"
COMMITMENTS_CSV = DATA_DIR / "national_commitments.csv"
ASSESSMENTS_CSV = DATA_DIR / "national_assessments.csv"

_OGP_ID = re.compile(r"^MX\d{4}$")
# The civil-society grades: total, partial or null compliance.
OSC_GRADES = ("total", "partial", "null")


def sync_themes(
    session: Session, commitment: Commitment, themes: list[str], source: str | None
) -> bool:
    """Make the commitment's themes exactly ``themes``; record a change; return whether any."""
    current = sorted(t.theme for t in commitment.themes)
    wanted = sorted(set(themes))
    if current == wanted:
        return False
    commitment.themes[:] = [t for t in commitment.themes if t.theme in wanted]
    have = {t.theme for t in commitment.themes}
    for theme in wanted:
        if theme not in have:
            commitment.themes.append(CommitmentTheme(theme=theme))
    records.record(
        session, commitment, "create" if not current else "update",
        before=None if not current else {"themes": current}, after={"themes": wanted},
        actor=SEED_ACTOR, source=source, summary="Temas: " + ", ".join(wanted),
    )
    return True


def write_plans(
    session: Session, report: LoadReport, plans: dict[str, dict],
    commitments: dict[tuple[str, int], dict], assessments: list[tuple[tuple[str, int], dict]],
) -> dict[tuple[str, int], int]:
    """Upsert checked plans (key -> values), their commitments ((plan key, number) -> values
    and themes) and assessments ((plan key, number), row); return the commitments' ids."""
    plan_ids: dict[str, int] = {}
    for key, values in plans.items():
        plan, outcome = records.upsert(
            session, ActionPlan, {"key": key}, values,
            actor=SEED_ACTOR, source=values["source"], summary=values["title"],
        )
        plan_ids[key] = plan.id
        report.count(outcome)
    commitment_ids: dict[tuple[str, int], int] = {}
    for (key, seq), c in commitments.items():
        source = c["values"]["source"]
        obj, outcome = records.upsert(
            session, Commitment, {"plan_id": plan_ids[key], "number": seq}, c["values"],
            actor=SEED_ACTOR, source=source, summary=c["values"]["title"],
        )
        if sync_themes(session, obj, c["themes"], source) and outcome == "unchanged":
            outcome = "updated"
        commitment_ids[(key, seq)] = obj.id
        report.count(outcome)
    for ident, row in assessments:
        cid = commitment_ids[ident]
        _, outcome = records.upsert(
            session, Assessment,
            {"commitment_id": cid, "framework": row["framework"], "aspect": row["aspect"]},
            {
                "value": row["value"], "basis": row["basis"],
                "reasoning": row.get("reasoning"), "source": row["source"],
            },
            actor=SEED_ACTOR, source=row["source"],
            summary=f"{row['framework']} · {row['aspect']}: {row['value']}",
        )
        report.count(outcome)
    return commitment_ids


def plan_values(path: Path, line: int, row: dict, count_column: str, **fixed: object,
                ) -> dict:
    """A plan's values from a seed row (periods, date and published count checked, naming
    file, row and field); ``fixed`` gives its scope, programme, state and number."""
    values = seed_record(path, line, PLAN, {
        "title": ("title", row["title"]),
        "period_start": ("period_start", row["period_start"]),
        "period_end": ("period_end", row["period_end"]),
        "published_date": ("published_date", row["published_date"]),
        "commitments_published": (count_column, row[count_column]),
        "notes": ("notes", row["notes"]),
    })
    return {**fixed, **values, "proactive_published": None, "source": row["source"]}


def load_national(session: Session) -> LoadReport:
    """Load the national plans, their commitments, themes and assessments."""
    report = LoadReport("national")
    plans: dict[str, dict] = {}
    for number, row in read_csv(PLANS_CSV, ("key", "number", "title", "source")):
        if row["key"] in plans:
            raise SeedError(PLANS_CSV, number, "key", f"'{row['key']}' appears twice")
        plans[row["key"]] = plan_values(
            PLANS_CSV, number, row, "commitments_published", scope="national",
            programme="ogp_national", state_cve=None,
            number=check_number(PLANS_CSV, number, "number", row["number"]),
        )

    commitments: dict[tuple[str, int], dict] = {}
    for number, row in read_csv(
        COMMITMENTS_CSV, ("plan_key", "number", "title", "source")
    ):
        if row["plan_key"] not in plans:
            raise SeedError(
                COMMITMENTS_CSV, number, "plan_key", f"unknown plan '{row['plan_key']}'"
            )
        seq = check_number(COMMITMENTS_CSV, number, "number", row["number"])
        if row["ogp_id"] and not _OGP_ID.match(row["ogp_id"]):
            raise SeedError(COMMITMENTS_CSV, number, "ogp_id", f"'{row['ogp_id']}' is not MX0000")
        ident = (row["plan_key"], seq)
        if ident in commitments:
            raise SeedError(COMMITMENTS_CSV, number, "number", f"{ident} appears twice")
        commitments[ident] = {
            "values": {
                "label": row["label"],
                "ogp_id": row["ogp_id"],
                "title": row["title"],
                "title_en": row["title_en"],
                "title_es": row["title_es"],
                "objective": row["objective"],
                "responsible": row["responsible"],
                "counterpart": row["counterpart"],
                "source": row["source"],
            },
            "themes": [t.strip() for t in (row["themes"] or "").split(";") if t.strip()],
        }

    assessments = []
    seen: set[tuple] = set()
    for number, row in read_csv(
        ASSESSMENTS_CSV, ("plan_key", "number", "framework", "aspect", "value", "source")
    ):
        seq = check_number(ASSESSMENTS_CSV, number, "number", row["number"])
        ident = (row["plan_key"], seq)
        if ident not in commitments:
            raise SeedError(ASSESSMENTS_CSV, number, "number", f"no commitment {ident}")
        if row["framework"] == "osc-2012" and row["value"] not in OSC_GRADES:
            raise SeedError(
                ASSESSMENTS_CSV, number, "value", f"'{row['value']}' is not one of {OSC_GRADES}"
            )
        basis = row.get("basis") or "published"
        if basis not in BASES:
            raise SeedError(ASSESSMENTS_CSV, number, "basis", f"'{basis}' is not a known basis")
        if basis == "inferred" and not row.get("reasoning"):
            raise SeedError(ASSESSMENTS_CSV, number, "reasoning", "an inferred value needs it")
        row["basis"] = basis
        full = (*ident, row["framework"], row["aspect"])
        if full in seen:
            raise SeedError(ASSESSMENTS_CSV, number, "aspect", f"{full} appears twice")
        seen.add(full)
        assessments.append((ident, row))

    commitment_ids = write_plans(session, report, plans, commitments, assessments)
    # A seeded assessment the file no longer holds (e.g. a level once inferred) is withdrawn.
    wanted = {(commitment_ids[i], r["framework"], r["aspect"]) for i, r in assessments}
    for stale in session.scalars(
        select(Assessment).where(Assessment.commitment_id.in_(commitment_ids.values()))
    ):
        if (stale.commitment_id, stale.framework, stale.aspect) not in wanted:
            records.soft_delete(session, stale, actor=SEED_ACTOR, source=stale.source)
            report.count("updated")
    report.notes.append(
        f"{len(plans)} national plans, {len(commitments)} commitments, "
        f"{len(assessments)} assessments"
    )
    return report
