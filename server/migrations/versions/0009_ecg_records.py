"""ecg records

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ecg_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("original_file_id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("leads", sa.JSON(), nullable=False),
        sa.Column("sampling_rate", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.String(length=32), nullable=True),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("device_measurements", sa.JSON(), nullable=False),
        sa.Column("device_statements", sa.JSON(), nullable=False),
        sa.Column("automated_measurements", sa.JSON(), nullable=True),
        sa.Column("render_state", sa.String(length=16), nullable=False),
        sa.Column("render_error", sa.Text(), nullable=True),
        sa.Column("rendered_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_ecg_records_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_ecg_records_institution_id_institutions")
        ),
        sa.ForeignKeyConstraint(
            ["original_file_id"],
            ["stored_files.id"],
            name=op.f("fk_ecg_records_original_file_id_stored_files"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_ecg_records_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ecg_records")),
        sa.UniqueConstraint("case_id", "sha256", name="uq_ecg_records_case_sha256"),
    )
    with op.batch_alter_table("ecg_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ecg_records_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ecg_records_institution_id"), ["institution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ecg_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ecg_records_institution_id"))
        batch_op.drop_index(batch_op.f("ix_ecg_records_case_id"))
    op.drop_table("ecg_records")
