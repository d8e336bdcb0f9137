"""All models; importing this package registers every table on ``Base.metadata``."""

from .accounts import AuditEvent, SignInAttempt, User
from .base import Base
from .fieldwork import (
    FieldworkAssignment,
    FieldworkMember,
    FieldworkObservation,
    FieldworkReconciliation,
    FieldworkRound,
    FieldworkSample,
)
from .geo import BoundaryLayer, DataRevision, State
from .local import (
    ActionPlan,
    Assessment,
    Commitment,
    CommitmentSdg,
    CommitmentTheme,
    Evidence,
    LocalExercise,
    Milestone,
    ProgrammeCount,
    ProgrammeCountPlan,
    ProgrammeFact,
    ProgressReport,
    StlMember,
)
from .metric import Institution, InstitutionAlias, MetricRound, MetricScore, PublishedFigure
from .sources import Source, SourceLink

__all__ = [
    "ActionPlan",
    "Assessment",
    "AuditEvent",
    "Base",
    "BoundaryLayer",
    "Commitment",
    "CommitmentSdg",
    "CommitmentTheme",
    "DataRevision",
    "Evidence",
    "FieldworkAssignment",
    "FieldworkMember",
    "FieldworkObservation",
    "FieldworkReconciliation",
    "FieldworkRound",
    "FieldworkSample",
    "Institution",
    "InstitutionAlias",
    "LocalExercise",
    "MetricRound",
    "MetricScore",
    "Milestone",
    "ProgrammeCount",
    "ProgrammeCountPlan",
    "ProgrammeFact",
    "ProgressReport",
    "PublishedFigure",
    "SignInAttempt",
    "Source",
    "SourceLink",
    "State",
    "StlMember",
    "User",
]
