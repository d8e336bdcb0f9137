"""source registry; basis of assessments and published figures; programmes; bilingual titles

Revision ID: 1796100000
Revises: 1796090000
Create Date: 2026-12-01 15:00:00.000000

Adds the source registry (``source``) and what cites each source (``source_link``); the basis
of an assessment or a published figure (as published, computed here, self-reported, inferred,
press) with the reasoning of an inference; a publication key so two publications of one figure
are both kept; the programme of each action plan (existing national plans: ogp_national;
existing local plans: inai_cocreacion); Spanish and English commitment titles; a note on
headline counts.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796100000'
down_revision: Union[str, Sequence[str], None] = '1796090000'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

BASES = "basis IN ('published', 'computed', 'self_reported', 'inferred', 'press')"
OLD_FIGURE_KEY = ['round_id', 'scope', 'scope_key', 'index_name']


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'source',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('publisher', sa.Text(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('date', sa.String(length=10), nullable=True),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('official_report', 'press', 'government_self_report', 'dataset', "
            "'web_page')",
            name=op.f('ck_source_kind_known'),
        ),
        sa.CheckConstraint(
            'date IS NULL OR length(date) IN (4, 7, 10)', name=op.f('ck_source_date_partial')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_source')),
        sa.UniqueConstraint('key', name=op.f('uq_source_key')),
    )
    op.create_table(
        'source_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['source_id'], ['source.id'], name=op.f('fk_source_link_source_id_source'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_source_link')),
        sa.UniqueConstraint(
            'source_id', 'entity', 'entity_id',
            name=op.f('uq_source_link_source_id_entity_entity_id'),
        ),
    )
    op.create_index('ix_source_link_entity', 'source_link', ['entity', 'entity_id'])

    with op.batch_alter_table('assessment') as batch_op:
        batch_op.add_column(
            sa.Column('basis', sa.String(length=16), server_default='published', nullable=False)
        )
        batch_op.add_column(sa.Column('reasoning', sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_assessment_basis_known'), BASES)

    with op.batch_alter_table('published_figure') as batch_op:
        batch_op.add_column(
            sa.Column('publication', sa.String(length=40), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column('basis', sa.String(length=16), server_default='published', nullable=False)
        )
        batch_op.add_column(sa.Column('reasoning', sa.Text(), nullable=True))
        batch_op.drop_constraint(
            op.f('uq_published_figure_round_id_scope_scope_key_index_name'), type_='unique'
        )
        batch_op.create_unique_constraint(
            op.f('uq_published_figure_round_id_scope_scope_key_index_name_publication'),
            [*OLD_FIGURE_KEY, 'publication'],
        )
        batch_op.create_check_constraint(op.f('ck_published_figure_basis_known'), BASES)

    op.add_column('action_plan', sa.Column('programme', sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE action_plan SET programme = CASE WHEN scope = 'national' "
        "THEN 'ogp_national' ELSE 'inai_cocreacion' END"
    )
    with op.batch_alter_table('action_plan') as batch_op:
        batch_op.alter_column('programme', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_action_plan_programme_known'),
            "programme IN ('inai_cocreacion', 'ogp_local', 'ogp_national')",
        )

    op.add_column('commitment', sa.Column('title_es', sa.Text(), nullable=True))
    op.add_column('commitment', sa.Column('title_en', sa.Text(), nullable=True))
    op.add_column('programme_count', sa.Column('note', sa.Text(), nullable=True))


def _drop_checked(table: str, check: str, *columns: str) -> None:
    """Drop a check constraint of ``table`` and the columns it checked."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{check}'), type_='check')
        for column in columns:
            batch_op.drop_column(column)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('programme_count') as batch_op:
        batch_op.drop_column('note')
    with op.batch_alter_table('commitment') as batch_op:
        batch_op.drop_column('title_en')
        batch_op.drop_column('title_es')
    _drop_checked('action_plan', 'programme_known', 'programme')
    # The old key holds one figure per identity: keep the official report's.
    op.execute("DELETE FROM published_figure WHERE publication <> ''")
    with op.batch_alter_table('published_figure') as batch_op:
        batch_op.drop_constraint(op.f('ck_published_figure_basis_known'), type_='check')
        batch_op.drop_constraint(
            op.f('uq_published_figure_round_id_scope_scope_key_index_name_publication'),
            type_='unique',
        )
        batch_op.create_unique_constraint(
            op.f('uq_published_figure_round_id_scope_scope_key_index_name'), OLD_FIGURE_KEY
        )
        batch_op.drop_column('reasoning')
        batch_op.drop_column('basis')
        batch_op.drop_column('publication')
    _drop_checked('assessment', 'basis_known', 'reasoning', 'basis')
    op.drop_index('ix_source_link_entity', table_name='source_link')
    op.drop_table('source_link')
    op.drop_table('source')
