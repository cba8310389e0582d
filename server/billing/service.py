"""Fees and settlement as operations: the catalogue, agreements, billed services, statements, workload.

The community administrator keeps the catalogue and the agreements and checks and invoices
statements; a member unit's doctors submit their unit's statements and read them. Who sees which
institution's figures is `server.access.policy.billing_institutions`; an institution or a statement
the caller may not see is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.policy import billing_institutions
from server.billing import rules
from server.billing.models import (
    BillableItem,
    PriceTier,
    ServicePrice,
    SettlementAgreement,
    SettlementRule,
    Statement,
)
from server.billing.rules import BillingError, CsvFile, ReaderWorkload
from server.cases.models import CaseKind
from server.community.models import Institution, Role, User
from server.core.clock import Clock
from server.core.errors import Invalid, not_found


def checked_month(month: str | None, clock: Clock) -> str:
    """`month` (YYYY-MM), or this month in China Standard Time when none is given; malformed: `Invalid`."""
    month = month or rules.month_of(clock.now())
    try:
        rules.parse_month(month)
    except BillingError as exc:
        raise Invalid("invalid_query", exc.detail) from None
    return month


def _community_id(actor: Actor, community_id: int | None) -> int:
    """The community an operation works in: the acting person's own; the platform names one."""
    if actor.user is None:
        if community_id is None:
            raise ValueError("the platform names the community it sets prices for")
        return community_id
    own = actor.user.community_id
    if own is None or (community_id is not None and community_id != own):
        raise not_found("community")
    return own


def _visible(user: User) -> Select[int]:
    return select(Institution.id).where(billing_institutions(user))


def _institution(db: Session, user: User, institution_id: int) -> Institution:
    """An institution whose billing `user` may see (admins: the community's; doctors: their own)."""
    institution = db.scalar(
        select(Institution).where(Institution.id == institution_id, billing_institutions(user))
    )
    if institution is None:
        raise not_found("institution")
    return institution


# ---- the catalogue ----


def list_catalogue(db: Session, actor: Actor, clock: Clock) -> list[ServicePrice]:
    """The caller's community's service prices, by code and tier."""
    return list(
        db.scalars(
            select(ServicePrice)
            .where(ServicePrice.community_id == actor.person.community_id)
            .order_by(ServicePrice.code, ServicePrice.tier)
        )
    )


@dataclass(frozen=True)
class PriceChange:
    """What a catalogue entry becomes: its price, and optionally its name (needed for a new code),
    the case kind that bills it and whether insurance pays it (kept when not given)."""

    price_fen: int
    name: str | None = None
    case_kind: CaseKind | None = None
    insurance_payable: bool | None = None


def set_price(
    db: Session,
    actor: Actor,
    clock: Clock,
    code: str,
    tier: str,
    change: PriceChange,
    *,
    community_id: int | None = None,
) -> ServicePrice:
    """Set (or add) a service's price at one tier, and optionally the case kind that bills it.

    Completed services keep the price they were billed at. A person sets their own community's
    prices; the platform (the demo loader) names the community.
    """
    try:
        price_tier = PriceTier(tier)
    except ValueError:
        raise Invalid("invalid_tier", f"tier must be one of: {', '.join(PriceTier)}") from None
    if change.price_fen < 0:
        raise Invalid("invalid_field", "price_fen may not be negative", field="price_fen")
    community = _community_id(actor, community_id)
    price = db.scalar(
        select(ServicePrice).where(
            ServicePrice.community_id == community,
            ServicePrice.code == code,
            ServicePrice.tier == price_tier,
        )
    )
    if price is None:
        sibling = db.scalar(
            select(ServicePrice).where(ServicePrice.community_id == community, ServicePrice.code == code)
        )
        if sibling is None and change.name is None:
            raise Invalid("missing_field", "field 'name' is required", field="name")
        price = ServicePrice(
            community_id=community,
            code=code,
            name=change.name or (sibling.name if sibling else ""),
            tier=price_tier,
            case_kind=sibling.case_kind if sibling else None,
        )
        db.add(price)
    price.price_fen = change.price_fen
    if change.case_kind is not None:
        price.case_kind = change.case_kind
    insured = change.insurance_payable
    price.insurance_payable = insured if insured is not None else bool(price.insurance_payable)
    db.flush()
    actor.audit(
        db, "catalogue_update", resource_type="service_price", resource_id=f"{code}/{price_tier.value}"
    )
    return price


# ---- agreements ----


@dataclass(frozen=True)
class AgreementView:
    """An agreement as its parties read it today: is its baseline cost rate due for review?"""

    agreement: SettlementAgreement
    baseline_review_due: bool


def _view(agreement: SettlementAgreement, clock: Clock) -> AgreementView:
    return AgreementView(agreement, rules.baseline_review_due(agreement, clock.now().date()))


def list_agreements(db: Session, actor: Actor, clock: Clock) -> list[AgreementView]:
    """The agreements of the member units whose billing the caller may see."""
    agreements = db.scalars(
        select(SettlementAgreement)
        .where(SettlementAgreement.member_institution_id.in_(_visible(actor.person)))
        .order_by(SettlementAgreement.id)
    )
    return [_view(agreement, clock) for agreement in agreements]


@dataclass(frozen=True)
class AgreementTerms:
    provider_institution_id: int
    member_institution_id: int
    service_code: str
    rule: SettlementRule
    rate_bp: int
    baseline_cost_rate_bp: int
    baseline_recorded_on: date


def save_agreement(db: Session, actor: Actor, clock: Clock, terms: AgreementTerms) -> AgreementView:
    """Record (or replace) the agreement of a provider and a member unit for one service code.

    The agreed rate never exceeds the service's baseline cost rate (at most 100%).
    """
    provider = _institution(db, actor.person, terms.provider_institution_id)
    member = _institution(db, actor.person, terms.member_institution_id)
    rules.validate_rates(terms.rate_bp, terms.baseline_cost_rate_bp)
    agreement = db.scalar(
        select(SettlementAgreement).where(
            SettlementAgreement.provider_institution_id == provider.id,
            SettlementAgreement.member_institution_id == member.id,
            SettlementAgreement.service_code == terms.service_code,
        )
    )
    if agreement is None:
        agreement = SettlementAgreement(
            provider_institution_id=provider.id,
            member_institution_id=member.id,
            service_code=terms.service_code,
        )
        db.add(agreement)
    agreement.rule, agreement.rate_bp = terms.rule, terms.rate_bp
    agreement.baseline_cost_rate_bp = terms.baseline_cost_rate_bp
    agreement.baseline_recorded_on = terms.baseline_recorded_on
    db.flush()
    db.refresh(agreement)
    actor.audit(db, "agreement_save", resource_type="settlement_agreement", resource_id=agreement.id)
    return _view(agreement, clock)


# ---- billed services ----


def list_items(db: Session, actor: Actor, clock: Clock, month: str | None) -> list[BillableItem]:
    """The month's billable services of the institutions the caller may see (this month by default)."""
    start, end = rules.parse_month(checked_month(month, clock))
    visible = _visible(actor.person)
    items = list(
        db.scalars(
            select(BillableItem)
            .where(
                BillableItem.completed_at >= start,
                BillableItem.completed_at < end,
                BillableItem.member_institution_id.in_(visible)
                | BillableItem.provider_institution_id.in_(visible),
            )
            .order_by(BillableItem.completed_at)
        )
    )
    actor.audit(db, "billing_read", resource_type="billable_item", detail={"count": len(items)})
    return items


# ---- statements ----


def submit_statements(
    db: Session, actor: Actor, clock: Clock, month: str, member_institution_id: int | None = None
) -> list[Statement]:
    """Submit a member unit's statements for a past month, one per provider it used.

    The administrator names the member unit; a doctor submits their own unit's (or names it).
    """
    user = actor.person
    if member_institution_id is None:
        if user.role == Role.ADMIN or user.institution_id is None:
            raise Invalid(
                "missing_field", "field 'member_institution_id' is required", field="member_institution_id"
            )
        member_institution_id = user.institution_id
    member = _institution(db, user, member_institution_id)
    statements = rules.submit_statements(db, member, month, user, clock.now())
    for statement in statements:
        db.refresh(statement)
        actor.audit(db, "statement_submit", resource_type="statement", resource_id=statement.id)
    return statements


def _visible_statements(user: User) -> Select[Statement]:
    visible = _visible(user)
    return select(Statement).where(
        Statement.member_institution_id.in_(visible) | Statement.provider_institution_id.in_(visible)
    )


def list_statements(db: Session, actor: Actor, clock: Clock, month: str | None) -> list[Statement]:
    """The statements the caller may see, newest month first; only `month`'s when one is given."""
    query = _visible_statements(actor.person)
    if month:
        query = query.where(Statement.month == checked_month(month, clock))
    return list(db.scalars(query.order_by(Statement.month.desc(), Statement.id)))


def _statement(db: Session, user: User, statement_id: int) -> Statement:
    statement = db.scalar(_visible_statements(user).where(Statement.id == statement_id))
    if statement is None:
        raise not_found("statement")
    return statement


def export_statement(db: Session, actor: Actor, clock: Clock, statement_id: int) -> CsvFile:
    """A statement the caller may see as a CSV sheet; audited."""
    statement = _statement(db, actor.person, statement_id)
    actor.audit(db, "statement_export", resource_type="statement", resource_id=statement.id)
    return CsvFile(
        filename=f"statement-{statement.month}-{statement.member_institution_id}-{statement.provider_institution_id}.csv",
        text=rules.statement_csv(statement),
    )


def advance_statement(db: Session, actor: Actor, clock: Clock, statement_id: int, step: str) -> Statement:
    """Move a statement on by one step: `check` a submitted one, `invoice` a checked one."""
    statement = _statement(db, actor.person, statement_id)
    rules.advance_statement(statement, step, actor.person, clock.now())
    actor.audit(db, f"statement_{step}", resource_type="statement", resource_id=statement.id)
    return statement


# ---- workload ----


@dataclass(frozen=True)
class Workload:
    month: str
    readers: list[ReaderWorkload]


def workload(db: Session, actor: Actor, clock: Clock, month: str | None) -> Workload:
    """Completed services per reader of the caller's community in the month (this month by default)."""
    month = checked_month(month, clock)
    community_id = actor.person.community_id
    if community_id is None:
        return Workload(month, [])
    return Workload(month, rules.reader_workload(db, community_id, month))
