"""The 32 federal entities: INEGI code, official name, common name, ISO 3166-2 code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import records
from app.models import State

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, read_csv

STATES_CSV = DATA_DIR / "states.csv"


def load_states(session: Session) -> LoadReport:
    """Load the 32 states; rows already present and equal are left alone."""
    report = LoadReport("states")
    seen: set[str] = set()
    for number, row in read_csv(
        STATES_CSV, ("cve_ent", "name", "short_name", "iso_3166_2", "source")
    ):
        cve = row["cve_ent"]
        if len(cve) != 2 or not cve.isdigit() or not 1 <= int(cve) <= 32:
            raise SeedError(STATES_CSV, number, "cve_ent", f"'{cve}' is not an INEGI code 01..32")
        if cve in seen:
            raise SeedError(STATES_CSV, number, "cve_ent", f"'{cve}' appears twice")
        seen.add(cve)
        values = {k: row[k] for k in ("name", "short_name", "iso_3166_2", "source")}
        # A change bumps the "states" revision: state names are drawn on maps.
        _, outcome = records.upsert(
            session, State, {"cve_ent": cve}, values,
            actor=SEED_ACTOR, source=row["source"], summary=row["name"],
        )
        report.count(outcome)
    if len(seen) != 32:
        raise SeedError(STATES_CSV, None, "cve_ent", f"expected 32 states, found {len(seen)}")
    return report
