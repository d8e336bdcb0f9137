"""Local co-creation exercises and action plans (local and national), down to evidence."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.codes import (
    BASES,
    COUNT_ROLES,
    FILE_TYPES,
    MILESTONE_STATUSES,
    PROGRAMMES,
    SCOPES,
    SECTORS,
    STAGES,
)

from .base import OWNER, PARTIAL_DATE_CHECK, Base, ByValue, Versioned, unit_interval, utcnow
from .geo import State


class LocalExercise(Versioned, Base):
    """A state's local co-creation exercise; partial dates are kept at the source's precision."""

    __tablename__ = "local_exercise"
    __dataset__ = "local"
    __state_column__ = "state_cve"
    __table_args__ = (
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="declaration_date"), name="decl_date"),
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="stl_installed_date"), name="stl_date"),
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="status_as_of"), name="status_date"),
        CheckConstraint(f"stage IS NULL OR {STAGES.sql_in('stage')}", name="stage_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state_cve: Mapped[str] = mapped_column(ForeignKey("state.cve_ent"), unique=True)
    declaration_date: Mapped[str | None] = mapped_column(String(10))
    stl_installed_date: Mapped[str | None] = mapped_column(String(10))
    facilitator: Mapped[str | None] = mapped_column(Text)
    status_text: Mapped[str | None] = mapped_column(Text)
    status_as_of: Mapped[str | None] = mapped_column(String(10))
    # Furthest stage the sources show; NULL when they do not say.
    stage: Mapped[str | None] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(Text)

    state: Mapped[State] = relationship()
    members: Mapped[list[StlMember]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan"
    )


class StlMember(Versioned, Base):
    """A member of a Local Technical Secretariat, by sector."""

    __tablename__ = "stl_member"
    __dataset__ = OWNER
    __owners__ = (("exercise_id", "LocalExercise"),)
    __table_args__ = (
        UniqueConstraint("exercise_id", "sector", "name"),
        CheckConstraint(SECTORS.sql_in("sector"), name="sector_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("local_exercise.id", ondelete="CASCADE"))
    sector: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)

    exercise: Mapped[LocalExercise] = relationship(back_populates="members")


class ProgrammeCount(Versioned, Base):
    """A dated headline count of the local programme as published."""

    __tablename__ = "programme_count"
    __dataset__ = "local"
    __table_args__ = (CheckConstraint(PARTIAL_DATE_CHECK.format(col="as_of"), name="as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable short name the reconciliation file cites, e.g. "2019-inai-ocde".
    key: Mapped[str | None] = mapped_column(String(40), unique=True)
    as_of: Mapped[str | None] = mapped_column(String(10))
    states_joined: Mapped[int | None]
    stl_installed: Mapped[int | None]
    plans_published: Mapped[int | None]
    commitments: Mapped[int | None]
    # What the figure's wording adds ("más de 140"), and the other counts it gives.
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    plans: Mapped[list[ProgrammeCountPlan]] = relationship(
        back_populates="count", cascade="all, delete-orphan"
    )


class ProgrammeCountPlan(Versioned, Base):
    """How one recorded plan stands to one published headline count: counted in it, outside
    it or not known, with the basis and the reasoning (the reconciliation of the counts)."""

    __tablename__ = "programme_count_plan"
    __dataset__ = "local"
    __owners__ = (("count_id", "ProgrammeCount"),)
    __table_args__ = (
        UniqueConstraint("count_id", "plan_id"),
        CheckConstraint(COUNT_ROLES.sql_in("role"), name="role_known"),
        CheckConstraint(BASES.sql_in("basis"), name="basis_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("programme_count.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("action_plan.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(12))
    basis: Mapped[str] = mapped_column(String(16))
    reasoning: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    count: Mapped[ProgrammeCount] = relationship(back_populates="plans")
    plan: Mapped[ActionPlan] = relationship()


class ProgrammeFact(Versioned, Base):
    """A dated fact of a programme that no other table holds (a state joining or leaving OGP
    Local, a plan presented, a draft's proposals), as a source states it, quoted."""

    __tablename__ = "programme_fact"
    __dataset__ = "local"
    __state_column__ = "state_cve"
    __table_args__ = (
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="as_of"), name="as_of"),
        CheckConstraint(PROGRAMMES.sql_in("programme"), name="programme_known"),
        CheckConstraint(BASES.sql_in("basis"), name="basis_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    state_cve: Mapped[str | None] = mapped_column(ForeignKey("state.cve_ent"), index=True)
    programme: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("action_plan.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "joined", "plan_presented"
    as_of: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)  # the fact, in the site's words
    quote: Mapped[str | None] = mapped_column(Text)  # the sentence it rests on, as printed
    basis: Mapped[str] = mapped_column(String(16))
    reasoning: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    state: Mapped[State | None] = relationship()
    plan: Mapped[ActionPlan | None] = relationship()


def _default_programme(context) -> str:  # noqa: ANN001 (SQLAlchemy's execution context)
    """A plan given no programme: national plans are OGP's, local ones INAI's programme."""
    scope = context.get_current_parameters().get("scope")
    return "ogp_national" if scope == "national" else "inai_cocreacion"


class ActionPlan(Versioned, Base):
    """A national OGP action plan or a state's local action plan."""

    __tablename__ = "action_plan"
    # National plans are their own dataset: editing a local plan leaves them cached.
    __dataset__ = ByValue("scope", {"national": "national"}, "local")
    __state_column__ = "state_cve"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'national' AND state_cve IS NULL) OR "
            "(scope = 'local' AND state_cve IS NOT NULL)",
            name="state_matches_scope",
        ),
        CheckConstraint(SCOPES.sql_in("scope"), name="scope_known"),
        CheckConstraint(PARTIAL_DATE_CHECK.format(col="published_date"), name="published"),
        CheckConstraint(PROGRAMMES.sql_in("programme"), name="programme_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)  # e.g. "mx-4", "local-04-2017"
    scope: Mapped[str] = mapped_column(String(8))
    # INAI's co-creation programme, OGP Local or the national OGP process.
    programme: Mapped[str] = mapped_column(String(20), default=_default_programme)
    state_cve: Mapped[str | None] = mapped_column(ForeignKey("state.cve_ent"), index=True)
    number: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[int | None]
    period_end: Mapped[int | None]
    published_date: Mapped[str | None] = mapped_column(String(10))
    # Counts as the source published them (may exceed what is recorded here).
    commitments_published: Mapped[int | None]
    proactive_published: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    state: Mapped[State | None] = relationship()
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Commitment.number"
    )


class Commitment(Versioned, Base):
    """A commitment of an action plan."""

    __tablename__ = "commitment"
    __dataset__ = OWNER
    __owners__ = (("plan_id", "ActionPlan"),)
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plan.id", ondelete="CASCADE"))
    number: Mapped[int]
    # The number as the source prints it when that is not a plain sequence number:
    # "P1" for a local plan's proactive commitment, "43 y 44" for a civil-society proposal.
    label: Mapped[str | None] = mapped_column(String(12))
    ogp_id: Mapped[str | None] = mapped_column(String(12), unique=True)  # e.g. MX0075
    title: Mapped[str] = mapped_column(Text)
    # The title in each language where a source gives it (title is the one shown first).
    title_es: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    objective: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(Text)
    counterpart: Mapped[str | None] = mapped_column(Text)  # civil-society counterpart
    status: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    plan: Mapped[ActionPlan] = relationship(back_populates="commitments")
    themes: Mapped[list[CommitmentTheme]] = relationship(cascade="all, delete-orphan")
    sdg_goals: Mapped[list[CommitmentSdg]] = relationship(cascade="all, delete-orphan")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan", order_by="Milestone.number"
    )
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan"
    )
    progress_reports: Mapped[list[ProgressReport]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan",
        order_by="(ProgressReport.reported_on.desc(), ProgressReport.id.desc())",
    )


class CommitmentTheme(Base):
    """A theme tag of a commitment."""

    __tablename__ = "commitment_theme"
    __dataset__ = OWNER
    __owners__ = (("commitment_id", "Commitment"),)

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(120), primary_key=True, index=True)


class CommitmentSdg(Base):
    """A Sustainable Development Goal (1..17) a commitment contributes to."""

    __tablename__ = "commitment_sdg"
    __dataset__ = OWNER
    __owners__ = (("commitment_id", "Commitment"),)
    __table_args__ = (CheckConstraint("goal BETWEEN 1 AND 17", name="goal_range"),)

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), primary_key=True
    )
    goal: Mapped[int] = mapped_column(primary_key=True, index=True)


class Assessment(Versioned, Base):
    """A grade given to a commitment by an evaluation (IRM report, civil-society review...)."""

    __tablename__ = "assessment"
    __dataset__ = OWNER
    __owners__ = (("commitment_id", "Commitment"),)
    __table_args__ = (
        CheckConstraint(BASES.sql_in("basis"), name="basis_known"),
        UniqueConstraint("commitment_id", "framework", "aspect"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    framework: Mapped[str] = mapped_column(String(80))  # who assessed, e.g. "irm-results-2019"
    aspect: Mapped[str] = mapped_column(String(80))  # e.g. "early_results", "overall"
    value: Mapped[str] = mapped_column(String(120))
    # As published, computed here, self-reported, inferred (with reasoning) or press.
    basis: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    reasoning: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)

    commitment: Mapped[Commitment] = relationship(back_populates="assessments")


class Milestone(Versioned, Base):
    """A milestone of a commitment; progress derives from weight and status."""

    __tablename__ = "milestone"
    __dataset__ = OWNER
    __owners__ = (("commitment_id", "Commitment"),)
    __table_args__ = (
        UniqueConstraint("commitment_id", "number"),
        CheckConstraint(MILESTONE_STATUSES.sql_in("status"), name="status_known"),
        CheckConstraint("weight IS NULL OR weight > 0", name="weight_positive"),
        CheckConstraint(unit_interval("progress"), name="progress_in_unit"),
        CheckConstraint(
            "start_date IS NULL OR due_date IS NULL OR start_date <= due_date", name="dates_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    weight: Mapped[float | None]
    start_date: Mapped[date | None]
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(12), default="not_started")
    # Share done while in progress, when the source states it.
    progress: Mapped[float | None]
    completed_on: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(Text)

    commitment: Mapped[Commitment] = relationship(back_populates="milestones")
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="milestone", cascade="all, delete-orphan"
    )


# The file columns of a record that may hold one (evidence, a progress report).
FILE_CHECKS = (
    f"file_type IS NULL OR {FILE_TYPES.sql_in('file_type')}",
    "(file_sha256 IS NULL AND file_name IS NULL AND file_size IS NULL AND file_type IS NULL) "
    "OR (file_sha256 IS NOT NULL AND file_name IS NOT NULL AND file_size IS NOT NULL "
    "AND file_type IS NOT NULL)",
)


class WithFile:
    """A file held by the record: kept once, by its content's SHA-256, in the folder of
    EVIDENCE_FILES_DIR (app/files.py); the row keeps the name it was uploaded with, its size,
    the type read from its content and the hash. A soft-deleted row keeps its file."""

    file_name: Mapped[str | None] = mapped_column(String(255))
    file_size: Mapped[int | None]
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)


def _file_checks() -> tuple[CheckConstraint, ...]:
    return (CheckConstraint(FILE_CHECKS[0], name="file_type_known"),
            CheckConstraint(FILE_CHECKS[1], name="file_whole"))


class Evidence(WithFile, Versioned, Base):
    """A link or a file that proves a milestone's or commitment's status (or both)."""

    __tablename__ = "evidence"
    __dataset__ = OWNER
    # Evidence of a milestone belongs to the milestone, else to its commitment.
    __owners__ = (("milestone_id", "Milestone"), ("commitment_id", "Commitment"))
    __table_args__ = (
        CheckConstraint(
            "milestone_id IS NOT NULL OR commitment_id IS NOT NULL", name="has_subject"
        ),
        CheckConstraint("url IS NOT NULL OR file_sha256 IS NOT NULL", name="has_target"),
        *_file_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    dated: Mapped[date | None]  # the evidence's own date (a report's, a minute's)
    proves: Mapped[str | None] = mapped_column(Text)  # what it shows
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    added_by_label: Mapped[str | None] = mapped_column(String(120))  # e.g. "seed"
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    commitment: Mapped[Commitment | None] = relationship(back_populates="evidence")
    milestone: Mapped[Milestone | None] = relationship(back_populates="evidence")


class ProgressReport(WithFile, Versioned, Base):
    """A dated narrative entry on a commitment's progress, as a secretariat reports it at a
    session: what was done, from which source, with an optional file."""

    # Not "progress_report": frictionless takes any file named *report.json for one of its
    # validation reports, so the data package's progress_report.json could not be checked.
    __tablename__ = "progress_entry"
    __dataset__ = OWNER
    __owners__ = (("commitment_id", "Commitment"),)
    __table_args__ = _file_checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    reported_on: Mapped[date]  # the date the progress was reported (a session's)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    added_by_label: Mapped[str | None] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="progress_reports")
