"""The local co-creation exercises: stages, secretariat members, headline counts, plans and
commitments, from the sourced facts in ``seeds/data/local_*.csv``; and the reconciliation of
the published counts (``local_count_plans.csv``: how each recorded plan stands to each dated
count, counted / outside / undetermined, with basis and reasoning).

A commitment's title is in Spanish (``title_es``) or, where no source gives it in Spanish, in
English as printed (``title_en``, e.g. Jalisco's OGP titles): never translated. A plan may keep
an explicit ``key`` when a later source gives its period.

Stage rule (``derive_stage``), the furthest stage the sources show:

1. the state has a published local plan in ``local_plans.csv``            -> ``plan``
2. else an STL installation date, or a status saying the STL is installed -> ``secretariat``
3. else a declaration date, or a status saying the state joined the
   programme (joining is by signing the joint declaration)               -> ``declaration``
4. else a status saying it has not signed / not taken up the initiative  -> ``none``
5. else the sources do not say                                           -> NULL (unknown)
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import records
from app.models import (
    ActionPlan,
    Commitment,
    LocalExercise,
    ProgrammeCount,
    ProgrammeCountPlan,
    State,
    StlMember,
)
from app.schema import Field
from app.schema.records import COMMITMENT, MEMBER, PARTIAL_HELP, PLAN
from common.codes import BASES, COUNT_ROLES
from common.text import fold

from .base import DATA_DIR, SEED_ACTOR, LoadReport, SeedError, read_csv, seed_record, seed_value

EXERCISES_CSV = DATA_DIR / "local_exercises.csv"
MEMBERS_CSV = DATA_DIR / "local_stl_members.csv"
COUNTS_CSV = DATA_DIR / "local_counts.csv"
PLANS_CSV = DATA_DIR / "local_plans.csv"
COMMITMENTS_CSV = DATA_DIR / "local_commitments.csv"
COUNT_PLANS_CSV = DATA_DIR / "local_count_plans.csv"
_OGP_ID = re.compile(r"^JAL\d{4}$")

# The schema's fields of a date at the source's precision and of a published count.
PARTIAL_DATE = Field("date", "partial_date", "", help=PARTIAL_HELP)
COUNT = Field("count", "integer", "", minimum=0)

# Status phrases (accent- and case-folded) that the stage rule reads.
STL_INSTALLED_PHRASES = ("secretariado tecnico local instalado", "stl instalado")
JOINED_PHRASES = ("sumado al programa", "se integro al sistema")
NOT_SIGNED_PHRASES = ("no han firmado", "no ha firmado", "aun sin impulsar")


def check_partial_date(path: Path, row: int, field: str, value: str | None) -> str | None:
    """Return ``value`` if it is "YYYY", "YYYY-MM" or "YYYY-MM-DD" (a real date), else fail
    (the schema's partial-date field: the rule the forms and spreadsheets apply)."""
    result: str | None = seed_value(path, row, field, PARTIAL_DATE, value)
    return result


def check_count(path: Path, row: int, field: str, value: str | None) -> int | None:
    """Return ``value`` as a non-negative integer (None when empty), else fail."""
    result: int | None = seed_value(path, row, field, COUNT, value)
    return result


def check_number(path: Path, row: int, field: str, value: str | None) -> int:
    """Return the non-negative integer of a required cell (``check_count``, never None)."""
    result: int = seed_value(path, row, field, COUNT, value, required=True)
    return result


def derive_stage(
    *,
    has_plan: bool,
    stl_installed_date: str | None,
    declaration_date: str | None,
    status_text: str | None,
) -> str | None:
    """Return the furthest stage the facts show (see the module docstring), or None."""
    status = fold(status_text or "")
    if has_plan:
        return "plan"
    if stl_installed_date or any(p in status for p in STL_INSTALLED_PHRASES):
        return "secretariat"
    if declaration_date or any(p in status for p in JOINED_PHRASES):
        return "declaration"
    if any(p in status for p in NOT_SIGNED_PHRASES):
        return "none"
    return None


def plan_period_label(
    period_start: int | None, period_end: int | None, published: str | None
) -> str:
    """Return how ``local_commitments.csv`` names a plan: "2016-2018", else the year, else ""."""
    if period_start and period_end:
        return f"{period_start}-{period_end}"
    if published:
        return published[:4]
    return ""


def plan_key(cve: str, period: str) -> str:
    """Return the stable key of a state's local plan, e.g. "local-04-2017"."""
    return f"local-{cve}-{period}" if period else f"local-{cve}"


def commitment_numbers(labels: list[str], path: Path, rows: list[int]) -> list[int]:
    """Number a plan's commitments: "3" -> 3; proactive "P<n>" -> after the last numbered one."""
    core = [int(label) for label in labels if label.isdigit()]
    last = max(core, default=0)
    numbers = []
    for label, row in zip(labels, rows, strict=True):
        if label.isdigit():
            numbers.append(int(label))
        elif re.fullmatch(r"P\d+", label):
            numbers.append(last + int(label[1:]))
        else:
            raise SeedError(path, row, "number", f"'{label}' is neither a number nor P<n>")
    return numbers


def _states(session: Session) -> dict[str, State]:
    return {s.cve_ent: s for s in session.scalars(select(State))}


def _state_of(states: dict[str, State], path: Path, row: int, cve: str) -> State:
    state = states.get(cve)
    if state is None:
        raise SeedError(path, row, "cve_ent", f"'{cve}' is not a loaded state (run seed states)")
    return state


def load_local(session: Session) -> LoadReport:
    """Load the exercises, STL members, counts, local plans and their commitments."""
    report = LoadReport("local")
    states = _states(session)

    # Read and check everything first, so a bad row stops the load before any write.
    plans: dict[str, dict] = {}
    for number, row in read_csv(PLANS_CSV, ("cve_ent", "plan_title", "source")):
        cve = _state_of(states, PLANS_CSV, number, row["cve_ent"]).cve_ent
        plan_row = seed_record(PLANS_CSV, number, PLAN, {
            "title": ("plan_title", row["plan_title"]),
            "period_start": ("period_start", row["period_start"]),
            "period_end": ("period_end", row["period_end"]),
            "published_date": ("published_date", row["published_date"]),
            "commitments_published": ("commitments_count", row["commitments_count"]),
            "proactive_published": ("proactive_count", row["proactive_count"]),
            "notes": ("notes", row.get("notes")),
        })
        start, end = plan_row["period_start"], plan_row["period_end"]
        published = plan_row["published_date"]
        period = plan_period_label(start, end, published)
        # A plan keeps its key when a later source gives its period (e.g. Durango's first).
        key = row.get("key") or plan_key(cve, period)
        if key in plans:
            raise SeedError(PLANS_CSV, number, "cve_ent", f"a second plan of {cve} for '{period}'")
        plans[key] = {
            "row": number,
            "cve": cve,
            "period": period,
            "values": {
                "scope": "local",
                "programme": "inai_cocreacion",
                "state_cve": cve,
                "number": None,
                # The notes say what the sources add (who signed, when results were presented).
                **plan_row,
                "source": row["source"],
            },
            "commitments": [],
        }
    by_period = {(p["cve"], p["period"]): key for key, p in plans.items()}

    ogp_ids: set[str] = set()
    for number, row in read_csv(COMMITMENTS_CSV, ("cve_ent", "number", "source")):
        cve = _state_of(states, COMMITMENTS_CSV, number, row["cve_ent"]).cve_ent
        row.update(seed_record(COMMITMENTS_CSV, number, COMMITMENT, {
            name: (name, row.get(name)) for name in ("title_es", "title_en", "responsible")}))
        if not row.get("title_es") and not row.get("title_en"):
            raise SeedError(COMMITMENTS_CSV, number, "title_es",
                            "a commitment needs its title in Spanish or in English")
        ogp_id = row.get("ogp_id")
        if ogp_id and (not _OGP_ID.match(ogp_id) or ogp_id in ogp_ids):
            raise SeedError(
                COMMITMENTS_CSV, number, "ogp_id", f"'{ogp_id}' is not a unique JAL0000"
            )
        if ogp_id:
            ogp_ids.add(ogp_id)
        key = by_period.get((cve, row["plan_period"] or ""))
        if key is None:
            raise SeedError(
                COMMITMENTS_CSV, number, "plan_period",
                f"no plan of {cve} for '{row['plan_period'] or ''}' in {PLANS_CSV.name}",
            )
        plans[key]["commitments"].append((number, row))

    exercises: dict[str, dict] = {}
    for number, row in read_csv(EXERCISES_CSV, ("cve_ent", "state_name", "source")):
        state = _state_of(states, EXERCISES_CSV, number, row["cve_ent"])
        if row["state_name"] != state.name:
            raise SeedError(
                EXERCISES_CSV, number, "state_name",
                f"'{row['state_name']}' is not the name of {state.cve_ent} ('{state.name}')",
            )
        if state.cve_ent in exercises:
            raise SeedError(EXERCISES_CSV, number, "cve_ent", f"'{state.cve_ent}' appears twice")
        values = {
            "declaration_date": check_partial_date(
                EXERCISES_CSV, number, "declaration_date", row["declaration_date"]
            ),
            "stl_installed_date": check_partial_date(
                EXERCISES_CSV, number, "stl_installed_date", row["stl_installed_date"]
            ),
            "facilitator": row["facilitator"],
            "status_text": row["status_text"],
            "status_as_of": check_partial_date(
                EXERCISES_CSV, number, "status_as_of", row["status_as_of"]
            ),
            "source": row["source"],
        }
        values["stage"] = derive_stage(
            has_plan=any(p["cve"] == state.cve_ent for p in plans.values()),
            stl_installed_date=values["stl_installed_date"],
            declaration_date=values["declaration_date"],
            status_text=values["status_text"],
        )
        exercises[state.cve_ent] = values
    for p in plans.values():
        if p["cve"] not in exercises:
            raise SeedError(
                PLANS_CSV, p["row"], "cve_ent", f"{p['cve']} has a plan but no exercise row"
            )

    members: list[tuple[str, str, str, str]] = []
    seen_members: set[tuple[str, str, str]] = set()
    for number, row in read_csv(MEMBERS_CSV, ("cve_ent", "sector", "member_name", "source")):
        cve = _state_of(states, MEMBERS_CSV, number, row["cve_ent"]).cve_ent
        if cve not in exercises:
            raise SeedError(MEMBERS_CSV, number, "cve_ent", f"{cve} has no row in exercises")
        row["sector"] = seed_value(MEMBERS_CSV, number, "sector", MEMBER.field("sector"),
                                   row["sector"], required=True)
        ident = (cve, row["sector"], row["member_name"])
        if ident in seen_members:
            raise SeedError(MEMBERS_CSV, number, "member_name", "the member appears twice")
        seen_members.add(ident)
        members.append((cve, row["sector"], row["member_name"], row["source"]))

    counts = []
    count_keys: set[str] = set()
    for number, row in read_csv(COUNTS_CSV, ("key", "source")):
        if row["key"] in count_keys:
            raise SeedError(COUNTS_CSV, number, "key", f"'{row['key']}' appears twice")
        count_keys.add(row["key"])
        values = {
            name: check_count(COUNTS_CSV, number, name, row[name])
            for name in ("states_joined", "stl_installed", "plans_published", "commitments")
        }
        as_of = check_partial_date(COUNTS_CSV, number, "date", row["date"])
        values["note"] = row.get("note")  # what the wording adds ("más de 140") and its quote
        values["key"] = row["key"]
        counts.append(({"as_of": as_of, "source": row["source"]}, values))

    # How each recorded plan stands to each published count (the reconciliation).
    memberships: list[tuple[str, str, dict]] = []
    seen_members_of: set[tuple[str, str]] = set()
    required = ("count_key", "plan_key", "role", "basis", "source")
    for number, row in read_csv(COUNT_PLANS_CSV, required):
        if row["count_key"] not in count_keys:
            raise SeedError(COUNT_PLANS_CSV, number, "count_key",
                            f"'{row['count_key']}' is not a key of {COUNTS_CSV.name}")
        if row["plan_key"] not in plans:
            raise SeedError(COUNT_PLANS_CSV, number, "plan_key",
                            f"'{row['plan_key']}' is not a plan of {PLANS_CSV.name}")
        if row["role"] not in COUNT_ROLES:
            raise SeedError(COUNT_PLANS_CSV, number, "role", f"'{row['role']}' is not a role")
        if row["basis"] not in BASES:
            raise SeedError(COUNT_PLANS_CSV, number, "basis", f"'{row['basis']}' is not a basis")
        if row["basis"] == "inferred" and not row.get("reasoning"):
            raise SeedError(COUNT_PLANS_CSV, number, "reasoning", "an inference needs it")
        link = (row["count_key"], row["plan_key"])
        if link in seen_members_of:
            raise SeedError(COUNT_PLANS_CSV, number, "plan_key", f"{link} appears twice")
        seen_members_of.add(link)
        memberships.append((row["count_key"], row["plan_key"], {
            "role": row["role"], "basis": row["basis"], "reasoning": row.get("reasoning"),
            "source": row["source"],
        }))

    # Write, recording every change (state and commitment of each event derived from the row).
    for cve, values in exercises.items():
        _, outcome = records.upsert(
            session, LocalExercise, {"state_cve": cve}, values,
            actor=SEED_ACTOR, source=values["source"],
            summary=f"Ejercicio local: {states[cve].name}",
        )
        report.count(outcome)
    session.flush()
    exercise_ids = dict(
        session.execute(select(LocalExercise.state_cve, LocalExercise.id)).all()
    )
    for cve, sector, name, source in members:
        _, outcome = records.upsert(
            session, StlMember,
            {"exercise_id": exercise_ids[cve], "sector": sector, "name": name},
            {"source": source},
            actor=SEED_ACTOR, source=source,
            summary=f"Secretariado Técnico Local de {states[cve].name}: {name}",
        )
        report.count(outcome)
    count_ids: dict[str, int] = {}
    for key, values in counts:
        count, outcome = records.upsert(
            session, ProgrammeCount, key, values, actor=SEED_ACTOR, source=key["source"],
            summary=f"Cifras del programa ({key['as_of'] or 'sin fecha'})",
        )
        count_ids[values["key"]] = count.id
        report.count(outcome)
    plan_ids: dict[str, int] = {}
    for key, p in plans.items():
        cve = p["cve"]
        plan, outcome = records.upsert(
            session, ActionPlan, {"key": key}, p["values"],
            actor=SEED_ACTOR, source=p["values"]["source"],
            summary=f"{p['values']['title']} de {states[cve].name}",
        )
        plan_ids[key] = plan.id
        report.count(outcome)
        rows = p["commitments"]
        labels = [row["number"] for _, row in rows]
        numbers = commitment_numbers(labels, COMMITMENTS_CSV, [n for n, _ in rows])
        if len(set(numbers)) != len(numbers):
            raise SeedError(COMMITMENTS_CSV, rows[0][0], "number", f"a number repeats in {key}")
        for (_, row), label, seq in zip(rows, labels, numbers, strict=True):
            # The title shown first is the Spanish one; a title only in English is kept as
            # printed (its language recorded by title_en alone), never translated.
            title = row.get("title_es") or row["title_en"]
            _, outcome = records.upsert(
                session, Commitment, {"plan_id": plan.id, "number": seq},
                {
                    "label": label if not label.isdigit() else None,
                    "ogp_id": row.get("ogp_id"),
                    "title": title,
                    "title_es": row.get("title_es"),
                    "title_en": row.get("title_en"),
                    "responsible": row["responsible"],
                    "source": row["source"],
                },
                actor=SEED_ACTOR, source=row["source"], summary=title,
            )
            report.count(outcome)
    for count_key, key, values in memberships:
        _, outcome = records.upsert(
            session, ProgrammeCountPlan,
            {"count_id": count_ids[count_key], "plan_id": plan_ids[key]}, values,
            actor=SEED_ACTOR, source=values["source"], summary=f"{count_key} · {key}",
        )
        report.count(outcome)
    staged = sum(1 for v in exercises.values() if v["stage"])
    report.notes.append(
        f"{len(exercises)} states with an exercise row, {staged} with a known stage; "
        f"{len(plans)} plans, {sum(len(p['commitments']) for p in plans.values())} commitments"
    )
    return report
