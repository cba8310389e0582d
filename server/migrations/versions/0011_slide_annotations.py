"""slide annotations

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slide_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slide_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=16), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_slide_annotations_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["slide_id"], ["slides.id"], name=op.f("fk_slide_annotations_slide_id_slides")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slide_annotations")),
    )
    op.create_index(op.f("ix_slide_annotations_slide_id"), "slide_annotations", ["slide_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slide_annotations_slide_id"), table_name="slide_annotations")
    op.drop_table("slide_annotations")
