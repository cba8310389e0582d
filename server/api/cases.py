"""Cases: the requests a member institution opens for a patient (their lifecycle: `case_actions`).

The rules are `server.cases.service`'s; these handlers parse, call it once and answer.
`now`, `visible_case` and `visible_material` serve the endpoints of a case's material (images,
ECGs, slides) the same way.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, model_response
from server.api.schemas.cases import CaseDetail, CaseList, CaseSummary, CreateCaseBody
from server.cases import service
from server.cases.models import Case
from server.cases.service import M
from server.community.models import Role


def visible_case(ctx: Context) -> Case:
    """The case named in the path, if this user may see it (a refusal is audited by the caller's route)."""
    return service.visible_case(ctx.db, ctx.actor, ctx.path["case_id"])


def visible_material(ctx: Context, model: type[M], path_key: str, what: str) -> M:
    """The `model` row named by `path_key` in the path, if this user may see its case."""
    return service.visible_material(ctx.db, ctx.actor, model, ctx.path[path_key], what)


def list_cases(ctx: Context) -> Response:
    cases = service.list_cases(ctx.db, ctx.actor, ctx.clock)
    return model_response(CaseList(items=[CaseSummary.of(case) for case in cases]))


def get_case(ctx: Context) -> Response:
    view = service.read_case(ctx.db, ctx.actor, ctx.clock, ctx.path["case_id"])
    return model_response(CaseDetail.of_view(view))


def create_case(ctx: Context) -> Response:
    new = ctx.payload(CreateCaseBody).domain()
    view = service.create_case(ctx.db, ctx.actor, ctx.clock, new)
    return model_response(CaseDetail.of_view(view), status_code=201)


routes = [
    api_route("/api/cases", list_cases, access=Access.only(CLINICAL_ROLES), response=CaseList),
    api_route(
        "/api/cases",
        create_case,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        body=CreateCaseBody,
        response=CaseDetail,
        status=201,
    ),
    api_route("/api/cases/{case_id:int}", get_case, access=Access.only(CLINICAL_ROLES), response=CaseDetail),
]
