"""case workflow: lifecycle events, notifications, the workflow's times on cases, signed report versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "draft",
                "submitted",
                "queued",
                "assigned",
                "in_review",
                "reported",
                "closed",
                "returned",
                "escalated",
                "cancelled",
                name="casestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "draft",
                "submitted",
                "queued",
                "assigned",
                "in_review",
                "reported",
                "closed",
                "returned",
                "escalated",
                "cancelled",
                name="casestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_case_events_actor_id_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("recipient_centre_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "result_ready",
                "report_amended",
                "returned",
                "assigned",
                "escalated",
                "overdue",
                name="notificationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["recipient_centre_id"],
            ["reading_centres.id"],
            name=op.f("fk_notifications_recipient_centre_id_reading_centres"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name=op.f("fk_notifications_recipient_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notifications_recipient_centre_id"), ["recipient_centre_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_recipient_user_id"), ["recipient_user_id"], unique=False
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("submitted_at", server.core.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("target_at", server.core.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_at", server.core.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reported_at", server.core.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", server.core.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("overdue_at", server.core.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_cases_escalated_to_id"), ["escalated_to_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_target_at"), ["target_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_escalated_to_id_users"), "users", ["escalated_to_id"], ["id"]
        )

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_institution_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amendment_reason", sa.Text(), nullable=True))
        batch_op.create_unique_constraint("uq_reports_case_id_version", ["case_id", "version"])
        batch_op.create_foreign_key(
            batch_op.f("fk_reports_signed_institution_id_institutions"),
            "institutions",
            ["signed_institution_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reports_signed_institution_id_institutions"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_reports_case_id_version", type_="unique")
        batch_op.drop_column("amendment_reason")
        batch_op.drop_column("signed_institution_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_escalated_to_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_target_at"))
        batch_op.drop_index(batch_op.f("ix_cases_escalated_to_id"))
        batch_op.drop_column("overdue_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("reported_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("target_at")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("escalated_to_id")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_recipient_user_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_recipient_centre_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_case_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
