"""user agency; evidence date and what it proves

Revision ID: 1796090000
Revises: 1796075882
Create Date: 2026-12-01 13:20:00.000000

Accounts act for an agency (the public name of their changes); evidence gets its own date
and a note of what it proves.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796090000'
down_revision: Union[str, Sequence[str], None] = '1796075882'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('app_user', sa.Column('agency', sa.String(length=120), nullable=True))
    op.add_column('evidence', sa.Column('dated', sa.Date(), nullable=True))
    op.add_column('evidence', sa.Column('proves', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('evidence') as batch_op:
        batch_op.drop_column('proves')
        batch_op.drop_column('dated')
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.drop_column('agency')
