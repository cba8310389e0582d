"""The grassroots doctor's follow-up list (随访) over HTTP: referred-down patients, their plans, due
dates and three-colour triage. Each handler parses, calls one service function of
`server.referrals.follow_up` and answers with its contract (`server.api.schemas.referrals`).
"""

from __future__ import annotations

from starlette.responses import Response

from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.referrals import (
    ColourChangeIn,
    ColourMeaning,
    FollowUpDetail,
    FollowUpEntry,
    FollowUpList,
)
from server.community.models import Role
from server.referrals import follow_up
from server.referrals.models import TriageColour


def list_follow_up(ctx: Context) -> Response:
    """Open entries of my unit, by next due date; `colour=red` filters, `closed=1` shows ended ones too."""
    params = ctx.request.query_params
    try:
        colour = TriageColour(params["colour"]) if "colour" in params else None
    except ValueError:
        raise ApiError(400, "invalid_parameter", "colour must be green, yellow or red") from None
    shown = follow_up.list_follow_up(
        ctx.db,
        ctx.actor,
        ctx.clock,
        colour=colour,
        include_closed=params.get("closed") in {"1", "true"},
    )
    return model_response(
        FollowUpList(
            items=[FollowUpEntry.of(f) for f in shown], colours=[ColourMeaning.of(c) for c in TriageColour]
        )
    )


def get_entry(ctx: Context) -> Response:
    """One entry of my unit's list, with every change of its colour."""
    shown = follow_up.read_follow_up(ctx.db, ctx.actor, ctx.clock, ctx.path["entry_id"])
    return model_response(FollowUpDetail.of(shown))


def change_colour(ctx: Context) -> Response:
    """Re-triage a patient (e.g. green → yellow when the blood pressure is no longer controlled)."""
    body = ctx.payload(ColourChangeIn)
    shown = follow_up.change_colour(
        ctx.db, ctx.actor, ctx.clock, ctx.path["entry_id"], body.colour, body.reason
    )
    return model_response(FollowUpDetail.of(shown))


FOLLOWING = Access.only(Role.REQUESTER, Role.ADMIN)

routes = [
    api_route("/api/follow-up", list_follow_up, access=FOLLOWING, response=FollowUpList),
    api_route("/api/follow-up/{entry_id:int}", get_entry, access=FOLLOWING, response=FollowUpDetail),
    api_route(
        "/api/follow-up/{entry_id:int}/colour",
        change_colour,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        body=ColourChangeIn,
        response=FollowUpDetail,
    ),
]
