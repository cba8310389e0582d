"""Share links: a case's reader lets an outside expert, who has no account, open one study for a while.

Links are made, listed and revoked by whoever may share the case (`server.access.policy.require_can_share`);
the token is shown once, at creation, and only its hash is kept. The expert's viewer calls the ordinary
DICOMweb read handlers under `/share/{token}/dicomweb/...`: the link is resolved and checked here, and
`server.access.policy` limits every answer to the link's one study and scope. Every create, revoke and use of
a link, refusals included, is audited with the link's id and its patient.
"""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from starlette.responses import Response

from server.access.audit import DENIED
from server.access.policy import (
    SHARING_ROLES,
    require_can_share,
    require_share_scope,
    share_link_for,
    share_link_refusal,
    study_scope,
)
from server.api import dicomweb
from server.api.routing import (
    NO_CONTENT,
    Access,
    ApiError,
    Context,
    Handler,
    api_route,
    model_response,
    not_found,
)
from server.api.schemas.share_links import (
    CreatedShareLink,
    SharedLinkInfo,
    ShareLinkInput,
    ShareLinks,
)
from server.api.schemas.share_links import ShareLink as ShareLinkOut
from server.auth.sessions import token_hash
from server.cases.models import Case
from server.core.orm import utcnow
from server.dicom.models import DicomStudy
from server.sharing.models import ShareLink, ShareScope

MAX_DAYS = 30
MAX_RECIPIENT_CHARS = 200
SHARE = "/share/{token}"


def share_path(token: str) -> str:
    """Where the outside expert opens the link: the web UI's public viewer route."""
    return f"/share/{token}"


def _state(link: ShareLink) -> str:
    return share_link_refusal(link) or "active"


def _link_fields(link: ShareLink) -> dict[str, Any]:
    """The fields of `ShareLink` (as listed: never the token)."""
    return {
        "id": link.id,
        "case_id": link.case_id,
        "study_uid": link.study.study_uid,
        "study_description": link.study.description,
        "scope": link.scope,
        "recipient": link.recipient,
        "state": _state(link),
        "created_at": link.created_at,
        "created_by": link.created_by.display_name,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "revoked_by": link.revoked_by.display_name if link.revoked_by else None,
        "last_used_at": link.last_used_at,
        "use_count": link.use_count,
    }


def _shareable_case(ctx: Context, case_id: int) -> Case:
    case = ctx.db.get(Case, case_id)
    if case is None:
        raise not_found("case")
    require_can_share(ctx.db, ctx.current_user, case)
    return case


def _audit_link(ctx: Context, action: str, link: ShareLink, **detail: Any) -> None:
    ctx.audit(
        action,
        resource_type="share_link",
        resource_id=link.id,
        patient_id=link.case.patient_id,
        detail={"case": link.case_id, "study": link.study.study_uid, **detail},
    )


def _scope_field(raw: str) -> ShareScope:
    try:
        return ShareScope(raw)
    except ValueError:
        raise ApiError(
            400, "invalid_field", "field 'scope' must be read or download", field="scope"
        ) from None


def _days_field(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ApiError(
            400,
            "invalid_field",
            f"field 'expires_in_days' must be from 1 to {MAX_DAYS}",
            field="expires_in_days",
        )
    return days


def create_share_link(ctx: Context) -> Response:
    """A new link to one study of the case; the answer carries the token, which is never shown again."""
    user = ctx.current_user
    case = _shareable_case(ctx, ctx.path["case_id"])
    body = ctx.payload(ShareLinkInput)
    study_uid = body.study_uid
    scope, days = _scope_field(body.scope), _days_field(body.expires_in_days)
    recipient = (body.recipient or "").strip()
    if len(recipient) > MAX_RECIPIENT_CHARS:
        raise ApiError(
            400, "invalid_field", f"field 'recipient' is longer than {MAX_RECIPIENT_CHARS}", field="recipient"
        )
    study = ctx.db.scalar(
        select(DicomStudy).where(
            DicomStudy.study_uid == study_uid, DicomStudy.case_id == case.id, study_scope(user)
        )
    )
    if study is None:
        raise ApiError(404, "not_found", "no such study attached to this case", field="study_uid")
    token = secrets.token_urlsafe(32)
    link = ShareLink(
        token_hash=token_hash(token),
        study=study,
        case=case,
        created_by=user,
        scope=scope,
        recipient=recipient,
        expires_at=utcnow() + timedelta(days=days),
    )
    ctx.db.add(link)
    ctx.db.flush()
    _audit_link(
        ctx,
        "share_link_create",
        link,
        scope=scope.value,
        expires_at=link.expires_at.isoformat(),
        recipient=recipient,
    )
    path = share_path(token)
    url = str(ctx.request.base_url).rstrip("/") + path
    return model_response(
        CreatedShareLink(**_link_fields(link), token=token, path=path, url=url), status_code=201
    )


def list_share_links(ctx: Context) -> Response:
    case = _shareable_case(ctx, ctx.path["case_id"])
    links = ctx.db.scalars(
        select(ShareLink).where(ShareLink.case_id == case.id).order_by(ShareLink.created_at.desc())
    ).all()
    ctx.audit("share_link_list", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return model_response(ShareLinks(items=[ShareLinkOut(**_link_fields(link)) for link in links]))


def revoke_share_link(ctx: Context) -> Response:
    link = ctx.db.get(ShareLink, ctx.path["link_id"])
    if link is None:
        raise not_found("share link")
    require_can_share(ctx.db, ctx.current_user, link.case)
    if link.revoked_at is not None:
        raise ApiError(
            409, "already_revoked", f"this share link was revoked at {link.revoked_at.isoformat()}"
        )
    link.revoked_at = utcnow()
    link.revoked_by = ctx.current_user
    _audit_link(ctx, "share_link_revoke", link)
    return model_response(ShareLinkOut(**_link_fields(link)))


# ---- using a link ----------------------------------------------------------------------------


def _open_link(ctx: Context) -> ShareLink:
    """The usable link named by the path's token; an unknown, expired or revoked one is refused, audited."""
    link = share_link_for(ctx.db, ctx.path["token"])
    if link is None:
        ctx.audit(
            "share_link_refused", resource_type="share_link", outcome=DENIED, detail={"reason": "unknown"}
        )
        raise ApiError(
            404,
            "share_link_not_found",
            "no such share link: check that the whole link was copied",
            keep_changes=True,
        )
    ctx.share = link
    refusal = share_link_refusal(link)
    if refusal is not None:
        ctx.audit(
            "share_link_refused",
            resource_type="share_link",
            resource_id=link.id,
            outcome=DENIED,
            detail={"reason": refusal, "path": ctx.request.url.path},
        )
        if refusal == "withdrawn":
            raise ApiError(
                410,
                "share_link_withdrawn",
                "this share link was withdrawn: the colleague who shared it no longer has an account",
                keep_changes=True,
            )
        at = (link.revoked_at or link.expires_at).isoformat()  # revoked_at is set exactly when revoked
        said = "was revoked" if refusal == "revoked" else "expired"
        raise ApiError(
            410, f"share_link_{refusal}", f"this share link {said} at {at}", keep_changes=True, at=at
        )
    return link


def _through_link(handler: Handler, needed: ShareScope) -> Handler:
    """`handler` reached with a share link that carries `needed`; each successful use is counted."""

    @functools.wraps(handler)
    def shared(ctx: Context) -> Response:
        link = _open_link(ctx)
        require_share_scope(link, needed)
        response = handler(ctx)
        # Last in the transaction: the row lock is held only until the commit that follows.
        ctx.db.execute(
            update(ShareLink)
            .where(ShareLink.id == link.id)
            .values(use_count=ShareLink.use_count + 1, last_used_at=utcnow())
        )
        return response

    shared.__name__ = f"shared_{handler.__name__}"
    return shared


def link_info(ctx: Context) -> Response:
    """What the expert's page shows before the viewer opens: the study, scope, expiry, who shared it."""
    link = ctx.share
    assert link is not None
    sharer = link.created_by
    _audit_link(ctx, "share_link_open", link)
    return model_response(
        SharedLinkInfo(
            study_uid=link.study.study_uid,
            scope=link.scope,
            recipient=link.recipient,
            expires_at=link.expires_at,
            shared_by=sharer.display_name,
            shared_by_institution=sharer.institution.name if sharer.institution else "",
        )
    )


# The DICOMweb read endpoints a share link reaches, with the scope each needs. Endpoints not listed here
# (STOW-RS, cine video, anything added later) are out of reach of every link.
SHARED_DICOMWEB: list[tuple[str, Handler, ShareScope]] = [
    ("/dicomweb/studies", dicomweb.search_studies, ShareScope.READ),
    (dicomweb.STUDY, dicomweb.retrieve_study, ShareScope.DOWNLOAD),
    (dicomweb.STUDY + "/metadata", dicomweb.study_metadata, ShareScope.READ),
    (dicomweb.STUDY + "/instances", dicomweb.search_instances, ShareScope.READ),
    (dicomweb.STUDY + "/series", dicomweb.search_series, ShareScope.READ),
    (dicomweb.SERIES, dicomweb.retrieve_series, ShareScope.DOWNLOAD),
    (dicomweb.SERIES + "/instances", dicomweb.search_instances, ShareScope.READ),
    (dicomweb.SERIES + "/metadata", dicomweb.series_metadata, ShareScope.READ),
    (dicomweb.SERIES + "/thumbnail", dicomweb.series_thumbnail, ShareScope.READ),
    (dicomweb.INSTANCE + "/frames/{frames}", dicomweb.retrieve_frames, ShareScope.READ),
    (dicomweb.INSTANCE + "/rendered", dicomweb.retrieve_rendered, ShareScope.READ),
    (dicomweb.INSTANCE, dicomweb.retrieve_instance, ShareScope.DOWNLOAD),
]

SHARERS = Access.only(SHARING_ROLES)
CASE_LINKS = "/api/cases/{case_id:int}/share-links"
routes = [
    api_route(CASE_LINKS, list_share_links, access=SHARERS, response=ShareLinks),
    api_route(
        CASE_LINKS,
        create_share_link,
        access=SHARERS,
        methods=["POST"],
        body=ShareLinkInput,
        response=CreatedShareLink,
        status=201,
    ),
    api_route(
        "/api/share-links/{link_id:int}/revoke",
        revoke_share_link,
        access=SHARERS,
        methods=["POST"],
        consumes=NO_CONTENT,
        response=ShareLinkOut,
    ),
    api_route(
        SHARE + "/link",
        _through_link(link_info, ShareScope.READ),
        access=Access.by_share_link(),
        response=SharedLinkInfo,
    ),
    *(
        api_route(
            SHARE + path,
            _through_link(handler, needed),
            access=Access.by_share_link(),
            **dicomweb.contract_of(handler),
        )
        for path, handler, needed in SHARED_DICOMWEB
    ),
]
