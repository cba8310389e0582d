"""Who is who over HTTP: the community's institutions, colleagues to assign or consult, and a clinic's
own patients (`server.community.directory`)."""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.directory import (
    Colleague,
    ColleagueList,
    CommunityInstitution,
    InstitutionList,
    PatientList,
    PatientSummary,
)
from server.community import directory
from server.community.models import Role
from server.patients import search


def list_colleagues(ctx: Context) -> Response:
    """Active readers or experts of the caller's medical community, optionally of one reading centre."""
    query = ctx.request.query_params
    centre = query.get("centre_id")
    if centre and not centre.isdigit():
        raise ApiError(400, "invalid_query", "centre_id must be a whole number")
    colleagues = directory.list_colleagues(
        ctx.db, ctx.actor, ctx.clock, query.get("role", ""), int(centre) if centre else None
    )
    return model_response(ColleagueList(items=[Colleague.model_validate(user) for user in colleagues]))


def list_institutions(ctx: Context) -> Response:
    """The member institutions of the caller's medical community, by tier: for agreements and referrals."""
    institutions = directory.list_institutions(ctx.db, ctx.actor, ctx.clock)
    return model_response(
        InstitutionList(items=[CommunityInstitution.model_validate(i) for i in institutions])
    )


def search_patients(ctx: Context) -> Response:
    """The caller's institution's patients whose name starts with, or whose ID or health card ends with, `q`."""
    patients = search.search_patients(ctx.db, ctx.actor, ctx.clock, ctx.request.query_params.get("q", ""))
    return model_response(PatientList(items=[PatientSummary.model_validate(p) for p in patients]))


routes = [
    api_route(
        "/api/directory/colleagues",
        list_colleagues,
        access=Access.only(CLINICAL_ROLES),
        response=ColleagueList,
    ),
    api_route(
        "/api/directory/institutions",
        list_institutions,
        access=Access.only(CLINICAL_ROLES),
        response=InstitutionList,
    ),
    api_route("/api/patients", search_patients, access=Access.only(Role.REQUESTER), response=PatientList),
]
