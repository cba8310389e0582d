"""Fees and settlement over HTTP: the service catalogue, settlement agreements, monthly statements, workload.

Each handler parses its input, calls one operation of `server.billing.service` and answers its model.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import NO_CONTENT, Access, Context, api_route, model_response
from server.api.schemas.billing import (
    Agreement,
    AgreementBody,
    AgreementList,
    BillableItemEntry,
    BillableItemList,
    Catalogue,
    PriceBody,
    ServicePriceEntry,
    StatementEntry,
    StatementList,
    StatementsBody,
    Workload,
)
from server.billing import service
from server.billing.models import Statement
from server.billing.rules import CsvFile
from server.community.models import Role

MEMBERS = Access.only(Role.ADMIN, Role.REQUESTER)
ADMIN = Access.only(Role.ADMIN)
CSV = "text/csv"


def csv_download(export: CsvFile) -> Response:
    """A CSV file the browser saves under its name."""
    return Response(
        export.text,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


def _month(ctx: Context) -> str | None:
    return ctx.request.query_params.get("month") or None


def list_catalogue(ctx: Context) -> Response:
    """The community's service catalogue: each code's price at each tier."""
    prices = service.list_catalogue(ctx.db, ctx.actor, ctx.clock)
    return model_response(Catalogue(items=[ServicePriceEntry.model_validate(price) for price in prices]))


def set_price(ctx: Context) -> Response:
    """Set (or add) a service's price at one tier, and optionally the case kind that bills it.

    Completed services keep the price they were billed at.
    """
    body = ctx.payload(PriceBody)
    change = service.PriceChange(
        price_fen=body.price_fen,
        name=body.name,
        case_kind=body.case_kind,
        insurance_payable=body.insurance_payable,
    )
    price = service.set_price(ctx.db, ctx.actor, ctx.clock, ctx.path["code"], ctx.path["tier"], change)
    return model_response(ServicePriceEntry.model_validate(price))


def list_agreements(ctx: Context) -> Response:
    """The settlement agreements of the member units whose billing the caller may see."""
    views = service.list_agreements(ctx.db, ctx.actor, ctx.clock)
    return model_response(AgreementList(items=[Agreement.of(view) for view in views]))


def save_agreement(ctx: Context) -> Response:
    """Record (or replace) the agreement of a provider and a member unit for one service code."""
    body = ctx.payload(AgreementBody)
    terms = service.AgreementTerms(**body.model_dump())
    view = service.save_agreement(ctx.db, ctx.actor, ctx.clock, terms)
    return model_response(Agreement.of(view))


def list_items(ctx: Context) -> Response:
    """The month's billable services of the institutions the caller may see."""
    items = service.list_items(ctx.db, ctx.actor, ctx.clock, _month(ctx))
    return model_response(BillableItemList(items=[BillableItemEntry.model_validate(item) for item in items]))


def _statements(statements: list[Statement]) -> StatementList:
    return StatementList(items=[StatementEntry.model_validate(statement) for statement in statements])


def submit(ctx: Context) -> Response:
    """Submit a member unit's statements for a past month (a doctor: their own unit's)."""
    body = ctx.payload(StatementsBody)
    statements = service.submit_statements(
        ctx.db, ctx.actor, ctx.clock, body.month, body.member_institution_id
    )
    return model_response(_statements(statements), status_code=201)


def list_statements(ctx: Context) -> Response:
    """The statements the caller may see, newest month first (`?month=YYYY-MM` for one month's)."""
    statements = service.list_statements(ctx.db, ctx.actor, ctx.clock, _month(ctx))
    return model_response(_statements(statements))


def statement_as_csv(ctx: Context) -> Response:
    """A statement as a CSV sheet."""
    export = service.export_statement(ctx.db, ctx.actor, ctx.clock, ctx.path["statement_id"])
    return csv_download(export)


def advance(ctx: Context) -> Response:
    """Check a submitted statement or invoice a checked one (`check`, `invoice`)."""
    statement = service.advance_statement(
        ctx.db, ctx.actor, ctx.clock, ctx.path["statement_id"], ctx.path["step"]
    )
    return model_response(StatementEntry.model_validate(statement))


def workload(ctx: Context) -> Response:
    """Completed services per reader of the community in the month (`?month=YYYY-MM`)."""
    counted = service.workload(ctx.db, ctx.actor, ctx.clock, _month(ctx))
    return model_response(Workload.model_validate(counted))


STATEMENT = "/api/billing/statements/{statement_id:int}"

routes = [
    api_route(
        "/api/billing/catalogue", list_catalogue, access=Access.only(CLINICAL_ROLES), response=Catalogue
    ),
    api_route(
        "/api/billing/catalogue/{code}/{tier}",
        set_price,
        access=ADMIN,
        methods=["PUT"],
        body=PriceBody,
        response=ServicePriceEntry,
    ),
    api_route("/api/billing/agreements", list_agreements, access=MEMBERS, response=AgreementList),
    api_route(
        "/api/billing/agreements",
        save_agreement,
        access=ADMIN,
        methods=["POST"],
        body=AgreementBody,
        response=Agreement,
    ),
    api_route("/api/billing/items", list_items, access=MEMBERS, response=BillableItemList),
    api_route("/api/billing/statements", list_statements, access=MEMBERS, response=StatementList),
    api_route(
        "/api/billing/statements",
        submit,
        access=MEMBERS,
        methods=["POST"],
        body=StatementsBody,
        response=StatementList,
        status=201,
    ),
    api_route(STATEMENT + "/csv", statement_as_csv, access=MEMBERS, produces=CSV),
    api_route(
        STATEMENT + "/{step}",
        advance,
        access=ADMIN,
        methods=["POST"],
        consumes=NO_CONTENT,
        response=StatementEntry,
    ),
    api_route("/api/billing/workload", workload, access=ADMIN, response=Workload),
]
