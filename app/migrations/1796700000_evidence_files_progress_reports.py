"""evidence files; progress reports

Revision ID: 1796700000
Revises: 1796400000
Create Date: 2026-12-03 12:00:00.000000

Evidence may hold a file (kept by its SHA-256 in EVIDENCE_FILES_DIR): the row keeps the name
it was uploaded with, its size, the type read from its content and the hash. The unused
``file_ref`` goes (an evidence row with a ``file_ref`` and no URL stops the upgrade, so that
nothing is lost). ``progress_entry``: dated narrative entries on a commitment, each with its
source and an optional file.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1796700000'
down_revision: Union[str, Sequence[str], None] = '1796400000'
branch_labels: Union[str, Sequence[str], None] = ()
depends_on: Union[str, Sequence[str], None] = None

# common.codes.FILE_TYPES when this migration was written.
FILE_TYPES = (
    "file_type IS NULL OR file_type IN ('application/pdf', 'image/png', 'image/jpeg', "
    "'image/gif', 'image/webp', "
    "'application/vnd.openxmlformats-officedocument.wordprocessingml.document', "
    "'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', "
    "'application/vnd.openxmlformats-officedocument.presentationml.presentation', "
    "'application/vnd.oasis.opendocument.text', "
    "'application/vnd.oasis.opendocument.spreadsheet', "
    "'application/vnd.oasis.opendocument.presentation')"
)
FILE_WHOLE = (
    "(file_sha256 IS NULL AND file_name IS NULL AND file_size IS NULL AND file_type IS NULL) "
    "OR (file_sha256 IS NOT NULL AND file_name IS NOT NULL AND file_size IS NOT NULL "
    "AND file_type IS NOT NULL)"
)


def _file_columns() -> list[sa.Column]:
    return [
        sa.Column('file_name', sa.String(length=255), nullable=True),
        sa.Column('file_size', sa.Integer(), nullable=True),
        sa.Column('file_type', sa.String(length=100), nullable=True),
        sa.Column('file_sha256', sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    stranded = connection.execute(sa.text(
        "SELECT id FROM evidence WHERE file_ref IS NOT NULL AND url IS NULL")).scalars().all()
    if stranded:
        raise RuntimeError(
            "evidence rows " + ", ".join(map(str, stranded)) + " have a file_ref and no URL; "
            "give them a URL (or remove them) before this upgrade, which drops file_ref")
    with op.batch_alter_table('evidence') as batch_op:
        for column in _file_columns():
            batch_op.add_column(column)
        batch_op.drop_constraint(op.f('ck_evidence_has_target'), type_='check')
        batch_op.drop_column('file_ref')
        batch_op.create_check_constraint(op.f('ck_evidence_has_target'),
                                         'url IS NOT NULL OR file_sha256 IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_evidence_file_type_known'), FILE_TYPES)
        batch_op.create_check_constraint(op.f('ck_evidence_file_whole'), FILE_WHOLE)
        batch_op.create_index(op.f('ix_evidence_file_sha256'), ['file_sha256'])
    op.create_table(
        'progress_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('commitment_id', sa.Integer(), nullable=False),
        sa.Column('reported_on', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('added_by_label', sa.String(length=120), nullable=True),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        *_file_columns(),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(FILE_TYPES, name=op.f('ck_progress_entry_file_type_known')),
        sa.CheckConstraint(FILE_WHOLE, name=op.f('ck_progress_entry_file_whole')),
        sa.ForeignKeyConstraint(['added_by_id'], ['app_user.id'],
                                name=op.f('fk_progress_entry_added_by_id_app_user')),
        sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], ondelete='CASCADE',
                                name=op.f('fk_progress_entry_commitment_id_commitment')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_entry')),
    )
    op.create_index(op.f('ix_progress_entry_commitment_id'), 'progress_entry',
                    ['commitment_id'])
    op.create_index(op.f('ix_progress_entry_file_sha256'), 'progress_entry', ['file_sha256'])


def downgrade() -> None:
    """Downgrade schema (refused while any evidence holds only a file: it would be lost)."""
    connection = op.get_bind()
    only_files = connection.execute(sa.text(
        "SELECT id FROM evidence WHERE url IS NULL")).scalars().all()
    if only_files:
        raise RuntimeError(
            "evidence rows " + ", ".join(map(str, only_files)) + " hold only a file, which "
            "the earlier schema cannot keep; remove them first")
    op.drop_index(op.f('ix_progress_entry_file_sha256'), table_name='progress_entry')
    op.drop_index(op.f('ix_progress_entry_commitment_id'), table_name='progress_entry')
    op.drop_table('progress_entry')
    with op.batch_alter_table('evidence') as batch_op:
        batch_op.drop_index(op.f('ix_evidence_file_sha256'))
        batch_op.drop_constraint(op.f('ck_evidence_file_whole'), type_='check')
        batch_op.drop_constraint(op.f('ck_evidence_file_type_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_evidence_has_target'), type_='check')
        batch_op.add_column(sa.Column('file_ref', sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_evidence_has_target'),
                                         'url IS NOT NULL OR file_ref IS NOT NULL')
        for name in ('file_sha256', 'file_type', 'file_size', 'file_name'):
            batch_op.drop_column(name)
