"""versions, soft delete and the audit source

Revision ID: 1796075882
Revises: 1795326589
Create Date: 2026-12-01 09:18:02.000000

Editable tables get ``version`` (optimistic locking, 1 for every existing row) and
``deleted_at`` (soft delete); audit_event gets ``source`` and the action 'restore'.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796075882'
down_revision: Union[str, Sequence[str], None] = '1795326589'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

EDITABLE_TABLES = (
    'local_exercise',
    'stl_member',
    'programme_count',
    'action_plan',
    'commitment',
    'milestone',
    'evidence',
    'assessment',
    'published_figure',
    'institution',
    'metric_score',
)


def upgrade() -> None:
    """Upgrade schema."""
    for table in EDITABLE_TABLES:
        # A constant server default lets SQLite add a NOT NULL column in place.
        op.add_column(table, sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        op.add_column(table, sa.Column('deleted_at', sa.DateTime(), nullable=True))
    # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table there.
    with op.batch_alter_table('audit_event') as batch_op:
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f('ck_audit_event_action_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_audit_event_action_known'),
            "action IN ('create', 'update', 'delete', 'restore')",
        )


def downgrade() -> None:
    """Downgrade schema."""
    # The old constraint has no 'restore': keep those events, as updates.
    op.execute("UPDATE audit_event SET action = 'update' WHERE action = 'restore'")
    with op.batch_alter_table('audit_event') as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_event_action_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_audit_event_action_known'), "action IN ('create', 'update', 'delete')"
        )
        batch_op.drop_column('source')
    for table in reversed(EDITABLE_TABLES):
        op.drop_column(table, 'deleted_at')
        op.drop_column(table, 'version')
