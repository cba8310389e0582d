"""referrals

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_office_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "duty", sa.Enum("head", "staff", name="officeduty", native_enum=False, length=32), nullable=False
        ),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_referral_office_members_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_referral_office_members_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_referral_office_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_office_members")),
        sa.UniqueConstraint("institution_id", "user_id", name="uq_referral_office_members_user"),
    )
    op.create_index(
        op.f("ix_referral_office_members_institution_id"),
        "referral_office_members",
        ["institution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_referral_office_members_user_id"), "referral_office_members", ["user_id"], unique=False
    )
    op.create_table(
        "referral_quota_policies",
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("reserved_share_bp", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reserved_share_bp >= 0 AND reserved_share_bp <= 10000",
            name=op.f("ck_referral_quota_policies_share_within_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_referral_quota_policies_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_referral_quota_policies_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("institution_id", name=op.f("pk_referral_quota_policies")),
    )
    op.create_table(
        "referral_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "outpatient",
                "ct",
                "mri",
                "ultrasound",
                "endoscopy",
                name="slotkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= reserved", name=op.f("ck_referral_slots_booked_within_reserved")
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_referral_slots_capacity_positive")),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= capacity", name=op.f("ck_referral_slots_reserved_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_referral_slots_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_referral_slots_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_slots")),
        sa.UniqueConstraint("institution_id", "day", "kind", "department", name="uq_referral_slots_day_kind"),
    )
    op.create_index(op.f("ix_referral_slots_day"), "referral_slots", ["day"], unique=False)
    op.create_index(
        op.f("ix_referral_slots_institution_id"), "referral_slots", ["institution_id"], unique=False
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("up", "down", name="referraldirection", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "sent",
                "received",
                "booked",
                "arrived",
                "admitted",
                "treated",
                "discharged",
                "closed",
                "declined",
                "cancelled",
                name="referralstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("from_institution_id", sa.Integer(), nullable=False),
        sa.Column("to_institution_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("treatment", sa.Text(), nullable=False),
        sa.Column("priority", sa.JSON(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("booked_by_id", sa.Integer(), nullable=True),
        sa.Column("booked_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("discharge_summary", sa.Text(), nullable=False),
        sa.Column("follow_up_plan", sa.JSON(), nullable=False),
        sa.Column("closed_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booked_by_id"], ["users.id"], name=op.f("fk_referrals_booked_by_id_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_referrals_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["from_institution_id"],
            ["institutions.id"],
            name=op.f("fk_referrals_from_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["referrals.id"], name=op.f("fk_referrals_parent_id_referrals")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_referrals_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["referral_slots.id"], name=op.f("fk_referrals_slot_id_referral_slots")
        ),
        sa.ForeignKeyConstraint(
            ["to_institution_id"],
            ["institutions.id"],
            name=op.f("fk_referrals_to_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_case_id"), "referrals", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_referrals_from_institution_id"), "referrals", ["from_institution_id"], unique=False
    )
    op.create_index(op.f("ix_referrals_parent_id"), "referrals", ["parent_id"], unique=False)
    op.create_index(op.f("ix_referrals_patient_id"), "referrals", ["patient_id"], unique=False)
    op.create_index(op.f("ix_referrals_slot_id"), "referrals", ["slot_id"], unique=False)
    op.create_index(op.f("ix_referrals_state"), "referrals", ["state"], unique=False)
    op.create_index(op.f("ix_referrals_to_institution_id"), "referrals", ["to_institution_id"], unique=False)
    op.create_table(
        "follow_up_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("due_dates", sa.JSON(), nullable=False),
        sa.Column(
            "colour",
            sa.Enum("green", "yellow", "red", name="triagecolour", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_follow_up_entries_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_follow_up_entries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_follow_up_entries_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_entries")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_follow_up_entries_referral_id")),
    )
    op.create_index(op.f("ix_follow_up_entries_colour"), "follow_up_entries", ["colour"], unique=False)
    op.create_index(
        op.f("ix_follow_up_entries_institution_id"), "follow_up_entries", ["institution_id"], unique=False
    )
    op.create_index(
        op.f("ix_follow_up_entries_patient_id"), "follow_up_entries", ["patient_id"], unique=False
    )
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.Enum("national_id", "health_card", name="identitydocument", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.Enum("matched", "mismatch", "invalid", name="identityresult", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_identity_checks_referral_id_referrals")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_identity_checks_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_checks")),
    )
    op.create_index(op.f("ix_identity_checks_referral_id"), "identity_checks", ["referral_id"], unique=False)
    op.create_index(
        "ix_identity_checks_user_referral", "identity_checks", ["user_id", "referral_id"], unique=False
    )
    op.create_table(
        "referral_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "sent",
                "received",
                "booked",
                "arrived",
                "admitted",
                "treated",
                "discharged",
                "closed",
                "declined",
                "cancelled",
                name="referralstate",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "sent",
                "received",
                "booked",
                "arrived",
                "admitted",
                "treated",
                "discharged",
                "closed",
                "declined",
                "cancelled",
                name="referralstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_referral_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_events_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_events")),
    )
    op.create_index(op.f("ix_referral_events_referral_id"), "referral_events", ["referral_id"], unique=False)
    op.create_table(
        "referral_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("treatment_plan", "record", name="referralnotekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_referral_notes_author_id_users")),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_notes_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_notes")),
    )
    op.create_index(op.f("ix_referral_notes_referral_id"), "referral_notes", ["referral_id"], unique=False)
    op.create_table(
        "follow_up_colour_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_colour",
            sa.Enum("green", "yellow", "red", name="triagecolour", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "to_colour",
            sa.Enum("green", "yellow", "red", name="triagecolour", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_follow_up_colour_changes_changed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["follow_up_entries.id"],
            name=op.f("fk_follow_up_colour_changes_entry_id_follow_up_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_colour_changes")),
    )
    op.create_index(
        op.f("ix_follow_up_colour_changes_entry_id"), "follow_up_colour_changes", ["entry_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_up_colour_changes_entry_id"), table_name="follow_up_colour_changes")
    op.drop_table("follow_up_colour_changes")
    op.drop_index(op.f("ix_referral_notes_referral_id"), table_name="referral_notes")
    op.drop_table("referral_notes")
    op.drop_index(op.f("ix_referral_events_referral_id"), table_name="referral_events")
    op.drop_table("referral_events")
    op.drop_index("ix_identity_checks_user_referral", table_name="identity_checks")
    op.drop_index(op.f("ix_identity_checks_referral_id"), table_name="identity_checks")
    op.drop_table("identity_checks")
    op.drop_index(op.f("ix_follow_up_entries_patient_id"), table_name="follow_up_entries")
    op.drop_index(op.f("ix_follow_up_entries_institution_id"), table_name="follow_up_entries")
    op.drop_index(op.f("ix_follow_up_entries_colour"), table_name="follow_up_entries")
    op.drop_table("follow_up_entries")
    op.drop_index(op.f("ix_referrals_to_institution_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_state"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_slot_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_patient_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_parent_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_from_institution_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_case_id"), table_name="referrals")
    op.drop_table("referrals")
    op.drop_index(op.f("ix_referral_slots_institution_id"), table_name="referral_slots")
    op.drop_index(op.f("ix_referral_slots_day"), table_name="referral_slots")
    op.drop_table("referral_slots")
    op.drop_table("referral_quota_policies")
    op.drop_index(op.f("ix_referral_office_members_user_id"), table_name="referral_office_members")
    op.drop_index(op.f("ix_referral_office_members_institution_id"), table_name="referral_office_members")
    op.drop_table("referral_office_members")
