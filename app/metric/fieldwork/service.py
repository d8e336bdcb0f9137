"""Fieldwork rounds: set-up, sample, assignments, capture, reconciliation, progress, computing,
freezing and publishing.

Every function takes a session and the acting account, checks the account's role in the round
on the server, writes through ``app.records`` (actor = the account's agency) and never commits;
the request or the command owns the transaction. Each returns a typed result. The numbers come
from the pure engine (``metrics.fieldwork``) on the same data an export writes, so the web, the
CLI and an exported file give the same results.

Roles are per round (``FieldworkMember``): a coordinator sets the round up, draws the sample,
assigns coders, freezes and publishes; a coder records observations for the institutions
assigned to them only, and never sees another coder's answers; a reviewer settles
disagreements. An admin may do what a coordinator does.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from app import records
from app.accounts.service import actor_of, is_admin
from app.models import (
    FieldworkAssignment,
    FieldworkMember,
    FieldworkObservation,
    FieldworkReconciliation,
    FieldworkRound,
    FieldworkSample,
    Institution,
    MetricRound,
    MetricScore,
    User,
)
from app.models.base import utcnow
from app.schema import RecordSchema
from app.schema.fields import in_english
from app.schema.records import OBSERVATION, RECONCILIATION
from app.states.service import state_names
from common.codes import FIELDWORK_ROLES, LEVELS
from metrics import SchemeError, validate_scheme
from metrics.fieldwork import (
    Answer,
    AnswerError,
    Calendar,
    Deadline,
    FieldworkDataError,
    FieldworkResult,
    InstrumentError,
    Instruments,
    NotFinal,
    parse_instruments,
)
from metrics.fieldwork.files import FILE_FORMAT, FieldworkFile, parse_fieldwork, with_settings
from metrics.fieldwork.instruments import normalise

from .guard import RoundFrozen
from .messages import answer_text, not_final_text

SOURCE = "fieldwork"  # the audit source when the caller names none
CLOSED_DEFAULT = "declared closed by the round"


class FieldworkError(ValueError):
    """A fieldwork action that cannot go ahead; the message says why (and which field).

    The message is English (the command line and the logs); ``text``, when given, says the
    same in the reader's language for the pages (``messages.message``).
    """

    def __init__(self, message: str, field: str | None = None, text: Any = None):
        self.field, self.text = field, text
        super().__init__(f"{field}: {message}" if field else message)


# --- Rounds and roles -------------------------------------------------------------------


def get_round(session: Session, year: int) -> FieldworkRound:
    """The fieldwork round published under ``year``; LookupError when there is none."""
    found = session.scalars(select(FieldworkRound).where(FieldworkRound.year == year)).first()
    if found is None:
        raise LookupError(f"no fieldwork round {year}")
    return found


def roles_of(session: Session, user: User, fw: FieldworkRound) -> set[str]:
    """The user's roles in the round (an active admin counts as coordinator)."""
    if not getattr(user, "active", False):
        return set()
    roles = set(session.scalars(select(FieldworkMember.role).where(
        FieldworkMember.round_id == fw.id, FieldworkMember.user_id == user.id)))
    if is_admin(user):
        roles.add("coordinator")
    return roles


def require_role(session: Session, user: User, fw: FieldworkRound, *allowed: str) -> set[str]:
    """403 unless the user has one of ``allowed`` in the round; return the user's roles."""
    roles = roles_of(session, user, fw)
    if not roles & set(allowed):
        raise Forbidden()
    return roles


def _require_open(fw: FieldworkRound) -> None:
    if fw.frozen_at is not None:
        raise RoundFrozen("fieldwork", fw.year)


@lru_cache(maxsize=16)
def _parsed(text: str, source: str) -> Instruments:
    """Instruments validated once per content (a capture form saves dozens of answers, each
    checked against them; the validation, not the JSON, is what costs)."""
    return parse_instruments(json.loads(text), source)


def instruments_of(fw: FieldworkRound) -> Instruments:
    """The round's instruments with the round's own settings."""
    text = json.dumps(fw.instruments, sort_keys=True)
    return with_settings(_parsed(text, f"round {fw.year}: instruments"),
                         fw.requests, fw.proposals, deadline_of(fw))


def deadline_of(fw: FieldworkRound) -> Deadline:
    return Deadline(fw.deadline_days, fw.extension_days)


def calendar_of(fw: FieldworkRound) -> Calendar:
    return Calendar.of(date.fromisoformat(d) for d in fw.closed_days or {})


@dataclass(frozen=True)
class RoundSummary:
    """A round as its pages and commands show it."""

    id: int
    year: int
    label: str
    source: str
    deadline_days: int
    extension_days: int
    requests: int
    proposals: int
    closed_days: dict[str, str]  # ISO date -> why it is closed
    double_share: float
    seed: int
    components: tuple[str, ...]
    items: int
    frozen_at: Any
    published_year: int | None
    members: tuple[tuple[str, str], ...]  # (public name, role)


def summary(session: Session, fw: FieldworkRound) -> RoundSummary:
    inst = instruments_of(fw)
    members = session.execute(
        select(User, FieldworkMember.role).join(FieldworkMember, FieldworkMember.user_id == User.id)
        .where(FieldworkMember.round_id == fw.id).order_by(FieldworkMember.role, User.id)
    ).all()
    return RoundSummary(
        fw.id, fw.year, fw.label, fw.source, fw.deadline_days, fw.extension_days, fw.requests,
        fw.proposals, dict(sorted((fw.closed_days or {}).items())), fw.double_share, fw.seed,
        tuple(c.key for c in inst.components), len(inst.items), fw.frozen_at,
        fw.published_round.year if fw.published_round else None,
        tuple((actor_of(u).name, role) for u, role in members),
    )


def create_round(
    session: Session, user: User, *, year: int, label: str, source: str,
    instruments: Mapping[str, Any], weight_scheme: Mapping[str, Any] | None = None,
    deadline_days: int | None = None, extension_days: int | None = None,
    requests: int | None = None, proposals: int | None = None,
    closed_days: Mapping[date, str] | None = None, double_share: float = 0.0, seed: int = 0,
    coordinators: Sequence[User] = (),
) -> RoundSummary:
    """Set up a round (admins only): its instruments (validated), weight scheme (default: the
    instruments' weights), legal deadline and extension, and its first coordinators."""
    if not is_admin(user):
        raise Forbidden()
    try:
        inst = parse_instruments(instruments, "instruments")
    except InstrumentError as exc:
        raise FieldworkError(str(exc), "instruments") from None
    try:
        scheme = validate_scheme(weight_scheme if weight_scheme is not None else inst.scheme())
    except SchemeError as exc:
        raise FieldworkError(str(exc), "weight_scheme") from None
    declared = {c.key for c in inst.components}
    named = {f"{s}.{c}" for s, ws in scheme.items() for c in ws}
    if named != declared:
        raise FieldworkError(
            f"names components {sorted(named ^ declared)} the instruments do not (or the other"
            " way round)", "weight_scheme")
    if not label.strip():
        raise FieldworkError("a round needs a label", "label")
    if not source.strip():
        raise FieldworkError("say who runs the round and on what it rests", "source")
    if not 0 <= double_share <= 1:
        raise FieldworkError("must lie between 0 and 1", "double_share")
    taken = session.scalars(select(FieldworkRound.id).where(FieldworkRound.year == year)
                            .execution_options(**records.WITH_DELETED)).first()
    if taken is not None:
        raise FieldworkError(f"a fieldwork round {year} exists already", "year")
    edition = session.scalars(select(MetricRound.label).where(MetricRound.year == year)).first()
    if edition is not None:
        # Its results will be published as the metric round of its year: never under another
        # publication's name.
        raise FieldworkError(f"{year} is already a round of the metric ({edition}); choose "
                             "another year", "year")
    settings = inst.settings
    try:
        deadline = Deadline(deadline_days or settings.deadline_days,
                            settings.extension_days if extension_days is None else extension_days)
    except ValueError as exc:
        raise FieldworkError(str(exc), "deadline_days") from None
    for name, value in (("requests", requests), ("proposals", proposals)):
        if value is not None and value < 1:
            raise FieldworkError("must be 1 or more", name)
    actor = actor_of(user)
    with records.bulk(session, actor=actor.name, source=source, user=user) as batch:
        fw = batch.create(FieldworkRound, {
            "year": year, "label": label.strip(), "source": source.strip(),
            "instruments": dict(inst.raw), "weight_scheme": scheme,
            "deadline_days": deadline.days, "extension_days": deadline.extension,
            "requests": requests or settings.requests,
            "proposals": proposals or settings.proposals,
            "closed_days": {d.isoformat(): (why or "").strip() or CLOSED_DEFAULT
                            for d, why in sorted((closed_days or {}).items())},
            "double_share": float(double_share), "seed": int(seed),
        }, summary=f"Ronda de campo {year}")
        batch.flush()
        for coordinator in coordinators:
            batch.create(FieldworkMember, {"round_id": fw.id, "user_id": coordinator.id,
                                           "role": "coordinator"},
                         summary=f"Ronda de campo {year} · coordinación")
    return summary(session, fw)


def add_member(
    session: Session, user: User, fw: FieldworkRound, member: User, role: str,
    *, source: str | None = None,
) -> bool:
    """Give ``member`` a role in the round (coordinators only); False if it had it already."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    if role not in FIELDWORK_ROLES:
        raise FieldworkError(f"unknown role {role!r} ({', '.join(FIELDWORK_ROLES.codes)})",
                             "role", _l("Elija uno de los papeles de la ronda."))
    if not member.active:
        raise FieldworkError(f"{member.email} is not an active account", "user",
                             _l("%(email)s no es una cuenta activa.", email=member.email))
    existing = session.scalars(select(FieldworkMember).where(
        FieldworkMember.round_id == fw.id, FieldworkMember.user_id == member.id,
        FieldworkMember.role == role).execution_options(**records.WITH_DELETED)).first()
    options = {"actor": actor_of(user).name, "source": source or SOURCE, "user": user}
    if existing is not None:
        return records.restore(session, existing, **options)
    records.create(session, FieldworkMember, {"round_id": fw.id, "user_id": member.id,
                                              "role": role},
                   summary=f"Ronda de campo {fw.year} · {FIELDWORK_ROLES.label(role)}", **options)
    return True


def remove_member(
    session: Session, user: User, fw: FieldworkRound, member: User, role: str,
    *, source: str | None = None,
) -> bool:
    """Withdraw a role (soft delete, kept in the history); False if the member did not have it."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    existing = session.scalars(select(FieldworkMember).where(
        FieldworkMember.round_id == fw.id, FieldworkMember.user_id == member.id,
        FieldworkMember.role == role)).first()
    if existing is None:
        return False
    return records.soft_delete(session, existing, actor=actor_of(user).name,
                               source=source or SOURCE, user=user)


# --- Sample ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """How many institutions to draw from one cell of the registry (None: any value)."""

    count: int
    state: str | None = None  # cve_ent, or "federal"
    level: str | None = None
    kind: str | None = None

    @property
    def stratum(self) -> str:
        return "|".join(v or "*" for v in (self.state, self.level, self.kind))


@dataclass(frozen=True)
class QuotaOutcome:
    stratum: str
    wanted: int
    available: int
    drawn: int

    @property
    def short(self) -> int:
        return self.wanted - self.drawn


@dataclass
class SampleResult:
    added: int = 0
    already: int = 0
    quotas: list[QuotaOutcome] = field(default_factory=list)
    size: int = 0

    def lines(self) -> list[str]:
        out = [f"sample: {self.added} added, {self.already} already in it; {self.size} in all"]
        out += [f"  quota {q.stratum}: wanted {q.wanted}, available {q.available}, drawn "
                f"{q.drawn}" + (f" ({q.short} short)" if q.short else "") for q in self.quotas]
        return out


def _sampled(session: Session, fw: FieldworkRound, deleted: bool = False) -> dict[int, Any]:
    stmt = select(FieldworkSample).where(FieldworkSample.round_id == fw.id)
    if deleted:
        stmt = stmt.execution_options(**records.WITH_DELETED)
    return {s.institution_id: s for s in session.scalars(stmt)}


def draw_sample(
    session: Session, user: User, fw: FieldworkRound, *, quotas: Sequence[Quota] = (),
    listed: Sequence[str] = (), seed: int | None = None, source: str | None = None,
) -> SampleResult:
    """Add institutions of the registry to the sample: those ``listed`` (stable keys), and
    ``quotas`` drawn at random with ``seed`` (default: the round's) among the institutions
    of each cell not yet sampled. The same registry and seed draw the same sample."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    result = SampleResult()
    current = _sampled(session, fw, deleted=True)
    batch = records.Batch(session, actor=actor_of(user).name, source=source or SOURCE, user=user)

    def add(institution: Institution, how: str, stratum: str | None) -> None:
        row = current.get(institution.id)
        if row is not None and row.deleted_at is None:
            result.already += 1
            return
        if row is not None:
            batch.restore(row, summary=institution.name)
            batch.update(row, {"chosen_by": how, "stratum": stratum}, summary=institution.name)
        else:
            current[institution.id] = batch.create(FieldworkSample, {
                "round_id": fw.id, "institution_id": institution.id, "chosen_by": how,
                "stratum": stratum}, summary=f"Ronda de campo {fw.year} · {institution.name}")
        result.added += 1

    if listed:
        found = {i.key: i for i in session.scalars(
            select(Institution).where(Institution.key.in_(list(listed))))}
        unknown = [k for k in listed if k not in found]
        if unknown:
            raise FieldworkError(
                f"not in the registry: {', '.join(unknown[:10])}", "listed",
                _l("No están en el registro de instituciones: %(keys)s",
                   keys=", ".join(unknown[:10])))
        for key in listed:
            add(found[key], "listed", None)
    rng = np.random.default_rng(fw.seed if seed is None else seed)
    for number, quota in enumerate(quotas, start=1):
        if quota.count < 0:
            raise FieldworkError("a quota's count must be >= 0", f"quota {number}",
                                 _l("El número de una cuota no puede ser negativo."))
        if quota.level is not None and quota.level not in LEVELS:
            raise FieldworkError(f"unknown level {quota.level!r}", f"quota {number}",
                                 _l("Nivel de gobierno desconocido."))
        stmt = select(Institution).order_by(Institution.key)
        if quota.state == "federal":
            stmt = stmt.where(Institution.state_cve.is_(None))
        elif quota.state:
            stmt = stmt.where(Institution.state_cve == quota.state)
        if quota.level:
            stmt = stmt.where(Institution.level == quota.level)
        if quota.kind:
            stmt = stmt.where(Institution.kind == quota.kind)
        live = {i for i, s in current.items() if s.deleted_at is None}
        candidates = [i for i in session.scalars(stmt) if i.id not in live]
        take = min(quota.count, len(candidates))
        chosen = sorted(rng.choice(len(candidates), size=take, replace=False).tolist()) \
            if take else []
        for index in chosen:
            add(candidates[index], "quota", quota.stratum)
        result.quotas.append(QuotaOutcome(quota.stratum, quota.count, len(candidates), take))
    batch.flush()
    result.size = len(_sampled(session, fw))
    return result


def withdraw_from_sample(
    session: Session, user: User, fw: FieldworkRound, institution: Institution,
    *, source: str | None = None,
) -> bool:
    """Take an institution out of the sample (soft delete; its observations stay recorded)."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    row = _sampled(session, fw).get(institution.id)
    if row is None:
        return False
    return records.soft_delete(session, row, actor=actor_of(user).name, source=source or SOURCE,
                               user=user, summary=institution.name)


# --- Assignments -------------------------------------------------------------------------


@dataclass
class AssignmentResult:
    assigned: int = 0  # assignments created
    double_coded: int = 0  # institutions with two coders
    per_coder: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"assignments: {self.assigned} created; {self.double_coded} institutions "
               "double-coded"]
        out += [f"  {name}: {n} institutions" for name, n in sorted(self.per_coder.items())]
        return out


def _assignments(session: Session, fw: FieldworkRound) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for inst_id, coder_id in session.execute(
        select(FieldworkAssignment.institution_id, FieldworkAssignment.coder_id)
        .where(FieldworkAssignment.round_id == fw.id).order_by(FieldworkAssignment.id)
    ):
        out[inst_id].append(coder_id)
    return out


def assign_coders(
    session: Session, user: User, fw: FieldworkRound, coders: Sequence[User], *,
    double_share: float | None = None, seed: int | None = None, source: str | None = None,
) -> AssignmentResult:
    """Assign the sampled institutions that have no coder yet to ``coders`` (each must have
    the coder role), balancing the load; a ``double_share`` of them (default: the round's),
    drawn with the seed, get a second, different coder."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    share = fw.double_share if double_share is None else double_share
    if not 0 <= share <= 1:
        raise FieldworkError("must lie between 0 and 1", "double_share",
                             _l("La proporción con doble codificación va de 0 a 1."))
    if not coders:
        raise FieldworkError("name at least one coder", "coders",
                             _l("Elija al menos una persona codificadora."))
    coder_ids = set(session.scalars(select(FieldworkMember.user_id).where(
        FieldworkMember.round_id == fw.id, FieldworkMember.role == "coder")))
    outsiders = [c.email for c in coders if c.id not in coder_ids]
    if outsiders:
        raise FieldworkError(f"not coders of round {fw.year}: {', '.join(outsiders)}", "coders",
                             _l("No codifican en esta ronda: %(who)s", who=", ".join(outsiders)))
    if share > 0 and len(coders) < 2:
        raise FieldworkError("double coding needs two coders or more", "coders",
                             _l("La doble codificación necesita al menos dos personas "
                                "codificadoras."))
    current = _assignments(session, fw)
    todo = sorted(i for i in _sampled(session, fw) if not current.get(i))
    rng = np.random.default_rng(fw.seed if seed is None else seed)
    order = [todo[i] for i in rng.permutation(len(todo))]
    doubles = set(order[:math.ceil(share * len(order))]) if share else set()
    load = Counter({c.id: sum(c.id in v for v in current.values()) for c in coders})
    by_id = {c.id: c for c in coders}
    result = AssignmentResult()
    with records.bulk(session, actor=actor_of(user).name, source=source or SOURCE,
                      user=user) as batch:
        for inst_id in order:
            wanted = 2 if inst_id in doubles else 1
            # The least-loaded coders first; ties in the order the coders were given.
            picked = sorted(by_id, key=lambda c: (load[c], [x.id for x in coders].index(c)))
            for coder_id in picked[:wanted]:
                batch.create(FieldworkAssignment, {"round_id": fw.id, "institution_id": inst_id,
                                                   "coder_id": coder_id},
                             summary=f"Ronda de campo {fw.year} · asignación")
                load[coder_id] += 1
                result.assigned += 1
            result.double_coded += wanted == 2
    result.per_coder = {actor_of(by_id[c]).name + f" ({by_id[c].email})": n
                        for c, n in load.items()}
    return result


# --- Capture -----------------------------------------------------------------------------


# What a coder notes beside the answer and its dates (read by the OBSERVATION schema).
NOTES = ("folio", "evidence_url", "evidence_file", "note")


def _schema_values(schema: RecordSchema, raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw``'s fields as ``schema`` reads them (its types, lengths, rules for text and
    addresses: those the forms apply); FieldworkError naming the first field refused."""
    parsed = schema.parse(raw, names=tuple(raw))
    if parsed.problems:
        name, error = parsed.problems[0]
        raise FieldworkError(in_english(error), name, error)
    return parsed.values


@dataclass(frozen=True)
class ObservationInput:
    """What a coder enters for one item (the capture form and the CLI give the same)."""

    answer: str | None = None
    sent_on: date | None = None
    acknowledged_on: date | None = None
    answered_on: date | None = None
    folio: str | None = None
    evidence_url: str | None = None
    evidence_file: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ObservationResult:
    id: int
    version: int
    outcome: str  # created, updated or unchanged
    normalised: str | None  # the answer as compared between coders (e.g. business days)


def _check_assigned(session: Session, user: User, fw: FieldworkRound, institution_id: int
                    ) -> None:
    """403 unless the user is a coder of the round assigned to this institution."""
    roles = roles_of(session, user, fw)
    assigned = session.scalars(select(FieldworkAssignment.id).where(
        FieldworkAssignment.round_id == fw.id, FieldworkAssignment.institution_id == institution_id,
        FieldworkAssignment.coder_id == user.id)).first()
    if "coder" not in roles or assigned is None:
        raise Forbidden()


def _item(inst: Instruments, item: str, occasion: int) -> Any:
    found = inst.items.get(item)
    if found is None:
        raise FieldworkError(f"{item!r} is not an item of the round's instruments", "item",
                             _l("No es un reactivo de los instrumentos de la ronda."))
    most = inst.occasions(inst.component(found.component))
    if not 1 <= occasion <= most:
        raise FieldworkError(f"must lie between 1 and {most}", "occasion",
                             _l("La solicitud o propuesta va de 1 a %(most)s.", most=most))
    return found


def record_observation(
    session: Session, user: User, fw: FieldworkRound, institution: Institution, item: str,
    values: ObservationInput, *, occasion: int = 1, expected_version: int | None = None,
) -> ObservationResult:
    """Record (or change) the user's own answer to one item of an institution assigned to
    them. ``expected_version`` is the version the form was read at (VersionConflict if the
    row changed since); 0 says the form read no answer (VersionConflict if one was recorded
    meanwhile), None checks nothing."""
    _require_open(fw)
    _check_assigned(session, user, fw, institution.id)
    inst = instruments_of(fw)
    found = _item(inst, item, occasion)
    answer = Answer((values.answer or "").strip() or None, values.sent_on, values.acknowledged_on,
                    values.answered_on)
    try:
        normalised = normalise(found, answer, calendar_of(fw))
    except AnswerError as exc:
        raise FieldworkError(str(exc), exc.field, answer_text(exc)) from None
    # The rest as the observation's schema reads it (lengths, addresses, text), the rules
    # the capture form applies too.
    notes = _schema_values(OBSERVATION, {name: getattr(values, name) for name in NOTES})
    row_values = {
        "answer": answer.value, "sent_on": values.sent_on,
        "acknowledged_on": values.acknowledged_on, "answered_on": values.answered_on,
        **notes,
    }
    existing = session.scalars(select(FieldworkObservation).where(
        FieldworkObservation.round_id == fw.id,
        FieldworkObservation.institution_id == institution.id,
        FieldworkObservation.item == item, FieldworkObservation.occasion == occasion,
        FieldworkObservation.coder_id == user.id,
    ).execution_options(**records.WITH_DELETED)).first()
    options = {"actor": actor_of(user).name, "user": user,
               "source": values.evidence_url or (values.folio and f"folio {values.folio}")
               or SOURCE,
               "summary": f"{fw.year} · {institution.name} · {item}"}
    if existing is None:
        if expected_version:
            raise records.VersionConflict(FieldworkObservation(), expected_version, None)
        row = records.create(session, FieldworkObservation, {
            "round_id": fw.id, "institution_id": institution.id, "item": item,
            "occasion": occasion, "coder_id": user.id, **row_values}, **options)
        return ObservationResult(row.id, row.version, "created", normalised)
    restored = existing.deleted_at is not None and records.restore(session, existing, **options)
    changed = records.update(session, existing, row_values, expected_version=expected_version,
                             **options)
    return ObservationResult(existing.id, existing.version,
                             "updated" if changed or restored else "unchanged", normalised)


@dataclass(frozen=True)
class SheetRow:
    """One item of a coder's sheet: the question and the coder's own answer so far."""

    item: str
    component: str
    label: str
    scale: str
    codes: tuple[str, ...]
    occasion: int
    observation: FieldworkObservation | None


@dataclass
class CoderSheet:
    round_year: int
    institution: Institution
    rows: list[SheetRow]

    @property
    def answered(self) -> int:
        return sum(r.observation is not None and bool(r.observation.answer) for r in self.rows)


def coder_sheet(session: Session, user: User, fw: FieldworkRound, institution: Institution
                ) -> CoderSheet:
    """Every item the user has to answer for an institution assigned to them, with their own
    answers only (coders code independently: another coder's answers are never shown)."""
    _check_assigned(session, user, fw, institution.id)
    inst = instruments_of(fw)
    mine = {(o.item, o.occasion): o for o in session.scalars(select(FieldworkObservation).where(
        FieldworkObservation.round_id == fw.id,
        FieldworkObservation.institution_id == institution.id,
        FieldworkObservation.coder_id == user.id))}
    rows = []
    for component in inst.components:
        for occasion in range(1, inst.occasions(component) + 1):
            for item in component.items:
                codes = item.scale.codes() + (("na",) if item.not_applicable else ())
                rows.append(SheetRow(item.key, component.key, item.label, item.scale.type, codes,
                                     occasion, mine.get((item.key, occasion))))
    return CoderSheet(fw.year, institution, rows)


@dataclass(frozen=True)
class AssignedInstitution:
    institution: Institution
    answered: int
    items: int


def my_institutions(session: Session, user: User, fw: FieldworkRound
                    ) -> list[AssignedInstitution]:
    """The institutions assigned to the user in the round, with how many items they answered."""
    require_role(session, user, fw, "coder")
    inst = instruments_of(fw)
    total = sum(len(c.items) * inst.occasions(c) for c in inst.components)
    institutions = session.scalars(
        select(Institution).join(FieldworkAssignment,
                                 FieldworkAssignment.institution_id == Institution.id)
        .join(FieldworkSample, (FieldworkSample.institution_id == Institution.id)
              & (FieldworkSample.round_id == fw.id))
        .where(FieldworkAssignment.round_id == fw.id, FieldworkAssignment.coder_id == user.id)
        .order_by(Institution.state_cve, Institution.name)).all()
    counts = Counter(session.scalars(select(FieldworkObservation.institution_id).where(
        FieldworkObservation.round_id == fw.id, FieldworkObservation.coder_id == user.id,
        FieldworkObservation.answer.is_not(None))))
    return [AssignedInstitution(i, counts[i.id], total) for i in institutions]


# --- The round's data, as the engine and the export take it ------------------------------


def _names(session: Session, ids: Iterable[int], anonymise: bool, prefix: str) -> dict[int, str]:
    """Account id -> its name in an export: prefix-1, prefix-2... (ids ascending), or email."""
    ordered = sorted(set(ids))
    if anonymise:
        return {uid: f"{prefix}-{n}" for n, uid in enumerate(ordered, start=1)}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ordered)))}
    return {uid: users[uid].email for uid in ordered}


def _coder_names(session: Session, fw: FieldworkRound, anonymise: bool) -> dict[int, str]:
    """Every coder with an observation in the round -> their name in the round's data."""
    ids = session.scalars(select(FieldworkObservation.coder_id).where(
        FieldworkObservation.round_id == fw.id).distinct())
    return _names(session, ids, anonymise, "coder")


def export_data(session: Session, fw: FieldworkRound, *, anonymise: bool = True
                ) -> dict[str, Any]:
    """The round as an exported fieldwork file (``metrics.fieldwork.files``): settings,
    instruments, scheme, sample, observations and reconciliations. With ``anonymise`` coder
    and reviewer ids become coder-1, reviewer-1... (the public form)."""
    sample = session.execute(
        select(Institution).join(FieldworkSample, FieldworkSample.institution_id == Institution.id)
        .where(FieldworkSample.round_id == fw.id).order_by(Institution.key)).scalars().all()
    keys = {i.id: i.key for i in sample}
    assigned = _assignments(session, fw)
    observations = [o for o in session.scalars(
        select(FieldworkObservation).where(FieldworkObservation.round_id == fw.id)
        .order_by(FieldworkObservation.institution_id, FieldworkObservation.item,
                  FieldworkObservation.occasion, FieldworkObservation.coder_id))
        if o.institution_id in keys]
    reconciliations = [r for r in session.scalars(
        select(FieldworkReconciliation).where(FieldworkReconciliation.round_id == fw.id)
        .order_by(FieldworkReconciliation.institution_id, FieldworkReconciliation.item,
                  FieldworkReconciliation.occasion)) if r.institution_id in keys]
    coders = _coder_names(session, fw, anonymise)
    reviewers = _names(session, [r.reviewer_id for r in reconciliations], anonymise, "reviewer")

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "format": FILE_FORMAT,
        "round": {
            "year": fw.year, "label": fw.label, "source": fw.source,
            "deadline_days": fw.deadline_days, "extension_days": fw.extension_days,
            "requests": fw.requests, "proposals": fw.proposals,
            "closed_days": dict(fw.closed_days or {}), "double_share": fw.double_share,
            "frozen_at": fw.frozen_at.isoformat() if fw.frozen_at else None,
            "anonymised": anonymise,
        },
        "scheme": fw.weight_scheme,
        "instruments": fw.instruments,
        "institutions": [
            {"key": i.key, "name": i.name, "level": i.level, "kind": i.kind,
             "state": i.state_cve, "coders": max(1, len(assigned.get(i.id, [])))}
            for i in sample
        ],
        "observations": [
            {"institution": keys[o.institution_id], "item": o.item, "occasion": o.occasion,
             "coder": coders[o.coder_id], "answer": o.answer, "sent_on": day(o.sent_on),
             "acknowledged_on": day(o.acknowledged_on), "answered_on": day(o.answered_on),
             "folio": o.folio, "evidence_url": o.evidence_url, "evidence_file": o.evidence_file}
            for o in observations
        ],
        "reconciliations": [
            {"institution": keys[r.institution_id], "item": r.item, "occasion": r.occasion,
             "answer": r.answer, "sent_on": day(r.sent_on),
             "acknowledged_on": day(r.acknowledged_on), "answered_on": day(r.answered_on),
             "reviewer": reviewers[r.reviewer_id], "reason": r.reason}
            for r in reconciliations
        ],
    }


def round_file(session: Session, fw: FieldworkRound) -> FieldworkFile:
    """The round's data ready for the engine (exactly what its export holds)."""
    return parse_fieldwork(export_data(session, fw, anonymise=True), f"round {fw.year}")


def compute(session: Session, user: User, fw: FieldworkRound, *, final: bool = False
            ) -> FieldworkResult:
    """Compute the round from its observations (coordinators and reviewers: a coder would
    learn from the scores whether the other coder agreed)."""
    require_role(session, user, fw, "coordinator", "reviewer")
    try:
        return round_file(session, fw).compute(final=final)
    except NotFinal as exc:
        raise FieldworkError(str(exc), text=not_final_text(exc)) from None
    except FieldworkDataError as exc:
        raise FieldworkError(str(exc)) from None


# --- Disagreements and reconciliation ----------------------------------------------------


@dataclass(frozen=True)
class DisagreementRow:
    institution_id: int
    institution: str
    item: str
    label: str
    occasion: int
    component: str
    answers: tuple[tuple[str, str | None], ...]  # (coder's public name, normalised answer)
    reconciled: FieldworkReconciliation | None


def list_disagreements(session: Session, user: User, fw: FieldworkRound, *,
                       open_only: bool = False) -> list[DisagreementRow]:
    """Every unit two coders answered differently, with the reviewer's answer if settled
    (reviewers and coordinators only)."""
    require_role(session, user, fw, "reviewer", "coordinator")
    data = round_file(session, fw)
    result = data.compute()
    institutions = {i.key: i for i in session.scalars(
        select(Institution).join(FieldworkSample, FieldworkSample.institution_id == Institution.id)
        .where(FieldworkSample.round_id == fw.id))}
    anonymous = _coder_names(session, fw, True)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(anonymous))))}
    names = {alias: f"{actor_of(users[uid]).name} ({users[uid].email})"
             for uid, alias in anonymous.items()}
    settled = {(r.institution_id, r.item, r.occasion): r for r in session.scalars(
        select(FieldworkReconciliation).where(FieldworkReconciliation.round_id == fw.id))}
    items = data.instruments.items
    rows = []
    for d in result.disagreements:
        if open_only and d.reconciled:
            continue
        institution = institutions[d.institution]
        rows.append(DisagreementRow(
            institution.id, institution.name, d.item, items[d.item].label, d.occasion,
            d.component, tuple((names.get(c, c), v) for c, v in d.answers.items()),
            settled.get((institution.id, d.item, d.occasion))))
    return rows


def reconcile(
    session: Session, user: User, fw: FieldworkRound, institution: Institution, item: str,
    values: ObservationInput, reason: str, *, occasion: int = 1,
    expected_version: int | None = None,
) -> FieldworkReconciliation:
    """Settle a disagreement with an answer and a reason (reviewers only).
    ``expected_version``: the version of the reconciliation the form was read at (0: the form
    read none, so a reconciliation saved meanwhile is a VersionConflict)."""
    require_role(session, user, fw, "reviewer")
    _require_open(fw)
    why = _schema_values(RECONCILIATION, {"reason": reason})["reason"]
    inst = instruments_of(fw)
    found = _item(inst, item, occasion)
    answer = Answer((values.answer or "").strip() or None, values.sent_on, values.acknowledged_on,
                    values.answered_on)
    try:
        if normalise(found, answer, calendar_of(fw)) is None:
            raise FieldworkError("a reconciliation needs an answer (and its dates)", "answer",
                                 _l("La conciliación necesita una respuesta (y sus fechas)."))
    except AnswerError as exc:
        raise FieldworkError(str(exc), exc.field, answer_text(exc)) from None
    answers = {o.coder_id: o for o in session.scalars(select(FieldworkObservation).where(
        FieldworkObservation.round_id == fw.id,
        FieldworkObservation.institution_id == institution.id,
        FieldworkObservation.item == item, FieldworkObservation.occasion == occasion))}
    calendar = calendar_of(fw)
    given = set()
    for o in answers.values():
        value = normalise(found, Answer(o.answer, o.sent_on, o.acknowledged_on, o.answered_on),
                          calendar)
        if value is not None:
            given.add(value)
    if len(given) < 2:
        raise FieldworkError("the coders do not disagree on this item", "item",
                             _l("Las personas codificadoras no discrepan en este reactivo."))
    row_values = {"answer": answer.value, "sent_on": values.sent_on,
                  "acknowledged_on": values.acknowledged_on, "answered_on": values.answered_on,
                  "reason": why, "reviewer_id": user.id}
    options = {"actor": actor_of(user).name, "user": user, "source": SOURCE,
               "summary": f"{fw.year} · {institution.name} · {item} · conciliación"}
    existing = session.scalars(select(FieldworkReconciliation).where(
        FieldworkReconciliation.round_id == fw.id,
        FieldworkReconciliation.institution_id == institution.id,
        FieldworkReconciliation.item == item, FieldworkReconciliation.occasion == occasion,
    ).execution_options(**records.WITH_DELETED)).first()
    if existing is None:
        if expected_version:
            raise records.VersionConflict(FieldworkReconciliation(), expected_version, None)
        return records.create(session, FieldworkReconciliation, {
            "round_id": fw.id, "institution_id": institution.id, "item": item,
            "occasion": occasion, **row_values}, **options)
    if existing.deleted_at is not None:
        records.restore(session, existing, **options)
        expected_version = None  # a withdrawn reconciliation is no one's current answer
    records.update(session, existing, row_values, expected_version=expected_version, **options)
    return existing


# --- Progress ----------------------------------------------------------------------------

PROGRESS_BY = ("state", "coder", "component")
PROGRESS_COLUMNS = ["key", "name", "institutions", "done", "items", "answered", "in_dispute",
                    "requests_sent", "overdue", "beyond_extension"]


@dataclass
class ProgressRow:
    key: str
    name: str
    institutions: int = 0  # institutions in the group
    done: int = 0  # of those, with every item answered (agreed or reconciled)
    items: int = 0  # units (item x occasion x institution, or x coder when by coder)
    answered: int = 0
    in_dispute: int = 0
    requests_sent: int = 0  # requests and proposals sent
    overdue: int = 0  # sent, no answer received (pending or unanswered), past the deadline
    beyond_extension: int = 0  # of those, past the deadline and its extension too


@dataclass
class Progress:
    year: int
    by: str
    today: date
    rows: list[ProgressRow]

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(PROGRESS_COLUMNS)
        for row in self.rows:
            writer.writerow([getattr(row, c) for c in PROGRESS_COLUMNS])
        return buffer.getvalue()


def progress(session: Session, user: User, fw: FieldworkRound, by: str = "state",
             today: date | None = None) -> Progress:
    """Institutions done, items answered and in dispute, requests overdue, per state, coder or
    component (coordinators and reviewers)."""
    require_role(session, user, fw, "coordinator", "reviewer")
    if by not in PROGRESS_BY:
        raise FieldworkError(f"choose one of {', '.join(PROGRESS_BY)}", "by",
                             _l("Elija estado, persona codificadora o componente."))
    data = round_file(session, fw)
    return progress_of(session, fw, data, data.compute(), by, today)


def progress_of(session: Session, fw: FieldworkRound, data: FieldworkFile,
                result: FieldworkResult, by: str, today: date | None = None) -> Progress:
    """``progress`` from a round's data and computation already at hand (the round's page
    shows all three groupings from one computation); the caller has checked the role."""
    today = today or date.today()
    inst = data.instruments
    deadline, calendar = data.deadline, data.calendar
    sample = {i.key: i for i in session.scalars(
        select(Institution).join(FieldworkSample, FieldworkSample.institution_id == Institution.id)
        .where(FieldworkSample.round_id == fw.id))}
    disputed = {(d.institution, d.item, d.occasion) for d in result.open_disagreements}
    pending = set(result.missing) | disputed

    rows: dict[str, ProgressRow] = {}

    def row(key: str, name: str) -> ProgressRow:
        return rows.setdefault(key, ProgressRow(key, name))

    def sent_state(obs: list[Any]) -> tuple[int, int, int]:
        sent = overdue = beyond = 0
        for o in obs:
            if o.answer.sent_on is None or inst.items[o.item].scale.type != "business_days":
                continue
            sent += 1
            if o.answer.answered_on is None:  # pending, or declared unanswered
                overdue += deadline.overdue(calendar, o.answer.sent_on, today)
                beyond += deadline.overdue(calendar, o.answer.sent_on, today, extended=True)
        return sent, overdue, beyond

    by_institution: dict[str, list[Any]] = defaultdict(list)
    for o in data.observations:
        by_institution[o.institution].append(o)
    if by == "coder":
        coders = session.execute(
            select(FieldworkAssignment.coder_id, Institution.key)
            .join(Institution, Institution.id == FieldworkAssignment.institution_id)
            .where(FieldworkAssignment.round_id == fw.id)).all()
        anonymous = _coder_names(session, fw, True)
        labels = {u.id: f"{actor_of(u).name} ({u.email})" for u in session.scalars(
            select(User).where(User.id.in_([c for c, _ in coders])))}
        units_per = sum(len(c.items) * inst.occasions(c) for c in inst.components)
        for coder_id, key in coders:
            if key not in sample:
                continue
            r = row(str(coder_id), labels[coder_id])
            mine = [o for o in by_institution[key] if o.coder == anonymous.get(coder_id)]
            answered = sum(o.answer.value is not None or o.answer.answered_on is not None
                           for o in mine)
            r.institutions += 1
            r.done += answered >= units_per
            r.items += units_per
            r.answered += answered
            r.in_dispute += sum((key, o.item, o.occasion) in disputed for o in mine)
            sent, overdue, beyond = sent_state(mine)
            r.requests_sent += sent
            r.overdue += overdue
            r.beyond_extension += beyond
    else:
        names = state_names(session) if by == "state" else {}
        components = {c.key: c for c in inst.components}
        for key, institution in sample.items():
            units = [u for u in result.final_answers if u[0] == key]
            if by == "state":
                group = institution.state_cve or "federal"
                groups = {group: units}
            else:
                groups = defaultdict(list)
                for u in units:
                    groups[inst.items[u[1]].component].append(u)
            for group, group_units in groups.items():
                label = (names.get(group, "Federación") if by == "state"
                         else components[group].label)
                r = row(group, label)
                r.institutions += 1
                r.done += all(u not in pending for u in group_units)
                r.items += len(group_units)
                r.answered += sum(u not in pending for u in group_units)
                r.in_dispute += sum(u in disputed for u in group_units)
                wanted = set(group_units)
                obs = [o for o in by_institution[key]
                       if (o.institution, o.item, o.occasion) in wanted]
                # A request counts once, however many coders recorded it.
                seen = {(o.item, o.occasion): o for o in obs}
                sent, overdue, beyond = sent_state(list(seen.values()))
                r.requests_sent += sent
                r.overdue += overdue
                r.beyond_extension += beyond
    ordered = sorted(rows.values(), key=lambda r: r.key) if by != "component" else [
        rows[c.key] for c in inst.components if c.key in rows]
    return Progress(fw.year, by, today, ordered)


# --- Freezing and publishing -------------------------------------------------------------


@dataclass(frozen=True)
class FreezeResult:
    year: int
    frozen_at: Any
    institutions: int


def freeze(session: Session, user: User, fw: FieldworkRound, *, source: str | None = None
           ) -> FreezeResult:
    """Freeze the round (coordinators only): refused while any disagreement is unreconciled or
    any item unanswered; from then on nothing of it can change. Audited."""
    require_role(session, user, fw, "coordinator")
    _require_open(fw)
    data = round_file(session, fw)
    if data.institutions.empty:
        raise FieldworkError("the round has no sample",
                             text=_l("La ronda no tiene muestra: no hay nada que congelar."))
    try:
        data.compute(final=True)
    except NotFinal as exc:
        raise FieldworkError(f"not frozen: {exc}", text=not_final_text(exc)) from None
    records.update(session, fw, {"frozen_at": utcnow(), "frozen_by_id": user.id},
                   actor=actor_of(user).name, source=source or SOURCE, user=user,
                   summary=f"Ronda de campo {fw.year} congelada")
    return FreezeResult(fw.year, fw.frozen_at, len(data.institutions))


@dataclass(frozen=True)
class PublishResult:
    year: int
    created: int
    updated: int
    unchanged: int
    national: dict[str, float | None]


def publish(session: Session, user: User, fw: FieldworkRound, *, source: str | None = None
            ) -> PublishResult:
    """Write a frozen round's computed scores as an ordinary metric round of its year (with
    component values), so it shows wherever a round does. Publishing again changes nothing."""
    require_role(session, user, fw, "coordinator")
    if fw.frozen_at is None:
        raise FieldworkError("freeze the round before publishing it",
                             text=_l("Congele la ronda antes de publicarla."))
    result = round_file(session, fw).compute(final=True)
    actor = actor_of(user).name
    source = source or f"{fw.source} (fieldwork round {fw.year}, computed here)"
    batch = records.Batch(session, actor=actor, source=source, user=user)
    metric_round = session.scalars(select(MetricRound).where(MetricRound.year == fw.year)).first()
    if metric_round is None:
        metric_round = batch.create(MetricRound, {
            "year": fw.year, "label": fw.label, "source": source,
            "weight_scheme": fw.weight_scheme,
            "notes": "Calculado por esta aplicación a partir de las observaciones de campo de "
                     "la ronda (instrumentos y datos anonimizados en su exportación).",
        }, summary=fw.label)
        batch.flush()
    elif fw.published_round_id != metric_round.id:
        raise FieldworkError(f"metric round {fw.year} was not published from this fieldwork "
                             "round; nothing is written over it",
                             text=_l("La ronda %(year)s de la Métrica no se publicó desde este "
                                     "trabajo de campo: no se escribe nada sobre ella.",
                                     year=fw.year))
    ids = {i.key: i.id for i in session.scalars(select(Institution).where(
        Institution.key.in_(list(result.frame["key"]))))}
    existing = {s.institution_id: s for s in session.scalars(select(MetricScore).where(
        MetricScore.round_id == metric_round.id).execution_options(**records.WITH_DELETED))}
    created = updated = unchanged = 0
    for position, record in enumerate(result.frame.to_dict("records"), start=1):
        values: dict[str, Any] = {
            index.lower(): (None if pd.isna(record[index]) else float(record[index]))
            for index in ("TG", "TC", "PG", "PC", "T", "P", "GA")
        }
        values["components"] = {c: float(record[c]) for c in result.components
                                if not pd.isna(record[c])}
        values["source_row"] = position
        values["source_name"] = str(record["name"])[:300]
        score = existing.get(ids[record["key"]])
        summary_text = f"{fw.year} · {record['name']}"
        if score is None:
            batch.create(MetricScore, {"round_id": metric_round.id,
                                       "institution_id": ids[record["key"]], **values},
                         summary=summary_text)
            created += 1
        elif batch.update(score, values, summary=summary_text):
            updated += 1
        else:
            unchanged += 1
    batch.flush()
    if fw.published_round_id != metric_round.id:
        records.update(session, fw, {"published_round_id": metric_round.id}, actor=actor,
                       source=source, user=user, summary=f"Ronda de campo {fw.year} publicada")
    national = {str(i): (None if pd.isna(v) else float(v))
                for i, v in result.frame[["TG", "TC", "PG", "PC", "T", "P", "GA"]].mean().items()}
    return PublishResult(fw.year, created, updated, unchanged, national)


def methodology(fw: FieldworkRound) -> Instruments:
    """The round's instruments, for the methodology page generated from them."""
    return instruments_of(fw)


__all__ = [
    "AssignedInstitution", "AssignmentResult", "CoderSheet", "DisagreementRow", "FieldworkError",
    "FreezeResult", "ObservationInput", "ObservationResult", "Progress", "ProgressRow",
    "PublishResult", "Quota", "RoundFrozen", "RoundSummary", "SampleResult", "add_member",
    "assign_coders", "coder_sheet", "compute", "create_round", "draw_sample", "export_data",
    "freeze", "get_round", "list_disagreements", "methodology", "my_institutions", "progress",
    "progress_of",
    "publish", "reconcile", "record_observation", "remove_member", "roles_of", "round_file",
    "summary", "withdraw_from_sample",
]
