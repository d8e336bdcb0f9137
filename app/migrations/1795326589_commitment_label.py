"""commitment label

Revision ID: 1795326589
Revises: 1795326001
Create Date: 2026-11-22 05:49:49.929352

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1795326589'
down_revision: Union[str, Sequence[str], None] = '1795326001'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the commitment's label: its number or code as the plan prints it
    (e.g. "P2", "MX0084")."""
    op.add_column('commitment', sa.Column('label', sa.String(length=12), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('commitment', 'label')
