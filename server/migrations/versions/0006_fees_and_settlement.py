"""fees and settlement

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.core.orm

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "case_kind",
            sa.Enum(
                "imaging",
                "ecg",
                "pathology",
                "consult",
                "mdt",
                "referral",
                name="casekind",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "tier",
            sa.Enum("tertiary", "secondary", "primary", name="pricetier", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("insurance_payable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_service_prices_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_prices")),
        sa.UniqueConstraint("community_id", "code", "tier", name="uq_service_prices_code_tier"),
    )
    op.create_index(op.f("ix_service_prices_community_id"), "service_prices", ["community_id"], unique=False)
    op.create_table(
        "settlement_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_institution_id", sa.Integer(), nullable=False),
        sa.Column("member_institution_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column(
            "rule",
            sa.Enum("discount", "rebate", name="settlementrule", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("baseline_cost_rate_bp", sa.Integer(), nullable=False),
        sa.Column("baseline_recorded_on", sa.Date(), nullable=False),
        sa.Column("created_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "baseline_cost_rate_bp <= 10000", name=op.f("ck_settlement_agreements_baseline_at_most_whole")
        ),
        sa.CheckConstraint(
            "rate_bp >= 0 AND rate_bp <= baseline_cost_rate_bp",
            name=op.f("ck_settlement_agreements_rate_within_baseline"),
        ),
        sa.ForeignKeyConstraint(
            ["member_institution_id"],
            ["institutions.id"],
            name=op.f("fk_settlement_agreements_member_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_institution_id"],
            ["institutions.id"],
            name=op.f("fk_settlement_agreements_provider_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_agreements")),
        sa.UniqueConstraint(
            "provider_institution_id",
            "member_institution_id",
            "service_code",
            name="uq_settlement_agreements_pair",
        ),
    )
    op.create_index(
        op.f("ix_settlement_agreements_member_institution_id"),
        "settlement_agreements",
        ["member_institution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_settlement_agreements_provider_institution_id"),
        "settlement_agreements",
        ["provider_institution_id"],
        unique=False,
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_institution_id", sa.Integer(), nullable=False),
        sa.Column("provider_institution_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column(
            "state",
            sa.Enum("submitted", "checked", "invoiced", name="statementstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invoiced_by_id", sa.Integer(), nullable=True),
        sa.Column("invoiced_at", server.core.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checked_by_id"], ["users.id"], name=op.f("fk_statements_checked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invoiced_by_id"], ["users.id"], name=op.f("fk_statements_invoiced_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_institution_id"],
            ["institutions.id"],
            name=op.f("fk_statements_member_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_institution_id"],
            ["institutions.id"],
            name=op.f("fk_statements_provider_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_statements_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint(
            "member_institution_id", "provider_institution_id", "month", name="uq_statements_pair_month"
        ),
    )
    op.create_index(
        op.f("ix_statements_member_institution_id"), "statements", ["member_institution_id"], unique=False
    )
    op.create_index(op.f("ix_statements_month"), "statements", ["month"], unique=False)
    op.create_index(
        op.f("ix_statements_provider_institution_id"), "statements", ["provider_institution_id"], unique=False
    )
    op.create_table(
        "billable_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("service_name", sa.String(length=200), nullable=False),
        sa.Column(
            "tier",
            sa.Enum("tertiary", "secondary", "primary", name="pricetier", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("insurance_payable", sa.Boolean(), nullable=False),
        sa.Column("provider_institution_id", sa.Integer(), nullable=False),
        sa.Column("member_institution_id", sa.Integer(), nullable=False),
        sa.Column("performed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", server.core.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_billable_items_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["member_institution_id"],
            ["institutions.id"],
            name=op.f("fk_billable_items_member_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["performed_by_id"], ["users.id"], name=op.f("fk_billable_items_performed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_institution_id"],
            ["institutions.id"],
            name=op.f("fk_billable_items_provider_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billable_items")),
        sa.UniqueConstraint("case_id", "service_code", name="uq_billable_items_case_code"),
    )
    op.create_index(op.f("ix_billable_items_case_id"), "billable_items", ["case_id"], unique=False)
    op.create_index(op.f("ix_billable_items_completed_at"), "billable_items", ["completed_at"], unique=False)
    op.create_index(
        op.f("ix_billable_items_member_institution_id"),
        "billable_items",
        ["member_institution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_billable_items_performed_by_id"), "billable_items", ["performed_by_id"], unique=False
    )
    op.create_index(
        op.f("ix_billable_items_provider_institution_id"),
        "billable_items",
        ["provider_institution_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_billable_items_provider_institution_id"), table_name="billable_items")
    op.drop_index(op.f("ix_billable_items_performed_by_id"), table_name="billable_items")
    op.drop_index(op.f("ix_billable_items_member_institution_id"), table_name="billable_items")
    op.drop_index(op.f("ix_billable_items_completed_at"), table_name="billable_items")
    op.drop_index(op.f("ix_billable_items_case_id"), table_name="billable_items")
    op.drop_table("billable_items")
    op.drop_index(op.f("ix_statements_provider_institution_id"), table_name="statements")
    op.drop_index(op.f("ix_statements_month"), table_name="statements")
    op.drop_index(op.f("ix_statements_member_institution_id"), table_name="statements")
    op.drop_table("statements")
    op.drop_index(
        op.f("ix_settlement_agreements_provider_institution_id"), table_name="settlement_agreements"
    )
    op.drop_index(op.f("ix_settlement_agreements_member_institution_id"), table_name="settlement_agreements")
    op.drop_table("settlement_agreements")
    op.drop_index(op.f("ix_service_prices_community_id"), table_name="service_prices")
    op.drop_table("service_prices")
