"""the record reconciled: sources as a librarian lists them, counts reconciled, dated facts

Revision ID: 1796200000
Revises: 1796110000
Create Date: 2026-12-03 12:00:00.000000

- source: how the title was written (title_basis: printed, described, address) and why
  (title_note, required unless printed); the third-party host of a copy (copy_host) and the
  original's own address (original_url).
- programme_count: a stable key; programme_count_plan: how each recorded plan stands to each
  published headline count (counted, outside, undetermined), with basis and reasoning.
- programme_fact: dated facts of a programme no other table holds, quoted, with their basis.
- published_figure: a place as printed (rank_printed), the words of a figure that is none of
  the indices (measure, index CMP); value may be empty when only a place is printed; scope_key
  widens to 200 characters (an institution's full name as printed).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796200000'
down_revision: Union[str, Sequence[str], None] = '1796110000'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

BASES = "basis IN ('published', 'computed', 'self_reported', 'inferred', 'press')"
PROGRAMMES = "programme IN ('inai_cocreacion', 'ogp_local', 'ogp_national')"


def _versioned() -> list[sa.Column]:
    return [
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('source') as batch_op:
        batch_op.add_column(sa.Column(
            'title_basis', sa.String(length=12), server_default='printed', nullable=False))
        batch_op.add_column(sa.Column('title_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('copy_host', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('original_url', sa.Text(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_source_title_basis_known'),
            "title_basis IN ('printed', 'described', 'address')")
        batch_op.create_check_constraint(
            op.f('ck_source_title_note_given'),
            "title_basis = 'printed' OR title_note IS NOT NULL")

    with op.batch_alter_table('programme_count') as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(op.f('uq_programme_count_key'), ['key'])

    op.create_table(
        'programme_count_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('count_id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=12), nullable=False),
        sa.Column('basis', sa.String(length=16), nullable=False),
        sa.Column('reasoning', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=False),
        *_versioned(),
        sa.CheckConstraint(BASES, name=op.f('ck_programme_count_plan_basis_known')),
        sa.CheckConstraint(
            "role IN ('counted', 'outside', 'undetermined')",
            name=op.f('ck_programme_count_plan_role_known')),
        sa.ForeignKeyConstraint(
            ['count_id'], ['programme_count.id'],
            name=op.f('fk_programme_count_plan_count_id_programme_count'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['plan_id'], ['action_plan.id'],
            name=op.f('fk_programme_count_plan_plan_id_action_plan'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_count_plan')),
        sa.UniqueConstraint(
            'count_id', 'plan_id', name=op.f('uq_programme_count_plan_count_id_plan_id')),
    )
    op.create_index(
        op.f('ix_programme_count_plan_plan_id'), 'programme_count_plan', ['plan_id'])

    op.create_table(
        'programme_fact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('state_cve', sa.String(length=2), nullable=True),
        sa.Column('programme', sa.String(length=20), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('as_of', sa.String(length=10), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('quote', sa.Text(), nullable=True),
        sa.Column('basis', sa.String(length=16), nullable=False),
        sa.Column('reasoning', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=False),
        *_versioned(),
        sa.CheckConstraint(
            'as_of IS NULL OR length(as_of) IN (4, 7, 10)', name=op.f('ck_programme_fact_as_of')),
        sa.CheckConstraint(BASES, name=op.f('ck_programme_fact_basis_known')),
        sa.CheckConstraint(PROGRAMMES, name=op.f('ck_programme_fact_programme_known')),
        sa.ForeignKeyConstraint(
            ['plan_id'], ['action_plan.id'],
            name=op.f('fk_programme_fact_plan_id_action_plan'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(
            ['state_cve'], ['state.cve_ent'], name=op.f('fk_programme_fact_state_cve_state')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_fact')),
        sa.UniqueConstraint('key', name=op.f('uq_programme_fact_key')),
    )
    op.create_index(op.f('ix_programme_fact_state_cve'), 'programme_fact', ['state_cve'])

    with op.batch_alter_table('published_figure') as batch_op:
        batch_op.add_column(sa.Column('rank_printed', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('measure', sa.Text(), nullable=True))
        batch_op.alter_column('value', existing_type=sa.Float(), nullable=True)
        # An institution's key holds its full name as printed.
        batch_op.alter_column('scope_key', existing_type=sa.String(length=60),
                              type_=sa.String(length=200), existing_nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_published_figure_value_or_rank'),
            'value IS NOT NULL OR rank_printed IS NOT NULL')


def downgrade() -> None:
    """Downgrade schema: figures that print only a place cannot be kept without a value."""
    op.execute('DELETE FROM published_figure WHERE value IS NULL OR length(scope_key) > 60')
    with op.batch_alter_table('published_figure') as batch_op:
        batch_op.drop_constraint(op.f('ck_published_figure_value_or_rank'), type_='check')
        batch_op.alter_column('value', existing_type=sa.Float(), nullable=False)
        batch_op.alter_column('scope_key', existing_type=sa.String(length=200),
                              type_=sa.String(length=60), existing_nullable=False)
        batch_op.drop_column('measure')
        batch_op.drop_column('rank_printed')

    op.drop_index(op.f('ix_programme_fact_state_cve'), table_name='programme_fact')
    op.drop_table('programme_fact')
    op.drop_index(op.f('ix_programme_count_plan_plan_id'), table_name='programme_count_plan')
    op.drop_table('programme_count_plan')

    with op.batch_alter_table('programme_count') as batch_op:
        batch_op.drop_constraint(op.f('uq_programme_count_key'), type_='unique')
        batch_op.drop_column('key')

    with op.batch_alter_table('source') as batch_op:
        batch_op.drop_constraint(op.f('ck_source_title_note_given'), type_='check')
        batch_op.drop_constraint(op.f('ck_source_title_basis_known'), type_='check')
        batch_op.drop_column('original_url')
        batch_op.drop_column('copy_host')
        batch_op.drop_column('title_note')
        batch_op.drop_column('title_basis')
