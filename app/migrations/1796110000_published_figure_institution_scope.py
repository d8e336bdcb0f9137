"""published figures of one institution (scope 'institution')

Revision ID: 1796110000
Revises: 1796100000
Create Date: 2026-12-02 10:00:00.000000

A published figure may be one institution's (e.g. the best-scoring institution of each state in
the 2017 executive summary): scope 'institution', scope_key "<cve_ent or federal>:<type>:<name
as printed>". The scope column widens to 16 characters to hold the new code.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796110000'
down_revision: Union[str, Sequence[str], None] = '1796100000'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

OLD_SCOPES = "scope IN ('national', 'state', 'level', 'type')"
NEW_SCOPES = "scope IN ('national', 'state', 'level', 'type', 'institution')"


def _scope(length: int, new_length: int, check: str) -> None:
    """Resize published_figure.scope and replace its check of known scopes."""
    with op.batch_alter_table('published_figure') as batch_op:
        batch_op.drop_constraint(op.f('ck_published_figure_scope_known'), type_='check')
        batch_op.alter_column(
            'scope', existing_type=sa.String(length=length), type_=sa.String(length=new_length),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(op.f('ck_published_figure_scope_known'), check)


def upgrade() -> None:
    """Upgrade schema."""
    _scope(10, 16, NEW_SCOPES)


def downgrade() -> None:
    """Downgrade schema: institution figures cannot be kept under the old scopes."""
    op.execute("DELETE FROM published_figure WHERE scope = 'institution'")
    _scope(16, 10, OLD_SCOPES)
