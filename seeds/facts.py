"""Dated facts of the programmes that no other table holds (``programme_facts.csv``).

One row a fact: a state joining or leaving OGP Local, a plan presented or signed, a draft's
proposals, a list cut in its stored copy; with the sentence it rests on, its basis and its
source. Two sources that disagree are two rows, the second of kind ``conflict`` naming the
first: both are shown, neither is chosen. Loaded after the plans (a fact may name one).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.models import ActionPlan, ProgrammeFact, State
from common.codes import BASES, PROGRAMMES

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, read_csv
from .local import check_partial_date

FACTS_CSV = DATA_DIR / "programme_facts.csv"


def load_facts(session: Session) -> LoadReport:
    """Load the dated programme facts, checked whole before anything is written."""
    report = LoadReport("facts")
    states = set(session.scalars(select(State.cve_ent)))
    plans = dict(session.execute(select(ActionPlan.key, ActionPlan.id)).all())
    rows: list[tuple[str, dict]] = []
    keys: set[str] = set()
    required = ("key", "programme", "kind", "text", "basis", "source")
    for number, row in read_csv(FACTS_CSV, required):
        if row["key"] in keys:
            raise SeedError(FACTS_CSV, number, "key", f"'{row['key']}' appears twice")
        keys.add(row["key"])
        if row.get("cve_ent") and row["cve_ent"] not in states:
            raise SeedError(FACTS_CSV, number, "cve_ent", f"'{row['cve_ent']}' is not a state")
        if row["programme"] not in PROGRAMMES:
            raise SeedError(FACTS_CSV, number, "programme", f"'{row['programme']}' is unknown")
        if row["basis"] not in BASES:
            raise SeedError(FACTS_CSV, number, "basis", f"'{row['basis']}' is not a basis")
        if row["basis"] == "inferred" and not row.get("reasoning"):
            raise SeedError(FACTS_CSV, number, "reasoning", "an inference needs it")
        plan_id = None
        if row.get("plan_key"):
            plan_id = plans.get(row["plan_key"])
            if plan_id is None:
                raise SeedError(FACTS_CSV, number, "plan_key", f"'{row['plan_key']}' is no plan")
        rows.append((row["key"], {
            "state_cve": row.get("cve_ent"),
            "programme": row["programme"],
            "plan_id": plan_id,
            "kind": row["kind"],
            "as_of": check_partial_date(FACTS_CSV, number, "as_of", row.get("as_of")),
            "text": row["text"],
            "quote": row.get("quote"),
            "basis": row["basis"],
            "reasoning": row.get("reasoning"),
            "source": row["source"],
        }))
    for key, values in rows:
        _, outcome = records.upsert(
            session, ProgrammeFact, {"key": key}, values,
            actor=SEED_ACTOR, source=values["source"], summary=values["text"],
        )
        report.count(outcome)
    report.notes.append(f"{len(rows)} programme facts")
    return report
