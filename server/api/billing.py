"""Fees and settlement: the service catalogue, settlement agreements, monthly statements, workload.

The community administrator keeps the catalogue and the agreements and checks and invoices
statements; a member unit's doctors submit their unit's statements and read them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES, billing_institutions
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.billing.models import (
    BillableItem,
    PriceTier,
    ServicePrice,
    SettlementAgreement,
    SettlementRule,
    Statement,
)
from server.billing.rules import (
    BillingError,
    StatementFinal,
    advance_statement,
    baseline_review_due,
    month_of,
    parse_month,
    reader_workload,
    statement_csv,
    submit_statements,
    validate_rates,
)
from server.cases.models import CaseKind
from server.community.models import Institution, Role
from server.core.orm import utcnow

MEMBERS = Access.only(Role.ADMIN, Role.REQUESTER)
ADMIN = Access.only(Role.ADMIN)


def _refuse(error: BillingError) -> ApiError:
    if isinstance(error, StatementFinal):
        return ApiError(409, "statement_final", str(error))
    return ApiError(400, "invalid_request", str(error))


def _month(ctx: Context) -> str:
    month = ctx.request.query_params.get("month") or month_of(utcnow())
    try:
        parse_month(month)
    except BillingError as exc:
        raise ApiError(400, "invalid_query", str(exc)) from None
    return month


def _institution(ctx: Context, institution_id: int) -> Institution:
    """An institution whose billing the caller may see (admins: the community; doctors: their own)."""
    institution = ctx.db.scalar(
        select(Institution).where(Institution.id == institution_id, billing_institutions(ctx.current_user))
    )
    if institution is None:
        raise not_found("institution")
    return institution


def price_json(price: ServicePrice) -> dict[str, object]:
    return {
        "code": price.code,
        "name": price.name,
        "case_kind": price.case_kind.value if price.case_kind else None,
        "tier": price.tier.value,
        "price_fen": price.price_fen,
        "insurance_payable": price.insurance_payable,
    }


def list_catalogue(ctx: Context) -> Response:
    prices = ctx.db.scalars(
        select(ServicePrice)
        .where(ServicePrice.community_id == ctx.current_user.community_id)
        .order_by(ServicePrice.code, ServicePrice.tier)
    )
    return JSONResponse({"items": [price_json(price) for price in prices]})


def set_price(ctx: Context) -> Response:
    """Set (or add) a service's price at one tier, and optionally the case kind that bills it.

    Completed services keep the price they were billed at.
    """
    try:
        tier = PriceTier(ctx.path["tier"])
    except ValueError:
        raise ApiError(400, "invalid_tier", f"tier must be one of: {', '.join(PriceTier)}") from None
    code = ctx.path["code"]
    price_fen = body_field(ctx, "price_fen", int)
    if price_fen < 0:
        raise ApiError(400, "invalid_field", "price_fen may not be negative", field="price_fen")
    community_id = ctx.current_user.community_id
    price = ctx.db.scalar(
        select(ServicePrice).where(
            ServicePrice.community_id == community_id, ServicePrice.code == code, ServicePrice.tier == tier
        )
    )
    if price is None:
        sibling = ctx.db.scalar(
            select(ServicePrice).where(ServicePrice.community_id == community_id, ServicePrice.code == code)
        )
        name = body_field(ctx, "name", str, required=sibling is None) or (sibling.name if sibling else "")
        price = ServicePrice(
            community_id=community_id,
            code=code,
            name=name,
            tier=tier,
            case_kind=sibling.case_kind if sibling else None,
        )
        ctx.db.add(price)
    price.price_fen = price_fen
    kind = body_field(ctx, "case_kind", str, required=False)
    if kind is not None:
        try:
            price.case_kind = CaseKind(kind)
        except ValueError:
            raise ApiError(400, "invalid_field", f"case_kind must be one of: {', '.join(CaseKind)}") from None
    insured = body_field(ctx, "insurance_payable", bool, required=False)
    price.insurance_payable = bool(insured) if insured is not None else bool(price.insurance_payable)
    ctx.db.flush()
    ctx.audit("catalogue_update", resource_type="service_price", resource_id=f"{code}/{tier.value}")
    return JSONResponse(price_json(price))


def agreement_json(agreement: SettlementAgreement) -> dict[str, object]:
    return {
        "id": agreement.id,
        "provider": {"id": agreement.provider.id, "name": agreement.provider.name},
        "member": {"id": agreement.member.id, "name": agreement.member.name},
        "service_code": agreement.service_code,
        "rule": agreement.rule.value,
        "rate_bp": agreement.rate_bp,
        "baseline_cost_rate_bp": agreement.baseline_cost_rate_bp,
        "baseline_recorded_on": agreement.baseline_recorded_on.isoformat(),
        "baseline_review_due": baseline_review_due(agreement, utcnow().date()),
    }


def list_agreements(ctx: Context) -> Response:
    agreements = ctx.db.scalars(
        select(SettlementAgreement)
        .where(SettlementAgreement.member_institution_id.in_(
            select(Institution.id).where(billing_institutions(ctx.current_user))
        ))
        .order_by(SettlementAgreement.id)
    )  # fmt: skip
    return JSONResponse({"items": [agreement_json(agreement) for agreement in agreements]})


def save_agreement(ctx: Context) -> Response:
    """Record (or replace) the agreement of a provider and a member unit for one service code."""
    provider = _institution(ctx, body_field(ctx, "provider_institution_id", int))
    member = _institution(ctx, body_field(ctx, "member_institution_id", int))
    code = body_field(ctx, "service_code", str)
    try:
        rule = SettlementRule(body_field(ctx, "rule", str))
    except ValueError:
        raise ApiError(400, "invalid_field", "rule must be discount or rebate", field="rule") from None
    rate_bp = body_field(ctx, "rate_bp", int)
    baseline_bp = body_field(ctx, "baseline_cost_rate_bp", int)
    try:
        recorded_on = date.fromisoformat(body_field(ctx, "baseline_recorded_on", str))
        validate_rates(rate_bp, baseline_bp)
    except ValueError as exc:
        raise ApiError(400, "invalid_agreement", str(exc)) from None
    agreement = ctx.db.scalar(
        select(SettlementAgreement).where(
            SettlementAgreement.provider_institution_id == provider.id,
            SettlementAgreement.member_institution_id == member.id,
            SettlementAgreement.service_code == code,
        )
    )
    if agreement is None:
        agreement = SettlementAgreement(
            provider_institution_id=provider.id, member_institution_id=member.id, service_code=code
        )
        ctx.db.add(agreement)
    agreement.rule, agreement.rate_bp = rule, rate_bp
    agreement.baseline_cost_rate_bp, agreement.baseline_recorded_on = baseline_bp, recorded_on
    ctx.db.flush()
    ctx.db.refresh(agreement)
    ctx.audit("agreement_save", resource_type="settlement_agreement", resource_id=agreement.id)
    return JSONResponse(agreement_json(agreement))


def list_items(ctx: Context) -> Response:
    """The month's billable services of the institutions the caller may see."""
    start, end = parse_month(_month(ctx))
    visible = select(Institution.id).where(billing_institutions(ctx.current_user))
    items = ctx.db.scalars(
        select(BillableItem)
        .where(
            BillableItem.completed_at >= start,
            BillableItem.completed_at < end,
            BillableItem.member_institution_id.in_(visible)
            | BillableItem.provider_institution_id.in_(visible),
        )
        .order_by(BillableItem.completed_at)
    ).all()
    ctx.audit("billing_read", resource_type="billable_item", detail={"count": len(items)})
    return JSONResponse(
        {
            "items": [
                {
                    "case_id": item.case_id,
                    "service_code": item.service_code,
                    "service_name": item.service_name,
                    "tier": item.tier.value,
                    "price_fen": item.price_fen,
                    "insurance_payable": item.insurance_payable,
                    "provider_institution_id": item.provider_institution_id,
                    "member_institution_id": item.member_institution_id,
                    "completed_at": item.completed_at.isoformat(),
                }
                for item in items
            ]
        }
    )


def statement_json(statement: Statement) -> dict[str, object]:
    return {
        "id": statement.id,
        "month": statement.month,
        "state": statement.state.value,
        "member": {"id": statement.member.id, "name": statement.member.name},
        "provider": {"id": statement.provider.id, "name": statement.provider.name},
        "lines": statement.lines,
        "gross_fen": statement.gross_fen,
        "net_fen": statement.net_fen,
        "submitted_at": statement.submitted_at.isoformat(),
        "checked_at": statement.checked_at.isoformat() if statement.checked_at else None,
        "invoiced_at": statement.invoiced_at.isoformat() if statement.invoiced_at else None,
        "baseline_review_due": any(line["baseline_review_due"] for line in statement.lines),
    }


def submit(ctx: Context) -> Response:
    """Submit a member unit's statements for a past month (a doctor: their own unit's)."""
    user = ctx.current_user
    member_id = body_field(ctx, "member_institution_id", int, required=user.role == Role.ADMIN)
    member = _institution(ctx, member_id if member_id is not None else user.institution_id)
    month = body_field(ctx, "month", str)
    try:
        statements = submit_statements(ctx.db, member, month, user, utcnow())
    except BillingError as exc:
        raise _refuse(exc) from None
    for statement in statements:
        ctx.db.refresh(statement)
        ctx.audit("statement_submit", resource_type="statement", resource_id=statement.id)
    return JSONResponse({"items": [statement_json(statement) for statement in statements]}, status_code=201)


def _visible_statements(ctx: Context):  # type: ignore[no-untyped-def]
    visible = select(Institution.id).where(billing_institutions(ctx.current_user))
    return select(Statement).where(
        Statement.member_institution_id.in_(visible) | Statement.provider_institution_id.in_(visible)
    )


def list_statements(ctx: Context) -> Response:
    query = _visible_statements(ctx)
    if ctx.request.query_params.get("month"):
        query = query.where(Statement.month == _month(ctx))
    statements = ctx.db.scalars(query.order_by(Statement.month.desc(), Statement.id)).all()
    return JSONResponse({"items": [statement_json(statement) for statement in statements]})


def _statement(ctx: Context) -> Statement:
    statement = ctx.db.scalar(_visible_statements(ctx).where(Statement.id == ctx.path["statement_id"]))
    if statement is None:
        raise not_found("statement")
    return statement


def statement_as_csv(ctx: Context) -> Response:
    statement = _statement(ctx)
    ctx.audit("statement_export", resource_type="statement", resource_id=statement.id)
    filename = f"statement-{statement.month}-{statement.member_institution_id}-{statement.provider_institution_id}.csv"
    return Response(
        statement_csv(statement),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def advance(ctx: Context) -> Response:
    statement = _statement(ctx)
    try:
        advance_statement(statement, ctx.path["step"], ctx.current_user, utcnow())
    except BillingError as exc:
        raise _refuse(exc) from None
    ctx.audit(f"statement_{ctx.path['step']}", resource_type="statement", resource_id=statement.id)
    return JSONResponse(statement_json(statement))


def workload(ctx: Context) -> Response:
    return JSONResponse(
        {"month": _month(ctx), "readers": reader_workload(ctx.db, ctx.current_user.community_id, _month(ctx))}
    )


STATEMENT = "/api/billing/statements/{statement_id:int}"

routes = [
    api_route("/api/billing/catalogue", list_catalogue, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/billing/catalogue/{code}/{tier}", set_price, access=ADMIN, methods=["PUT"]),
    api_route("/api/billing/agreements", list_agreements, access=MEMBERS),
    api_route("/api/billing/agreements", save_agreement, access=ADMIN, methods=["POST"]),
    api_route("/api/billing/items", list_items, access=MEMBERS),
    api_route("/api/billing/statements", list_statements, access=MEMBERS),
    api_route("/api/billing/statements", submit, access=MEMBERS, methods=["POST"]),
    api_route(STATEMENT + "/csv", statement_as_csv, access=MEMBERS),
    api_route(STATEMENT + "/{step}", advance, access=ADMIN, methods=["POST"]),
    api_route("/api/billing/workload", workload, access=ADMIN),
]
