"""dashboard sources

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("host_institution_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outreach_days_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["host_institution_id"],
            ["institutions.id"],
            name=op.f("fk_outreach_days_host_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"], ["users.id"], name=op.f("fk_outreach_days_specialist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_days")),
        sa.UniqueConstraint("specialist_id", "day", name="uq_outreach_days_specialist_day"),
    )
    op.create_index(op.f("ix_outreach_days_day"), "outreach_days", ["day"], unique=False)
    op.create_index(
        op.f("ix_outreach_days_host_institution_id"), "outreach_days", ["host_institution_id"], unique=False
    )
    op.create_index(op.f("ix_outreach_days_specialist_id"), "outreach_days", ["specialist_id"], unique=False)
    op.create_table(
        "teaching_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "ward_round",
                "bedside",
                "surgical_demo",
                "lecture",
                name="teachingkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("held_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_teaching_sessions_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_teaching_sessions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["host_id"], ["users.id"], name=op.f("fk_teaching_sessions_host_id_users")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_teaching_sessions_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_sessions")),
    )
    op.create_index(
        op.f("ix_teaching_sessions_community_id"), "teaching_sessions", ["community_id"], unique=False
    )
    op.create_index(op.f("ix_teaching_sessions_held_at"), "teaching_sessions", ["held_at"], unique=False)
    op.create_index(op.f("ix_teaching_sessions_host_id"), "teaching_sessions", ["host_id"], unique=False)
    op.create_index(
        op.f("ix_teaching_sessions_institution_id"), "teaching_sessions", ["institution_id"], unique=False
    )
    op.create_table(
        "teaching_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["teaching_sessions.id"],
            name=op.f("fk_teaching_attendance_session_id_teaching_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["users.id"], name=op.f("fk_teaching_attendance_trainee_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaching_attendance")),
        sa.UniqueConstraint("session_id", "trainee_id", name="uq_teaching_attendance_session_trainee"),
    )
    op.create_index(
        op.f("ix_teaching_attendance_session_id"), "teaching_attendance", ["session_id"], unique=False
    )
    op.create_index(
        op.f("ix_teaching_attendance_trainee_id"), "teaching_attendance", ["trainee_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_teaching_attendance_trainee_id"), table_name="teaching_attendance")
    op.drop_index(op.f("ix_teaching_attendance_session_id"), table_name="teaching_attendance")
    op.drop_table("teaching_attendance")
    op.drop_index(op.f("ix_teaching_sessions_institution_id"), table_name="teaching_sessions")
    op.drop_index(op.f("ix_teaching_sessions_host_id"), table_name="teaching_sessions")
    op.drop_index(op.f("ix_teaching_sessions_held_at"), table_name="teaching_sessions")
    op.drop_index(op.f("ix_teaching_sessions_community_id"), table_name="teaching_sessions")
    op.drop_table("teaching_sessions")
    op.drop_index(op.f("ix_outreach_days_specialist_id"), table_name="outreach_days")
    op.drop_index(op.f("ix_outreach_days_host_institution_id"), table_name="outreach_days")
    op.drop_index(op.f("ix_outreach_days_day"), table_name="outreach_days")
    op.drop_table("outreach_days")
