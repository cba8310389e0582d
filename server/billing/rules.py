"""Fees and settlement: what a completed service costs and what member units and centres owe each other.

Money is kept in integer fen (分) and rates in integer basis points, so every total is exact and a
statement always adds up to its lines. Months are calendar months in China Standard Time, the
time the member units keep their books in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.billing.models import (
    BillableItem,
    PriceTier,
    ServicePrice,
    SettlementAgreement,
    SettlementRule,
    Statement,
    StatementState,
)
from server.cases.models import Case
from server.community.models import Institution, Tier, User
from server.core.clock import CHINA_TIME
from server.core.errors import Conflict, Invalid

WHOLE_BP = 10_000
BASELINE_REVIEW_MONTHS = 6

# The published remote follow-up visit item (互联网(远程)复诊): fixed payment per visit, insurance-payable.
REMOTE_FOLLOW_UP_CODE = "1110200002"


class BillingError(Invalid):
    """A billing request that cannot be carried out as asked; the detail says why."""

    def __init__(self, detail: str, code: str = "invalid_request") -> None:
        super().__init__(code, detail)


class StatementFinal(Conflict):
    """The statement is past the state the request needs (checked sheets are final)."""

    def __init__(self, detail: str) -> None:
        super().__init__("statement_final", detail)


def price_tier(institution: Institution) -> PriceTier:
    match institution.tier:
        case Tier.TERTIARY_HOSPITAL:
            return PriceTier.TERTIARY
        case Tier.COUNTY_HOSPITAL:
            return PriceTier.SECONDARY
        case _:
            return PriceTier.PRIMARY


def parse_month(month: str) -> tuple[datetime, datetime]:
    """The start (inclusive) and end (exclusive) of a `YYYY-MM` month, as aware datetimes."""
    try:
        first = datetime.strptime(month, "%Y-%m").replace(tzinfo=CHINA_TIME)
    except (TypeError, ValueError):
        raise BillingError(f"month must be YYYY-MM, not {month!r}") from None
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def month_of(moment: datetime) -> str:
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m")


def baseline_review_due(agreement: SettlementAgreement, today: date) -> bool:
    """True when the baseline cost rate was recorded more than six months before `today`."""
    recorded = agreement.baseline_recorded_on
    months = (today.year - recorded.year) * 12 + today.month - recorded.month
    return months > BASELINE_REVIEW_MONTHS or (months == BASELINE_REVIEW_MONTHS and today.day > recorded.day)


def validate_rates(rate_bp: int, baseline_cost_rate_bp: int) -> None:
    if not 0 <= baseline_cost_rate_bp <= WHOLE_BP:
        raise BillingError("the baseline cost rate must lie between 0 and 100%", "invalid_agreement")
    if not 0 <= rate_bp <= baseline_cost_rate_bp:
        raise BillingError(
            f"the agreed rate ({rate_bp / 100:g}%) may not exceed the service's baseline cost rate "
            f"({baseline_cost_rate_bp / 100:g}%)",
            "invalid_agreement",
        )


def _share(price_fen: int, rate_bp: int) -> int:
    """`price × rate`, rounded half up to the fen."""
    return (price_fen * rate_bp + WHOLE_BP // 2) // WHOLE_BP


def net_owed(price_fen: int, agreement: SettlementAgreement | None) -> int:
    """What the member unit owes the provider for one service; negative when the provider pays back.

    No agreement: the full price. A discount: the price less the discount. A rebate: the provider
    was paid by the patient and returns the rebate, so the member unit is owed it.
    """
    if agreement is None:
        return price_fen
    if agreement.rule == SettlementRule.DISCOUNT:
        return price_fen - _share(price_fen, agreement.rate_bp)
    return -_share(price_fen, agreement.rate_bp)


def record_completed_service(
    db: Session, case: Case, provider: Institution, performed_by: User | None, at: datetime
) -> BillableItem | None:
    """Bill a case's service when it completes (a signed read or consult). Idempotent per case.

    The price is the catalogue's for the case kind at the provider's tier, fixed at this moment:
    later catalogue changes never reprice completed work. No catalogue entry: nothing is billed.
    """
    tier = price_tier(provider)
    price = db.scalar(
        select(ServicePrice).where(
            ServicePrice.community_id == provider.community_id,
            ServicePrice.case_kind == case.kind,
            ServicePrice.tier == tier,
        )
    )
    if price is None:
        return None
    existing = db.scalar(
        select(BillableItem).where(BillableItem.case_id == case.id, BillableItem.service_code == price.code)
    )
    if existing is not None:
        return existing
    item = BillableItem(
        case_id=case.id,
        service_code=price.code,
        service_name=price.name,
        tier=tier,
        price_fen=price.price_fen,
        insurance_payable=price.insurance_payable,
        provider_institution_id=provider.id,
        member_institution_id=case.institution_id,
        performed_by_id=performed_by.id if performed_by else None,
        completed_at=at,
    )
    db.add(item)
    db.flush()
    return item


def _agreements(db: Session, member_id: int, provider_id: int) -> dict[str, SettlementAgreement]:
    rows = db.scalars(
        select(SettlementAgreement).where(
            SettlementAgreement.member_institution_id == member_id,
            SettlementAgreement.provider_institution_id == provider_id,
        )
    )
    return {agreement.service_code: agreement for agreement in rows}


def _items(db: Session, month: str, **where: int) -> list[BillableItem]:
    start, end = parse_month(month)
    query = select(BillableItem).where(BillableItem.completed_at >= start, BillableItem.completed_at < end)
    for column, value in where.items():
        query = query.where(getattr(BillableItem, column) == value)
    return list(db.scalars(query.order_by(BillableItem.completed_at, BillableItem.id)))


@dataclass(frozen=True)
class StatementFigures:
    lines: list[dict[str, object]]
    gross_fen: int
    net_fen: int


def compute_statement(
    db: Session, member_id: int, provider_id: int, month: str, today: date
) -> StatementFigures:
    """One line per service code: count, price total, the rule applied and the net owed."""
    agreements = _agreements(db, member_id, provider_id)
    by_code: dict[str, list[BillableItem]] = {}
    for item in _items(db, month, member_institution_id=member_id, provider_institution_id=provider_id):
        by_code.setdefault(item.service_code, []).append(item)
    lines: list[dict[str, object]] = []
    gross_fen = net_fen = 0
    for code, items in sorted(by_code.items()):
        agreement = agreements.get(code)
        gross = sum(item.price_fen for item in items)
        net = sum(net_owed(item.price_fen, agreement) for item in items)
        gross_fen, net_fen = gross_fen + gross, net_fen + net
        lines.append(
            {
                "service_code": code,
                "service_name": items[0].service_name,
                "count": len(items),
                "gross_fen": gross,
                "rule": agreement.rule.value if agreement else "full_price",
                "rate_bp": agreement.rate_bp if agreement else 0,
                "baseline_cost_rate_bp": agreement.baseline_cost_rate_bp if agreement else None,
                "baseline_review_due": bool(agreement and baseline_review_due(agreement, today)),
                "net_fen": net,
                "insurance_payable_count": sum(item.insurance_payable for item in items),
            }
        )
    return StatementFigures(lines=lines, gross_fen=gross_fen, net_fen=net_fen)


def submit_statements(
    db: Session, member: Institution, month: str, user: User, now: datetime
) -> list[Statement]:
    """The member unit's sheets for `month`, one per provider it used. A sheet not yet checked is
    recomputed on resubmission; a checked or invoiced one is final."""
    parse_month(month)
    if month >= month_of(now):
        raise BillingError(f"{month} has not ended yet; statements are made for past months")
    start, end = parse_month(month)
    provider_ids = db.scalars(
        select(BillableItem.provider_institution_id)
        .where(
            BillableItem.member_institution_id == member.id,
            BillableItem.completed_at >= start,
            BillableItem.completed_at < end,
        )
        .distinct()
        .order_by(BillableItem.provider_institution_id)
    ).all()
    statements = []
    for provider_id in provider_ids:
        statement = db.scalar(
            select(Statement).where(
                Statement.member_institution_id == member.id,
                Statement.provider_institution_id == provider_id,
                Statement.month == month,
            )
        )
        if statement is not None and statement.state != StatementState.SUBMITTED:
            raise StatementFinal(
                f"the {month} statement with institution {provider_id} is already {statement.state.value}"
            )
        figures = compute_statement(db, member.id, provider_id, month, now.astimezone(CHINA_TIME).date())
        if statement is None:
            statement = Statement(
                member_institution_id=member.id, provider_institution_id=provider_id, month=month
            )
            db.add(statement)
        statement.state = StatementState.SUBMITTED
        statement.lines, statement.gross_fen, statement.net_fen = (
            figures.lines,
            figures.gross_fen,
            figures.net_fen,
        )
        statement.submitted_by_id, statement.submitted_at = user.id, now
        statements.append(statement)
    db.flush()
    return statements


# Each step of a statement: the state it needs and the state it leads to.
STATEMENT_STEPS = {
    "check": (StatementState.SUBMITTED, StatementState.CHECKED),
    "invoice": (StatementState.CHECKED, StatementState.INVOICED),
}


def advance_statement(statement: Statement, step: str, user: User, now: datetime) -> None:
    if step not in STATEMENT_STEPS:
        raise BillingError(f"unknown step {step!r}; one of: {', '.join(STATEMENT_STEPS)}")
    needed, result = STATEMENT_STEPS[step]
    if statement.state != needed:
        raise StatementFinal(
            f"a {statement.state.value} statement cannot become {result.value}; it must be {needed.value} first"
        )
    statement.state = result
    if step == "check":
        statement.checked_by_id, statement.checked_at = user.id, now
    else:
        statement.invoiced_by_id, statement.invoiced_at = user.id, now


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


CSV_HEADER = ["服务编码 service code", "服务名称 service", "次数 count", "金额 gross (CNY)", "规则 rule",
              "比例 rate (%)", "基线成本率 baseline (%)", "应结算 net (CNY)"]  # fmt: skip


@dataclass(frozen=True)
class CsvFile:
    """A CSV download: its file name and its text (with the BOM spreadsheets need)."""

    filename: str
    text: str


def statement_csv(statement: Statement) -> str:
    """The sheet as CSV, with a BOM so spreadsheet programs on Chinese Windows read it as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["月份 month", statement.month, "状态 state", statement.state.value])
    writer.writerow(["成员单位 member", statement.member.name, "服务方 provider", statement.provider.name])
    writer.writerow(CSV_HEADER)
    for line in statement.lines:
        baseline = line["baseline_cost_rate_bp"]
        writer.writerow(
            [
                line["service_code"],
                line["service_name"],
                line["count"],
                yuan(line["gross_fen"]),
                line["rule"],
                f"{line['rate_bp'] / 100:g}",
                "" if baseline is None else f"{baseline / 100:g}",
                yuan(line["net_fen"]),
            ]
        )
    writer.writerow(["合计 total", "", sum(line["count"] for line in statement.lines), yuan(statement.gross_fen),
                     "", "", "", yuan(statement.net_fen)])  # fmt: skip
    return out.getvalue()


@dataclass(frozen=True)
class ReaderWorkload:
    """One reader's completed services in a month (绩效): how many, and their value in fen."""

    user_id: int
    username: str
    display_name: str
    services: int
    value_fen: int


def reader_workload(db: Session, community_id: int, month: str) -> list[ReaderWorkload]:
    """Completed services per reader in `month` (绩效): count and value, most first."""
    start, end = parse_month(month)
    rows = db.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            func.count(BillableItem.id),
            func.sum(BillableItem.price_fen),
        )
        .join(BillableItem, BillableItem.performed_by_id == User.id)
        .join(Institution, Institution.id == BillableItem.provider_institution_id)
        .where(
            Institution.community_id == community_id,
            BillableItem.completed_at >= start,
            BillableItem.completed_at < end,
        )
        .group_by(User.id, User.username, User.display_name)
        .order_by(func.count(BillableItem.id).desc(), User.username)
    ).all()
    return [
        ReaderWorkload(user_id=uid, username=name, display_name=shown, services=n, value_fen=int(value or 0))
        for uid, name, shown, n, value in rows
    ]
