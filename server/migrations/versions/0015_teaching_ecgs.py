"""teaching library: de-identified ECG copies

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teaching_ecgs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source_ecg_id", sa.Integer(), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("leads", sa.JSON(), nullable=False),
        sa.Column("sampling_rate", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("device_measurements", sa.JSON(), nullable=False),
        sa.Column("automated_measurements", sa.JSON(), nullable=True),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["teaching_items.id"], name=op.f("fk_teaching_ecgs_item_id_teaching_items")
        ),
        sa.ForeignKeyConstraint(
            ["source_ecg_id"], ["ecg_records.id"], name=op.f("fk_teaching_ecgs_source_ecg_id_ecg_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_ecgs")),
        sa.UniqueConstraint("item_id", "source_ecg_id", name="uq_teaching_ecgs_item_source"),
    )
    op.create_index(op.f("ix_teaching_ecgs_item_id"), "teaching_ecgs", ["item_id"], unique=False)
    op.create_index(op.f("ix_teaching_ecgs_source_ecg_id"), "teaching_ecgs", ["source_ecg_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_teaching_ecgs_source_ecg_id"), table_name="teaching_ecgs")
    op.drop_index(op.f("ix_teaching_ecgs_item_id"), table_name="teaching_ecgs")
    op.drop_table("teaching_ecgs")
