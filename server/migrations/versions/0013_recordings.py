"""recordings

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consult_session_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("object_keys", sa.JSON(), nullable=False),
        sa.Column("consent_user_ids", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consult_session_id"],
            ["consult_sessions.id"],
            name=op.f("fk_recordings_consult_session_id_consult_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index(
        op.f("ix_recordings_consult_session_id"), "recordings", ["consult_session_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recordings_consult_session_id"), table_name="recordings")
    op.drop_table("recordings")
