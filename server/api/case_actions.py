"""`POST /api/cases/{id}/actions/{action}`: one step of a case's lifecycle, and the record of every step.

Which actions there are, whether one is allowed now and what it does is `server.cases.actions`'
(one `Dispatcher` of the service functions in `server.cases.service` and `server.cases.reports`).
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, model_response
from server.api.schemas.cases import CaseActionBody, CaseActionResult, CaseEventList, CaseEventOut
from server.cases import service
from server.cases.actions import ActionRequest
from server.cases.actions import take_action as take_case_action
from server.cases.workflow import TargetTimes


def take_action(ctx: Context) -> Response:
    body = CaseActionBody() if ctx.body is None else ctx.payload(CaseActionBody)
    request = ActionRequest(
        targets=TargetTimes.configured(ctx.settings),
        note=body.note,
        expert_id=body.expert,
        assignee_id=body.assignee,
        reason=body.reason,
        content=body.content,
    )
    step = take_case_action(ctx.db, ctx.actor, ctx.clock, ctx.path["case_id"], ctx.path["action"], request)
    return model_response(CaseActionResult.of(step))


def list_events(ctx: Context) -> Response:
    events = service.list_events(ctx.db, ctx.actor, ctx.path["case_id"])
    return model_response(CaseEventList(items=[CaseEventOut.model_validate(e) for e in events]))


routes = [
    api_route(
        "/api/cases/{case_id:int}/actions/{action}",
        take_action,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=CaseActionBody,
        response=CaseActionResult,
    ),
    api_route(
        "/api/cases/{case_id:int}/events",
        list_events,
        access=Access.only(CLINICAL_ROLES),
        response=CaseEventList,
    ),
]
