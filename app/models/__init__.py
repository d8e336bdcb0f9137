"""All models; importing this package registers every table on ``Base.metadata``."""

from .accounts import AuditEvent, SignInAttempt, User
from .base import Base
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
    "Institution",
    "InstitutionAlias",
    "LocalExercise",
    "MetricRound",
    "MetricScore",
    "Milestone",
    "ProgrammeCount",
    "PublishedFigure",
    "SignInAttempt",
    "Source",
    "SourceLink",
    "State",
    "StlMember",
    "User",
]
