"""Fees and settlement: prices, agreements, billed services and monthly statements."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case, CaseKind
from server.community.models import Institution, User
from server.core.orm import Base, UTCDateTime, str_enum, utcnow


class PriceTier(enum.StrEnum):
    """The tier a service is priced at: that of the institution performing it (三级 / 二级 / 基层)."""

    TERTIARY = "tertiary"
    SECONDARY = "secondary"
    PRIMARY = "primary"


class ServicePrice(Base):
    """One entry of a community's service catalogue: a service code's price at one tier, in fen (分).

    `case_kind` names the cases whose completion bills this service (a signed read, a consult).
    """

    __tablename__ = "service_prices"
    __table_args__ = (UniqueConstraint("community_id", "code", "tier", name="uq_service_prices_code_tier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    case_kind: Mapped[CaseKind | None] = mapped_column(str_enum(CaseKind))
    tier: Mapped[PriceTier] = mapped_column(str_enum(PriceTier))
    price_fen: Mapped[int] = mapped_column(Integer)
    insurance_payable: Mapped[bool] = mapped_column(Boolean, default=False)


class SettlementRule(enum.StrEnum):
    DISCOUNT = "discount"  # 折扣: the centre bills the member unit the price less the discount rate
    REBATE = "rebate"  # 返款: the centre was paid the price and returns the rebate rate to the member unit


class SettlementAgreement(Base):
    """What a provider (the centre's institution) and a member unit agreed for one service (医联体协议).

    Rates are in basis points (1/100 of a percent). The rate never exceeds the service's baseline cost
    rate (基线成本率) recorded with the agreement; that rate is to be reviewed every six months.
    """

    __tablename__ = "settlement_agreements"
    __table_args__ = (
        UniqueConstraint(
            "provider_institution_id",
            "member_institution_id",
            "service_code",
            name="uq_settlement_agreements_pair",
        ),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= baseline_cost_rate_bp", name="rate_within_baseline"),
        CheckConstraint("baseline_cost_rate_bp <= 10000", name="baseline_at_most_whole"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(32))
    rule: Mapped[SettlementRule] = mapped_column(str_enum(SettlementRule))
    rate_bp: Mapped[int] = mapped_column(Integer)
    baseline_cost_rate_bp: Mapped[int] = mapped_column(Integer)
    baseline_recorded_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    provider: Mapped[Institution] = relationship(foreign_keys=[provider_institution_id])
    member: Mapped[Institution] = relationship(foreign_keys=[member_institution_id])


class BillableItem(Base):
    """One completed service, priced from the catalogue when it was completed; one per case and code."""

    __tablename__ = "billable_items"
    __table_args__ = (UniqueConstraint("case_id", "service_code", name="uq_billable_items_case_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(32))
    service_name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[PriceTier] = mapped_column(str_enum(PriceTier))
    price_fen: Mapped[int] = mapped_column(Integer)
    insurance_payable: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    case: Mapped[Case] = relationship()
    performed_by: Mapped[User | None] = relationship()


class StatementState(enum.StrEnum):
    SUBMITTED = "submitted"  # the member unit submitted the sheet to the alliance office
    CHECKED = "checked"  # the reviewing department checked it
    INVOICED = "invoiced"  # finance collected and invoiced; counted as workload


class Statement(Base):
    """The monthly settlement sheet between one member unit and one provider; `lines` per service."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint(
            "member_institution_id", "provider_institution_id", "month", name="uq_statements_pair_month"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    state: Mapped[StatementState] = mapped_column(str_enum(StatementState))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    # What the member unit owes the provider after the agreed rules; negative: the provider pays back.
    net_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoiced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Institution] = relationship(foreign_keys=[member_institution_id])
    provider: Mapped[Institution] = relationship(foreign_keys=[provider_institution_id])

    @property
    def baseline_review_due(self) -> bool:
        """A line's agreement has a baseline cost rate due for review (as of the sheet's computing)."""
        return any(line["baseline_review_due"] for line in self.lines)
