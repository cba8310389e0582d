"""consult sessions and room events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consult_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("teaching_session_id", sa.Integer(), nullable=True),
        sa.Column("started_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consult_sessions_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_consult_sessions_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["teaching_session_id"],
            ["teaching_sessions.id"],
            name=op.f("fk_consult_sessions_teaching_session_id_teaching_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_sessions")),
    )
    op.create_index(op.f("ix_consult_sessions_room"), "consult_sessions", ["room"], unique=False)
    op.create_index(op.f("ix_consult_sessions_case_id"), "consult_sessions", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_consult_sessions_teaching_session_id"),
        "consult_sessions",
        ["teaching_session_id"],
        unique=False,
    )
    op.create_table(
        "room_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t_ms", sa.BigInteger(), nullable=False),
        sa.Column("at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["consult_sessions.id"], name=op.f("fk_room_events_session_id_consult_sessions")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_room_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_events")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_room_events_session_id")),
    )
    op.create_index(op.f("ix_room_events_session_id"), "room_events", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_room_events_session_id"), table_name="room_events")
    op.drop_table("room_events")
    op.drop_index(op.f("ix_consult_sessions_teaching_session_id"), table_name="consult_sessions")
    op.drop_index(op.f("ix_consult_sessions_case_id"), table_name="consult_sessions")
    op.drop_index(op.f("ix_consult_sessions_room"), table_name="consult_sessions")
    op.drop_table("consult_sessions")
