"""session tokens that end sessions; every sign-in attempt recorded

Revision ID: 1796400000
Revises: 1796500000
Create Date: 2026-12-03 10:00:00.000000

Each account gets a session token, part of every session cookie it signs in with: a new token
ends every session of the account (sign-out, password change, disable, "sign out
everywhere"). Existing accounts get a random one, so sessions opened before the upgrade end
(everyone signs in again). ``sign_in_attempt`` records every sign-in and failed attempt (time,
client address, outcome).
"""
import secrets
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796400000'
down_revision: Union[str, Sequence[str], None] = '1796500000'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

OUTCOMES = ("outcome IN ('success', 'wrong_password', 'disabled', 'unknown_account', "
            "'password_reset')")


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('app_user', sa.Column('session_token', sa.String(length=32), nullable=True))
    users = sa.table('app_user', sa.column('id', sa.Integer()),
                     sa.column('session_token', sa.String(32)))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(session_token=secrets.token_hex(16)))
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=32),
                              nullable=False)
    op.create_table(
        'sign_in_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=45), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.CheckConstraint(OUTCOMES, name=op.f('ck_sign_in_attempt_outcome_known')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_sign_in_attempt_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempt')),
    )
    op.create_index(op.f('ix_sign_in_attempt_at'), 'sign_in_attempt', ['at'])
    op.create_index(op.f('ix_sign_in_attempt_user_id'), 'sign_in_attempt', ['user_id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_sign_in_attempt_user_id'), table_name='sign_in_attempt')
    op.drop_index(op.f('ix_sign_in_attempt_at'), table_name='sign_in_attempt')
    op.drop_table('sign_in_attempt')
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.drop_column('session_token')
