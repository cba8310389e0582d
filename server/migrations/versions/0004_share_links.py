"""share links

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("read", "download", name="sharescope", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_share_links_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_share_links_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_share_links_revoked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["dicom_studies.id"], name=op.f("fk_share_links_study_id_dicom_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_links_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_links_study_id"), ["study_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_study_id"))
        batch_op.drop_index(batch_op.f("ix_share_links_case_id"))

    op.drop_table("share_links")
