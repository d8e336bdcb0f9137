"""Mexican members of OGP Local (the Open Government Partnership's subnational programme).

``ogp_local_plans.csv``: one row per member action plan (programme ``ogp_local``); a member that
is a municipality belongs to its state (``cve_ent``) and the title names the member.
``ogp_local_commitments.csv``: their commitments with the OGP id (MXMEX0009, JAL0008...). A
commitment page and its End of Commitment Report are one commitment citing both pages.
``ogp_local_assessments.csv``: the completion level an End of Commitment Report prints, as an
assessment (framework ``ogp-local-eoc``, aspect ``completion``) citing the report with its
explanation quoted; a report that names no commitment id is matched to one only as
``inferred``, with the reasoning shown. Commitments without a printed level stay unknown.

Left out on purpose (see ``../shared/facts/local/ogp_local_*.csv``):
- Jalisco's 2016-2018 plan: it is the local plan already loaded from ``local_plans.csv`` (INAI
  programme); it is not loaded twice. Its commitments JAL0001-JAL0005 (and the sixth, whose id
  is cut) are loaded there, with English titles and the inference of their numbers in the plan's
  notes.
- End of Commitment Reports with neither an id nor a printed level (filed under another member
  with a title like a commitment's): linking them would rest on a title match alone.
- Mexico City: joined in 2020 and withdrew; no plan was published, so there is no plan row (its
  joining and leaving are dated facts in ``programme_facts.csv``).
- Chihuahua's second plan (signed 29 Jan 2026): the press does not say whether it went to OGP
  Local, so it is a dated fact, not a plan row; the press date of the first plan (February 2025)
  conflicts with OGP's and both are shown (``programme_facts.csv``).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import State
from common.codes import BASES

from .base import DATA_DIR, LoadReport, SeedError, read_csv
from .local import check_number
from .national import plan_values, write_plans

PLANS_CSV = DATA_DIR / "ogp_local_plans.csv"
COMMITMENTS_CSV = DATA_DIR / "ogp_local_commitments.csv"
ASSESSMENTS_CSV = DATA_DIR / "ogp_local_assessments.csv"

_OGP_ID = re.compile(r"^(JAL|MX[A-Z]{2,4})\d{4}$")
EOC_FRAMEWORK = "ogp-local-eoc"
# The levels an End of Commitment Report prints, as the codes the assessments already use
# (labelled in app/plans/labels.py VALUE_LABELS). A printed word that is not exactly one of
# these is not mapped: the level stays unknown.
COMPLETION_LEVELS = ("limited", "substantial", "complete")


def load_ogp_local(session: Session) -> LoadReport:
    """Load the OGP Local plans, their commitments and their End of Commitment levels."""
    report = LoadReport("ogp_local")
    states = set(session.scalars(select(State.cve_ent)))

    plans: dict[str, dict] = {}
    for number, row in read_csv(PLANS_CSV, ("key", "cve_ent", "member", "title", "source")):
        if row["key"] in plans:
            raise SeedError(PLANS_CSV, number, "key", f"'{row['key']}' appears twice")
        if row["cve_ent"] not in states:
            raise SeedError(
                PLANS_CSV, number, "cve_ent", f"'{row['cve_ent']}' is not a loaded state"
            )
        plans[row["key"]] = plan_values(
            PLANS_CSV, number, row, "commitments_count", scope="local", programme="ogp_local",
            state_cve=row["cve_ent"], number=None,
        )

    commitments: dict[tuple[str, int], dict] = {}
    ogp_ids: set[str] = set()
    for number, row in read_csv(COMMITMENTS_CSV, ("plan_key", "number", "title", "source")):
        if row["plan_key"] not in plans:
            raise SeedError(
                COMMITMENTS_CSV, number, "plan_key", f"unknown plan '{row['plan_key']}'"
            )
        seq = check_number(COMMITMENTS_CSV, number, "number", row["number"])
        ogp_id = row["ogp_id"]
        if ogp_id and (not _OGP_ID.match(ogp_id) or ogp_id in ogp_ids):
            raise SeedError(
                COMMITMENTS_CSV, number, "ogp_id", f"'{ogp_id}' is not a unique OGP Local id"
            )
        if not ogp_id and not row["label"]:
            raise SeedError(COMMITMENTS_CSV, number, "label", "a commitment without id needs one")
        ident = (row["plan_key"], seq)
        if ident in commitments:
            raise SeedError(COMMITMENTS_CSV, number, "number", f"{ident} appears twice")
        if ogp_id:
            ogp_ids.add(ogp_id)
        commitments[ident] = {
            "values": {
                "label": row["label"],
                "ogp_id": ogp_id,
                "title": row["title"],
                "title_en": row["title"],
                "responsible": row["responsible"],
                "problem": row["problem"],
                "source": row["source"],
            },
            "themes": [row["theme"]] if row["theme"] else [],
        }

    assessments = []
    seen: set[tuple] = set()
    required = ("plan_key", "number", "framework", "aspect", "value", "basis", "source")
    for number, row in read_csv(ASSESSMENTS_CSV, required):
        ident = (row["plan_key"], check_number(ASSESSMENTS_CSV, number, "number", row["number"]))
        if ident not in commitments:
            raise SeedError(ASSESSMENTS_CSV, number, "number", f"no commitment {ident}")
        if row["framework"] != EOC_FRAMEWORK or row["aspect"] != "completion":
            raise SeedError(
                ASSESSMENTS_CSV, number, "framework", f"only {EOC_FRAMEWORK} completion levels"
            )
        if row["value"] not in COMPLETION_LEVELS:
            raise SeedError(
                ASSESSMENTS_CSV, number, "value",
                f"'{row['value']}' is not one of {COMPLETION_LEVELS}",
            )
        if row["basis"] not in BASES:
            raise SeedError(ASSESSMENTS_CSV, number, "basis", f"'{row['basis']}' is not known")
        if row["basis"] == "inferred" and not row["reasoning"]:
            raise SeedError(ASSESSMENTS_CSV, number, "reasoning", "an inferred value needs it")
        if ident in seen:
            raise SeedError(ASSESSMENTS_CSV, number, "number", f"{ident} has a second level")
        seen.add(ident)
        assessments.append((ident, row))

    write_plans(session, report, plans, commitments, assessments)
    report.notes.append(
        f"{len(plans)} OGP Local plans, {len(commitments)} commitments, "
        f"{len(assessments)} End of Commitment levels"
    )
    return report
