"""Contracts of fees and settlement (`server/api/billing.py`): money in integer fen, rates in basis points."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import StrictBool, StrictStr

from server.api.schemas.common import Contract, Timestamp
from server.api.schemas.directory import Int32, IsoDate, NamedRef
from server.billing.models import PriceTier, SettlementRule, StatementState
from server.billing.service import AgreementView
from server.cases.models import CaseKind


class PriceBody(Contract):
    """A catalogue entry's new price; `name` is needed for a code not yet in the catalogue."""

    price_fen: Int32
    name: StrictStr | None = None
    case_kind: CaseKind | None = None
    insurance_payable: StrictBool | None = None


class ServicePriceEntry(Contract):
    code: str
    name: str
    case_kind: CaseKind | None
    tier: PriceTier
    price_fen: int
    insurance_payable: bool


class Catalogue(Contract):
    items: list[ServicePriceEntry]


class AgreementBody(Contract):
    provider_institution_id: Int32
    member_institution_id: Int32
    service_code: StrictStr
    rule: SettlementRule
    rate_bp: Int32
    baseline_cost_rate_bp: Int32
    baseline_recorded_on: IsoDate


class Agreement(Contract):
    id: int
    provider: NamedRef
    member: NamedRef
    service_code: str
    rule: SettlementRule
    rate_bp: int
    baseline_cost_rate_bp: int
    baseline_recorded_on: date
    baseline_review_due: bool  # the baseline cost rate was recorded more than six months ago

    @classmethod
    def of(cls, view: AgreementView) -> Agreement:
        agreement = view.agreement
        return cls(
            id=agreement.id,
            provider=NamedRef.model_validate(agreement.provider),
            member=NamedRef.model_validate(agreement.member),
            service_code=agreement.service_code,
            rule=agreement.rule,
            rate_bp=agreement.rate_bp,
            baseline_cost_rate_bp=agreement.baseline_cost_rate_bp,
            baseline_recorded_on=agreement.baseline_recorded_on,
            baseline_review_due=view.baseline_review_due,
        )


class AgreementList(Contract):
    items: list[Agreement]


class BillableItemEntry(Contract):
    case_id: int
    service_code: str
    service_name: str
    tier: PriceTier
    price_fen: int
    insurance_payable: bool
    provider_institution_id: int
    member_institution_id: int
    completed_at: Timestamp


class BillableItemList(Contract):
    items: list[BillableItemEntry]


class StatementsBody(Contract):
    """The month (YYYY-MM, past) and, for the administrator, the member unit."""

    month: StrictStr
    member_institution_id: Int32 | None = None


class StatementLine(Contract):
    service_code: str
    service_name: str
    count: int
    gross_fen: int
    rule: SettlementRule | Literal["full_price"]  # full_price: no agreement covers the code
    rate_bp: int
    baseline_cost_rate_bp: int | None
    baseline_review_due: bool
    net_fen: int  # what the member unit owes the provider; negative: the provider pays back
    insurance_payable_count: int


class StatementEntry(Contract):
    id: int
    month: str
    state: StatementState
    member: NamedRef
    provider: NamedRef
    lines: list[StatementLine]
    gross_fen: int
    net_fen: int
    submitted_at: Timestamp
    checked_at: Timestamp | None
    invoiced_at: Timestamp | None
    baseline_review_due: bool  # a line's baseline cost rate is due for review


class StatementList(Contract):
    items: list[StatementEntry]


class ReaderWorkloadEntry(Contract):
    user_id: int
    username: str
    display_name: str
    services: int
    value_fen: int


class Workload(Contract):
    month: str
    readers: list[ReaderWorkloadEntry]
