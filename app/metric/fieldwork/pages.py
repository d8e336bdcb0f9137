"""One typed result per fieldwork page, built from the services (``service.py``).

Each function takes a session (and the acting account where the page is not public), checks
the account's role in the round through the services, never commits, and returns what its page
shows: the rounds, a coordinator's round page, a coder's capture page (and saving it), the
reviewer's disagreements and the form that settles one, and the public pages (the round's
results, its methodology generated from the instruments, its anonymised data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from app.accounts.service import actor_of, find_user
from app.edit.service import Conflict, record_conflict
from app.models import (
    AuditEvent,
    FieldworkAssignment,
    FieldworkMember,
    FieldworkObservation,
    FieldworkReconciliation,
    FieldworkRound,
    FieldworkSample,
    Institution,
    MetricScore,
    User,
)
from app.schema.records import OBSERVATION, RECONCILIATION
from app.states.service import state_names
from common.codes import FIELDWORK_ROLES, SUBINDICES
from metrics import aggregate
from metrics.fieldwork import Calendar, Component, Deadline, Instruments, Item, NotFinal

from . import service
from .messages import not_final_text
from .service import (
    DisagreementRow,
    FieldworkError,
    ObservationInput,
    Progress,
    RoundSummary,
)

# What a coder records for one item (the capture form's fields beside the answer), in order.
OBSERVATION_FIELDS = tuple(f.name for f in OBSERVATION.fields)
RECONCILIATION_FIELDS = tuple(f.name for f in RECONCILIATION.fields)
INDEX_COLUMNS = ("TG", "TC", "PG", "PC", "T", "P", "GA")


def round_or_404(session: Session, year: int) -> FieldworkRound:
    """The fieldwork round of ``year``, or 404."""
    try:
        return service.get_round(session, year)
    except LookupError:
        raise NotFound() from None


def unit_id(item: str, occasion: int) -> str:
    """The name of one item x occasion in a form and a page (``TG-access_info-unit-1``)."""
    return f"{item.replace('.', '-')}-{occasion}"


def _last_events(session: Session, table: str, ids: Sequence[int]) -> dict[int, int]:
    """Row id -> the id of its latest audit event (the base a form was read at)."""
    if not ids:
        return {}
    rows = session.execute(
        select(AuditEvent.entity_id, func.max(AuditEvent.id))
        .where(AuditEvent.entity == table, AuditEvent.entity_id.in_([str(i) for i in ids]))
        .group_by(AuditEvent.entity_id)).all()
    return {int(entity_id): int(event) for entity_id, event in rows}


# --- The rounds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundLink:
    year: int
    label: str
    frozen: bool
    published_year: int | None
    roles: tuple[str, ...] = ()  # the reader's roles in it (empty on the public list)


@dataclass
class RoundsIndex:
    published: list[RoundLink]
    mine: list[RoundLink]


def rounds_index(session: Session, user: Any) -> RoundsIndex:
    """The published rounds (public) and, for a signed-in account, the rounds it has a role
    in (an admin: every round)."""
    rounds = session.scalars(select(FieldworkRound).order_by(FieldworkRound.year.desc())).all()

    def link(fw: FieldworkRound, roles: tuple[str, ...] = ()) -> RoundLink:
        return RoundLink(fw.year, fw.label, fw.frozen_at is not None,
                         fw.published_round.year if fw.published_round else None, roles)

    published = [link(fw) for fw in rounds if fw.published_round_id is not None]
    mine = []
    if getattr(user, "is_authenticated", False):
        for fw in rounds:
            roles = service.roles_of(session, user, fw)
            if roles:
                mine.append(link(fw, tuple(r for r in FIELDWORK_ROLES.codes if r in roles)))
    return RoundsIndex(published, mine)


# --- The coordinator's round page -------------------------------------------------------------


@dataclass(frozen=True)
class SampleRow:
    institution: Institution
    state: str
    chosen_by: str
    stratum: str | None
    coders: tuple[str, ...]


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class AgreementRow:
    component: Component
    units: int  # items coded by two coders or more
    agreed: int  # of those, with identical answers
    alpha: float | None  # Krippendorff's alpha (None: undefined)
    disputes: int  # items the coders answered differently
    open: int  # of those, not yet settled by a reviewer


@dataclass
class RoundPage:
    round: FieldworkRound
    summary: RoundSummary
    instruments: Instruments
    roles: set[str]
    sample: list[SampleRow]
    members: list[MemberRow]
    coders: list[MemberRow]
    unassigned: int
    progress: dict[str, Progress]
    agreement: list[AgreementRow]
    disputes: int
    open_disputes: int
    missing: int
    not_ready: LazyString | None  # why the round cannot be frozen yet (None: it can)
    today: date


def round_page(session: Session, user: User, fw: FieldworkRound,
               today: date | None = None) -> RoundPage:
    """Everything a coordinator runs the round from: set-up, sample, members, assignments,
    progress per state, coder and component, agreement per component, and whether it can be
    frozen (coordinators only)."""
    roles = service.require_role(session, user, fw, "coordinator")
    today = today or date.today()
    data = service.round_file(session, fw)
    result = data.compute()
    names = state_names(session)
    assigned: dict[int, list[str]] = {}
    for institution_id, coder in session.execute(
        select(FieldworkAssignment.institution_id, User)
        .join(User, User.id == FieldworkAssignment.coder_id)
        .where(FieldworkAssignment.round_id == fw.id).order_by(FieldworkAssignment.id)):
        assigned.setdefault(institution_id, []).append(actor_of(coder).name)
    sample = [
        SampleRow(i, names.get(i.state_cve or "", "") if i.state_cve else "", s.chosen_by,
                  s.stratum, tuple(assigned.get(i.id, ())))
        for s, i in session.execute(
            select(FieldworkSample, Institution)
            .join(Institution, Institution.id == FieldworkSample.institution_id)
            .where(FieldworkSample.round_id == fw.id)
            .order_by(Institution.state_cve, Institution.name)).all()
    ]
    members = [
        MemberRow(u.id, actor_of(u).name, u.email, role)
        for u, role in session.execute(
            select(User, FieldworkMember.role)
            .join(FieldworkMember, FieldworkMember.user_id == User.id)
            .where(FieldworkMember.round_id == fw.id)
            .order_by(FieldworkMember.role, User.email)).all()
    ]
    disputes: dict[str, list[bool]] = {}
    for d in result.disagreements:
        disputes.setdefault(d.component, []).append(d.reconciled)
    agreement = [
        AgreementRow(data.instruments.component(a.component), a.units, a.agreed, a.alpha,
                     len(disputes.get(a.component, [])),
                     sum(not r for r in disputes.get(a.component, [])))
        for a in result.agreement
    ]
    not_ready: LazyString | None = None
    if data.institutions.empty:
        not_ready = _l("La ronda no tiene muestra todavía.")
    elif not result.complete:
        not_ready = not_final_text(NotFinal(len(result.open_disagreements), len(result.missing)))
    return RoundPage(
        round=fw, summary=service.summary(session, fw), instruments=data.instruments,
        roles=roles, sample=sample, members=members,
        coders=[m for m in members if m.role == "coder"],
        unassigned=sum(1 for row in sample if not row.coders),
        progress={by: service.progress_of(session, fw, data, result, by, today)
                  for by in service.PROGRESS_BY},
        agreement=agreement, disputes=len(result.disagreements),
        open_disputes=len(result.open_disagreements), missing=len(result.missing),
        not_ready=not_ready, today=today,
    )


def give_role(session: Session, user: User, fw: FieldworkRound, email: str, role: str) -> bool:
    """Give the account with ``email`` a role in the round (coordinators only)."""
    service.require_role(session, user, fw, "coordinator")
    member = find_user(session, email)
    if member is None or not member.active:
        raise FieldworkError(f"no active account {email}", "email",
                             _l("No hay una cuenta activa con el correo %(email)s.",
                                email=email))
    return service.add_member(session, user, fw, member, role)


def assign(session: Session, user: User, fw: FieldworkRound, coder_ids: Sequence[int],
           double_share: float | None) -> service.AssignmentResult:
    """Assign the institutions without a coder to the round's coders of ``coder_ids``."""
    service.require_role(session, user, fw, "coordinator")
    coders = session.scalars(
        select(User).join(FieldworkMember, FieldworkMember.user_id == User.id)
        .where(FieldworkMember.round_id == fw.id, FieldworkMember.role == "coder",
               User.id.in_(list(coder_ids))).order_by(User.id)).all()
    return service.assign_coders(session, user, fw, coders, double_share=double_share)


# --- A coder's pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    """A request's speed in business days against the round's deadline."""

    sent: date
    days: int  # business days from sending to the answer (or to today, when pending)
    due: date  # the last day on time
    due_extended: date  # the last day with the extension
    status: str  # on_time, in_extension, late, pending, overdue, overdue_extension, unanswered
    holidays: tuple[tuple[date, str], ...]  # official holidays and closed days in between


def speed_of(calendar: Calendar, deadline: Deadline, sent: date | None,
             answered: date | None, declared_unanswered: bool, today: date) -> Speed | None:
    """The speed of a request sent on ``sent`` (None without a date sent)."""
    if sent is None:
        return None
    end = answered or today
    due, due_extended = deadline.due(calendar, sent), deadline.due(calendar, sent, True)
    if answered is not None:
        status = ("on_time" if answered <= due else
                  "in_extension" if answered <= due_extended else "late")
    elif declared_unanswered:
        status = "unanswered"
    else:
        status = ("pending" if today <= due else
                  "overdue" if today <= due_extended else "overdue_extension")
    closed = tuple(
        (day, name) for day in (sent + timedelta(days=n) for n in range(1, (end - sent).days + 1))
        if day.weekday() < 5 and (name := calendar.holiday_name(day)))
    return Speed(sent, calendar.elapsed(sent, end), due, due_extended, status, closed)


@dataclass(frozen=True)
class CaptureRow:
    unit: str  # the row's name in the form (unit_id)
    item: Item
    component: Component
    occasion: int
    observation: FieldworkObservation | None
    last_event: int | None
    speed: Speed | None

    @property
    def citizen(self) -> bool:
        """Whether the row is about a request or proposal sent (its dates and folio count)."""
        return self.component.channel != "review"

    def values(self) -> dict[str, Any]:
        """The row's stored values, field by field (all empty when not answered yet)."""
        o = self.observation
        return {name: getattr(o, name) if o is not None else None for name in OBSERVATION_FIELDS}


@dataclass(frozen=True)
class CaptureSection:
    component: Component
    occasion: int
    occasions: int
    rows: list[CaptureRow]


@dataclass
class CapturePage:
    round: FieldworkRound
    institution: Institution
    state: str
    sections: list[CaptureSection]
    deadline: Deadline
    today: date

    @property
    def rows(self) -> list[CaptureRow]:
        return [row for section in self.sections for row in section.rows]

    @property
    def answered(self) -> int:
        return sum(r.observation is not None and bool(r.observation.answer) for r in self.rows)


def capture_page(session: Session, user: User, fw: FieldworkRound, institution_id: int,
                 today: date | None = None) -> CapturePage:
    """A coder's sheet for one institution assigned to them: every item of the instruments
    (per request or proposal), their own answers so far, and each request's speed in business
    days against the round's deadline (403 for an institution not assigned to them)."""
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound()
    sheet = service.coder_sheet(session, user, fw, institution)
    inst = service.instruments_of(fw)
    calendar, deadline = service.calendar_of(fw), service.deadline_of(fw)
    today = today or date.today()
    events = _last_events(session, "fieldwork_observation",
                          [r.observation.id for r in sheet.rows if r.observation is not None])
    items = inst.items
    sections: dict[tuple[str, int], CaptureSection] = {}
    for row in sheet.rows:
        item = items[row.item]
        component = inst.component(row.component)
        o = row.observation
        speed = None
        if item.scale.dated and o is not None:
            speed = speed_of(calendar, deadline, o.sent_on, o.answered_on,
                             o.answer == "unanswered", today)
        key = (component.key, row.occasion)
        if key not in sections:
            sections[key] = CaptureSection(component, row.occasion, inst.occasions(component), [])
        sections[key].rows.append(CaptureRow(
            unit_id(item.key, row.occasion), item, component, row.occasion, o,
            events.get(o.id) if o is not None else None, speed))
    state = state_names(session).get(institution.state_cve or "", "") \
        if institution.state_cve else ""
    return CapturePage(fw, institution, state, list(sections.values()), deadline, today)


@dataclass(frozen=True)
class CaptureInput:
    """One row of a posted capture form that differs from what the form was read with."""

    unit: str
    item: str
    occasion: int
    values: ObservationInput
    expected_version: int  # the version read (0: no answer was recorded then)
    base: dict[str, Any] | None  # the values read, for a field-by-field conflict
    base_event: int | None


@dataclass
class CaptureSaved:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows someone changed since the form was read (unit -> the merge, field by field).
    conflicts: dict[str, Conflict] = field(default_factory=dict)

    @property
    def saved(self) -> bool:
        return not self.conflicts


def save_capture(session: Session, user: User, fw: FieldworkRound, institution_id: int,
                 rows: Sequence[CaptureInput]) -> CaptureSaved:
    """Save a coder's changed rows through ``service.record_observation``, all or none.

    Each row is checked at the version its form was read at first: if any row changed since
    (another window, the command line), nothing is written and the result holds, per such
    row, its fields as read, as typed and as now saved (``app.edit.service.record_conflict``).
    A refused answer raises FieldworkError whose field is ``<unit>.<field>``.
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound()
    result = CaptureSaved()
    current = {(o.item, o.occasion): o for o in session.scalars(
        select(FieldworkObservation).where(
            FieldworkObservation.round_id == fw.id,
            FieldworkObservation.institution_id == institution.id,
            FieldworkObservation.coder_id == user.id))}
    for row in rows:
        existing = current.get((row.item, row.occasion))
        if (existing.version if existing is not None else 0) != row.expected_version \
                and existing is not None:
            mine = {name: getattr(row.values, name) for name in OBSERVATION_FIELDS}
            base = (row.base or {}, row.base_event) if row.base is not None or \
                row.expected_version == 0 else None
            result.conflicts[row.unit] = record_conflict(
                session, OBSERVATION, FieldworkObservation, existing.id, OBSERVATION_FIELDS,
                mine, base)
    if result.conflicts:
        return result
    for row in rows:
        try:
            saved = service.record_observation(
                session, user, fw, institution, row.item, row.values, occasion=row.occasion,
                expected_version=row.expected_version)
        except FieldworkError as exc:
            raise FieldworkError(str(exc), f"{row.unit}.{exc.field or 'answer'}",
                                 exc.text) from None
        setattr(result, saved.outcome, getattr(result, saved.outcome) + 1)
    return result


# --- The reviewer's pages ------------------------------------------------------------------------


@dataclass
class DisagreementsPage:
    round: FieldworkRound
    rows: list[DisagreementRow]
    roles: set[str]
    components: dict[str, Component]
    items: dict[str, Item]

    @property
    def open(self) -> int:
        return sum(r.reconciled is None for r in self.rows)


def disagreements_page(session: Session, user: User, fw: FieldworkRound) -> DisagreementsPage:
    """Every item two coders answered differently, and how each was settled (reviewers and
    coordinators)."""
    rows = service.list_disagreements(session, user, fw)
    inst = service.instruments_of(fw)
    return DisagreementsPage(fw, rows, service.roles_of(session, user, fw),
                             {c.key: c for c in inst.components}, inst.items)


@dataclass
class SettlePage:
    round: FieldworkRound
    row: DisagreementRow
    institution: Institution
    item: Item
    component: Component
    reconciliation: FieldworkReconciliation | None
    last_event: int | None
    answer_labels: dict[str, str] = field(default_factory=dict)


def settle_page(session: Session, user: User, fw: FieldworkRound, institution_id: int,
                item: str, occasion: int) -> SettlePage:
    """One disagreement, the coders' answers and the reconciliation so far (reviewers only);
    404 when the coders do not disagree on that item."""
    service.require_role(session, user, fw, "reviewer")
    rows = service.list_disagreements(session, user, fw)
    found = next((r for r in rows if r.institution_id == institution_id and r.item == item
                  and r.occasion == occasion), None)
    institution = session.get(Institution, institution_id)
    if found is None or institution is None:
        raise NotFound()
    inst = service.instruments_of(fw)
    the_item = inst.items[item]
    settled = found.reconciled
    events = _last_events(session, "fieldwork_reconciliation", [settled.id] if settled else [])
    return SettlePage(fw, found, institution, the_item, inst.component(the_item.component),
                      settled, events.get(settled.id) if settled else None)


def settle(session: Session, user: User, fw: FieldworkRound, institution_id: int, item: str,
           occasion: int, values: Mapping[str, Any], *, expected_version: int
           ) -> FieldworkReconciliation:
    """Settle a disagreement with the form's values and reason (``service.reconcile``)."""
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound()
    return service.reconcile(
        session, user, fw, institution, item,
        ObservationInput(values.get("answer"), values.get("sent_on"),
                         values.get("acknowledged_on"), values.get("answered_on")),
        values.get("reason") or "", occasion=occasion, expected_version=expected_version)


def settle_conflict(session: Session, fw: FieldworkRound, institution_id: int, item: str,
                    occasion: int, mine: dict[str, Any],
                    base: tuple[dict[str, Any], int | None] | None) -> Conflict:
    """After a refused settlement: the reconciliation saved meanwhile, field by field."""
    current = session.scalars(select(FieldworkReconciliation).where(
        FieldworkReconciliation.round_id == fw.id,
        FieldworkReconciliation.institution_id == institution_id,
        FieldworkReconciliation.item == item,
        FieldworkReconciliation.occasion == occasion)).first()
    if current is None:
        raise NotFound()
    return record_conflict(session, RECONCILIATION, FieldworkReconciliation, current.id,
                           RECONCILIATION_FIELDS, mine, base)


# --- Public pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentResult:
    component: Component
    mean: float | None
    n: int  # institutions with a value


@dataclass
class PublicRound:
    """A round as anyone reads it: its set-up, and its results once published."""

    round: FieldworkRound
    instruments: Instruments
    sample_size: int
    published_year: int | None
    results: list[ComponentResult]  # national mean of each component (empty: not published)
    indices: dict[str, float | None]  # national means of TG..GA
    states: list[dict[str, Any]]  # per state: key, name, n, each component's mean
    data_ready: bool  # the anonymised fieldwork may be downloaded (frozen)


def public_round(session: Session, fw: FieldworkRound) -> PublicRound:
    """The public page of a round: set-up, and once published the component-level results
    (simple unweighted means, nationally and by state) of the metric round it wrote."""
    inst = service.instruments_of(fw)
    size = session.scalar(select(func.count()).select_from(FieldworkSample).where(
        FieldworkSample.round_id == fw.id)) or 0
    results: list[ComponentResult] = []
    indices: dict[str, float | None] = {}
    states: list[dict[str, Any]] = []
    if fw.published_round_id is not None:
        scores = session.execute(
            select(MetricScore, Institution.state_cve)
            .join(Institution, Institution.id == MetricScore.institution_id)
            .where(MetricScore.round_id == fw.published_round_id)).all()
        keys = [c.key for c in inst.components]
        frame = pd.DataFrame([
            {"state": state, **{k: (s.components or {}).get(k) for k in keys},
             **{i: getattr(s, i.lower()) for i in INDEX_COLUMNS}}
            for s, state in scores], columns=["state", *keys, *INDEX_COLUMNS])
        for column in (*keys, *INDEX_COLUMNS):
            frame[column] = frame[column].astype("float64")
        national = aggregate(frame, "national", [*keys, *INDEX_COLUMNS])
        first = national.iloc[0] if len(national) else None

        def value(row: Any, column: str) -> float | None:
            return None if row is None or pd.isna(row[column]) else float(row[column])

        results = [ComponentResult(c, value(first, c.key),
                                   int(first[f"{c.key}_n"]) if first is not None else 0)
                   for c in inst.components]
        indices = {i: value(first, i) for i in INDEX_COLUMNS}
        names = state_names(session)
        for row in aggregate(frame, "state", keys).to_dict("records"):
            states.append({"key": row["key"], "n": int(row["n"]),
                           "name": names.get(row["key"], "") if row["key"] != "federal"
                           else "",
                           **{k: value(row, k) for k in keys}})
    return PublicRound(fw, inst, size, fw.published_round.year if fw.published_round else None,
                       results, indices, states, fw.frozen_at is not None)


@dataclass
class Methodology:
    """The methodology page, generated from the round's instruments and settings."""

    round: FieldworkRound
    instruments: Instruments
    deadline: Deadline
    scheme: dict[str, dict[str, float]]
    subindices: tuple[str, ...]
    closed_days: dict[str, str]


def methodology_page(fw: FieldworkRound) -> Methodology:
    return Methodology(fw, service.methodology(fw), service.deadline_of(fw),
                       dict(fw.weight_scheme), SUBINDICES, dict(sorted(
                           (fw.closed_days or {}).items())))


def public_data(session: Session, fw: FieldworkRound) -> dict[str, Any]:
    """A frozen round's fieldwork as its anonymised export (404 before it is frozen: the
    answers of a round under way are not public)."""
    if fw.frozen_at is None:
        raise NotFound()
    return service.export_data(session, fw, anonymise=True)


__all__ = [
    "CaptureInput", "CapturePage", "CaptureSaved", "DisagreementsPage", "Methodology",
    "PublicRound", "RoundPage", "RoundsIndex", "SettlePage", "Speed", "assign",
    "capture_page", "disagreements_page", "give_role", "methodology_page", "public_data",
    "public_round", "rounds_index", "round_or_404", "round_page", "save_capture",
    "settle", "settle_conflict", "settle_page", "speed_of", "unit_id",
]
