"""Who is who: the community's institutions, colleagues to assign or consult, and a clinic's own patients."""

from __future__ import annotations

from sqlalchemy import or_, select
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route
from server.api.serializers import patient_json
from server.community.models import Institution, Role, User
from server.patients.models import Patient

# The colleagues a clinical user may pick: readers (a dispatcher assigns), experts (a case is escalated or
# a consult addressed to one).
PICKABLE_ROLES = (Role.READER, Role.EXPERT)
MAX_PATIENTS = 50


def list_colleagues(ctx: Context) -> Response:
    """Active readers or experts of the caller's medical community, optionally of one reading centre."""
    raw_role = ctx.request.query_params.get("role", "")
    try:
        role = Role(raw_role)
    except ValueError:
        role = None
    if role not in PICKABLE_ROLES:
        raise ApiError(400, "invalid_query", "role must be reader or expert")
    query = (
        select(User)
        .join(Institution, Institution.id == User.institution_id)
        .where(
            User.role == role,
            User.active.is_(True),
            Institution.community_id == ctx.current_user.community_id,
        )
        .order_by(User.display_name)
    )
    centre = ctx.request.query_params.get("centre_id")
    if centre:
        if not centre.isdigit():
            raise ApiError(400, "invalid_query", "centre_id must be a whole number")
        query = query.where(User.centre_id == int(centre))
    return JSONResponse(
        {
            "items": [
                {
                    "id": user.id,
                    "display_name": user.display_name,
                    "role": user.role.value,
                    "institution": {"id": user.institution.id, "name": user.institution.name},
                    "centre": {"id": user.centre.id, "name": user.centre.name} if user.centre else None,
                }
                for user in ctx.db.scalars(query)
            ]
        }
    )


def list_institutions(ctx: Context) -> Response:
    """The member institutions of the caller's medical community, by tier: for agreements and referrals."""
    institutions = ctx.db.scalars(
        select(Institution)
        .where(Institution.community_id == ctx.current_user.community_id)
        .order_by(Institution.tier, Institution.name)
    )
    return JSONResponse(
        {
            "items": [
                {"id": i.id, "name": i.name, "tier": i.tier.value, "parent_id": i.parent_id}
                for i in institutions
            ]
        }
    )


def search_patients(ctx: Context) -> Response:
    """The caller's institution's patients whose name starts with, or whose ID or health card ends with, `q`."""
    q = ctx.request.query_params.get("q", "").strip()
    if not q:
        raise ApiError(400, "invalid_query", "give a name, or the last digits of the ID or health card, as q")
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    patients = ctx.db.scalars(
        select(Patient)
        .where(
            Patient.institution_id == ctx.current_user.institution_id,
            or_(
                Patient.name.like(f"{pattern}%", escape="\\"),
                Patient.national_id.like(f"%{pattern}", escape="\\"),
                Patient.health_card_no.like(f"%{pattern}", escape="\\"),
            ),
        )
        .order_by(Patient.name, Patient.id)
        .limit(MAX_PATIENTS)
    ).all()
    ctx.audit(
        "patient_search",
        resource_type="patient",
        detail={"count": len(patients), "ids": [p.id for p in patients]},
    )
    return JSONResponse({"items": [patient_json(patient) for patient in patients]})


routes = [
    api_route("/api/directory/colleagues", list_colleagues, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/directory/institutions", list_institutions, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/patients", search_patients, access=Access.only(Role.REQUESTER)),
]
