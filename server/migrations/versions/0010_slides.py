"""slides

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("original_file_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mpp_x", sa.Float(), nullable=True),
        sa.Column("mpp_y", sa.Float(), nullable=True),
        sa.Column("objective_power", sa.Float(), nullable=True),
        sa.Column("slide_metadata", sa.JSON(), nullable=False),
        sa.Column("tiles_state", sa.String(length=16), nullable=False),
        sa.Column("tiles_error", sa.Text(), nullable=True),
        sa.Column("tiles_ready_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_slides_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_slides_institution_id_institutions")
        ),
        sa.ForeignKeyConstraint(
            ["original_file_id"], ["stored_files.id"], name=op.f("fk_slides_original_file_id_stored_files")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_slides_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slides")),
        sa.UniqueConstraint("case_id", "sha256", name="uq_slides_case_sha256"),
    )
    with op.batch_alter_table("slides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slides_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slides_institution_id"), ["institution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slides_institution_id"))
        batch_op.drop_index(batch_op.f("ix_slides_case_id"))
    op.drop_table("slides")
