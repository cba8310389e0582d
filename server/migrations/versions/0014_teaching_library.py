"""teaching library: published recordings, their de-identified materials, slide copies

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teaching_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("teaching_session_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("specialty", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("host_chapters", sa.JSON(), nullable=False),
        sa.Column("viewer_chapters", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("preparing", "ready", "failed", name="teachingitemstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ready_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_teaching_items_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_teaching_items_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_teaching_items_recording_id_recordings")
        ),
        sa.ForeignKeyConstraint(
            ["teaching_session_id"],
            ["teaching_sessions.id"],
            name=op.f("fk_teaching_items_teaching_session_id_teaching_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_items")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_teaching_items_recording_id")),
    )
    op.create_index(op.f("ix_teaching_items_community_id"), "teaching_items", ["community_id"], unique=False)
    op.create_index(op.f("ix_teaching_items_specialty"), "teaching_items", ["specialty"], unique=False)
    op.create_index(op.f("ix_teaching_items_state"), "teaching_items", ["state"], unique=False)
    op.create_index(
        op.f("ix_teaching_items_teaching_session_id"), "teaching_items", ["teaching_session_id"], unique=False
    )

    op.create_table(
        "teaching_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("copy_id", sa.String(length=64), nullable=False),
        sa.Column("burned_in_warning", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["teaching_items.id"], name=op.f("fk_teaching_materials_item_id_teaching_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_materials")),
        sa.UniqueConstraint("item_id", "kind", "source_id", name="uq_teaching_materials_item_source"),
    )
    op.create_index(op.f("ix_teaching_materials_copy_id"), "teaching_materials", ["copy_id"], unique=False)
    op.create_index(op.f("ix_teaching_materials_item_id"), "teaching_materials", ["item_id"], unique=False)

    op.create_table(
        "teaching_slides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source_slide_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("mpp_x", sa.Float(), nullable=True),
        sa.Column("mpp_y", sa.Float(), nullable=True),
        sa.Column("objective_power", sa.Float(), nullable=True),
        sa.Column("tiles_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["teaching_items.id"], name=op.f("fk_teaching_slides_item_id_teaching_items")
        ),
        sa.ForeignKeyConstraint(
            ["source_slide_id"], ["slides.id"], name=op.f("fk_teaching_slides_source_slide_id_slides")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_slides")),
        sa.UniqueConstraint("item_id", "source_slide_id", name="uq_teaching_slides_item_source"),
    )
    op.create_index(op.f("ix_teaching_slides_item_id"), "teaching_slides", ["item_id"], unique=False)
    op.create_index(
        op.f("ix_teaching_slides_source_slide_id"), "teaching_slides", ["source_slide_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_teaching_slides_source_slide_id"), table_name="teaching_slides")
    op.drop_index(op.f("ix_teaching_slides_item_id"), table_name="teaching_slides")

    op.drop_table("teaching_slides")
    op.drop_index(op.f("ix_teaching_materials_item_id"), table_name="teaching_materials")
    op.drop_index(op.f("ix_teaching_materials_copy_id"), table_name="teaching_materials")

    op.drop_table("teaching_materials")
    op.drop_index(op.f("ix_teaching_items_teaching_session_id"), table_name="teaching_items")
    op.drop_index(op.f("ix_teaching_items_state"), table_name="teaching_items")
    op.drop_index(op.f("ix_teaching_items_specialty"), table_name="teaching_items")
    op.drop_index(op.f("ix_teaching_items_community_id"), table_name="teaching_items")

    op.drop_table("teaching_items")
