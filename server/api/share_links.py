"""Share links: a case's reader lets an outside expert, who has no account, open one study for a while.

The rules are `server.sharing.service`'s (who may share, scope, validity, the token shown once, resolving
a token, counting and auditing every use); these handlers parse, call it and answer. The expert's viewer
calls the ordinary DICOMweb read handlers under `/share/{token}/dicomweb/...`: the link is opened here and
carried by the request (`ctx.share`), and `server.dicom.reach` limits every answer to the link's one
study and scope.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.responses import Response

from server.access.policy import SHARING_ROLES
from server.api import dicomweb
from server.api.routing import NO_CONTENT, Access, Context, Handler, api_route, model_response
from server.api.schemas.share_links import (
    CreatedShareLink,
    SharedLinkInfo,
    ShareLinkInput,
    ShareLinks,
)
from server.api.schemas.share_links import ShareLink as ShareLinkOut
from server.sharing import service
from server.sharing.service import LinkView, NewShareLink

SHARE = "/share/{token}"


def share_path(token: str) -> str:
    """Where the outside expert opens the link: the web UI's public viewer route."""
    return f"/share/{token}"


def _link_fields(view: LinkView) -> dict[str, Any]:
    """The fields of `ShareLink` (as listed: never the token)."""
    link = view.link
    return {
        "id": link.id,
        "case_id": link.case_id,
        "study_uid": link.study.study_uid,
        "study_description": link.study.description,
        "scope": link.scope,
        "recipient": link.recipient,
        "state": view.state,
        "created_at": link.created_at,
        "created_by": link.created_by.display_name,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "revoked_by": link.revoked_by.display_name if link.revoked_by else None,
        "last_used_at": link.last_used_at,
        "use_count": link.use_count,
    }


def create_share_link(ctx: Context) -> Response:
    """A new link to one study of the case; the answer carries the token, which is never shown again."""
    body = ctx.payload(ShareLinkInput)
    new = NewShareLink(body.study_uid, body.scope, body.expires_in_days, body.recipient)
    created = service.create_share_link(ctx.db, ctx.actor, ctx.clock, ctx.path["case_id"], new)
    path = share_path(created.token)
    url = str(ctx.request.base_url).rstrip("/") + path
    return model_response(
        CreatedShareLink(**_link_fields(created), token=created.token, path=path, url=url), status_code=201
    )


def list_share_links(ctx: Context) -> Response:
    views = service.list_share_links(ctx.db, ctx.actor, ctx.clock, ctx.path["case_id"])
    return model_response(ShareLinks(items=[ShareLinkOut(**_link_fields(view)) for view in views]))


def revoke_share_link(ctx: Context) -> Response:
    view = service.revoke_share_link(ctx.db, ctx.actor, ctx.clock, ctx.path["link_id"])
    return model_response(ShareLinkOut(**_link_fields(view)))


# ---- using a link ----------------------------------------------------------------------------


def _through_link(handler: Handler) -> Handler:
    """`handler` reached with the share link its path's token names; each successful use is counted."""

    @functools.wraps(handler)
    def shared(ctx: Context) -> Response:
        clock = ctx.clock
        # Carried by the request from here on: reads are limited to it, refusals name it (never the token).
        ctx.share = service.open_share_link(ctx.db, ctx.actor, clock, ctx.path["token"], ctx.request.url.path)
        response = handler(ctx)
        service.record_link_use(ctx.db, dicomweb.reader(ctx), clock)
        return response

    shared.__name__ = f"shared_{handler.__name__}"
    return shared


def link_info(ctx: Context) -> Response:
    """What the expert's page shows before the viewer opens: the study, scope, expiry, who shared it."""
    link = service.open_shared_study(ctx.db, dicomweb.reader(ctx))
    sharer = link.created_by
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


# The DICOMweb reads a share link reaches (the original files only with a download link:
# `server.dicom.retrieve` checks the scope). STOW-RS, cine video and anything added later are out of
# reach of every link.
SHARED_DICOMWEB = dicomweb.READS

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
        _through_link(link_info),
        access=Access.by_share_link(),
        response=SharedLinkInfo,
    ),
    *(
        api_route(
            SHARE + path,
            _through_link(handler),
            access=Access.by_share_link(),
            **dicomweb.contract_of(handler),
        )
        for path, handler in SHARED_DICOMWEB
    ),
]
