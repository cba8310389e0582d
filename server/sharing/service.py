"""Share links: a case's reader lets an outside expert, who has no account, open one study for a while.

Links are made, listed and revoked by whoever may share the case (`server.access.policy.require_can_share`).
A link names one study attached to the case, a scope (read, or download of the originals too) and a
validity of 1 to `MAX_DAYS` days; its token is shown once, at creation, and only its hash is kept.
Opening a link refuses an unknown token (404), an expired, revoked or withdrawn link (410); what a link
then reaches is `server.dicom.reach`'s answer for an actor that carries it (`Actor.through_link`).
Every create, revoke and use of a link, refusals included, is audited with the link's id and its
patient, never its token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.audit import DENIED
from server.access.policy import require_can_share, share_link_for, share_link_refusal, study_scope
from server.auth.sessions import token_hash
from server.cases.models import Case
from server.core.clock import Clock
from server.core.errors import Conflict, Gone, Invalid, NotFound, not_found
from server.dicom.models import DicomStudy
from server.sharing.models import ShareLink, ShareScope

MAX_DAYS = 30
MAX_RECIPIENT_CHARS = 200
TOKEN_BYTES = 32


@dataclass(frozen=True)
class NewShareLink:
    """A link to ask for: the study (attached to the case), `scope` ("read" or "download"), how many
    days it lasts (1 to `MAX_DAYS`) and, for the record, who it is for."""

    study_uid: str
    scope: str
    expires_in_days: int
    recipient: str | None = None


LinkState = Literal["active", "expired", "revoked", "withdrawn"]


@dataclass(frozen=True)
class LinkView:
    """A link as listed, with its state now: active, expired, revoked or withdrawn."""

    link: ShareLink
    state: LinkState


@dataclass(frozen=True)
class CreatedLink(LinkView):
    """A new link with its token: the only time the token is ever known."""

    token: str


def _view(link: ShareLink, clock: Clock) -> LinkView:
    return LinkView(link, share_link_refusal(link, clock.now()) or "active")


def _shareable_case(db: Session, actor: Actor, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise not_found("case")
    require_can_share(db, actor.person, case)
    return case


def _audit_link(db: Session, actor: Actor, action: str, link: ShareLink, **detail: Any) -> None:
    actor.audit(
        db,
        action,
        resource_type="share_link",
        resource_id=link.id,
        patient_id=link.case.patient_id,
        detail={"case": link.case_id, "study": link.study.study_uid, **detail},
    )


def _scope(raw: str) -> ShareScope:
    try:
        return ShareScope(raw)
    except ValueError:
        raise Invalid("invalid_field", "field 'scope' must be read or download", field="scope") from None


def _days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(
            "invalid_field", f"field 'expires_in_days' must be from 1 to {MAX_DAYS}", field="expires_in_days"
        )
    return days


def create_share_link(
    db: Session, actor: Actor, clock: Clock, case_id: int, new: NewShareLink
) -> CreatedLink:
    """A new link to one study of the case; the answer carries the token, which is never shown again."""
    user = actor.person
    case = _shareable_case(db, actor, case_id)
    scope, days = _scope(new.scope), _days(new.expires_in_days)
    recipient = (new.recipient or "").strip()
    if len(recipient) > MAX_RECIPIENT_CHARS:
        raise Invalid(
            "invalid_field", f"field 'recipient' is longer than {MAX_RECIPIENT_CHARS}", field="recipient"
        )
    study = db.scalar(
        select(DicomStudy).where(
            DicomStudy.study_uid == new.study_uid, DicomStudy.case_id == case.id, study_scope(user)
        )
    )
    if study is None:
        raise NotFound("not_found", "no such study attached to this case", field="study_uid")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.now()
    link = ShareLink(
        token_hash=token_hash(token),
        study=study,
        case=case,
        created_by=user,
        scope=scope,
        recipient=recipient,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.add(link)
    db.flush()
    _audit_link(
        db,
        actor,
        "share_link_create",
        link,
        scope=scope.value,
        expires_at=link.expires_at.isoformat(),
        recipient=recipient,
    )
    view = _view(link, clock)
    return CreatedLink(view.link, view.state, token)


def list_share_links(db: Session, actor: Actor, clock: Clock, case_id: int) -> list[LinkView]:
    """The case's links, newest first (never their tokens)."""
    case = _shareable_case(db, actor, case_id)
    links = db.scalars(
        select(ShareLink).where(ShareLink.case_id == case.id).order_by(ShareLink.created_at.desc())
    ).all()
    actor.audit(db, "share_link_list", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return [_view(link, clock) for link in links]


def revoke_share_link(db: Session, actor: Actor, clock: Clock, link_id: int) -> LinkView:
    """End a link now (it is kept, so the audit log's references to it stay meaningful)."""
    link = db.get(ShareLink, link_id)
    if link is None:
        raise not_found("share link")
    require_can_share(db, actor.person, link.case)
    if link.revoked_at is not None:
        raise Conflict("already_revoked", f"this share link was revoked at {link.revoked_at.isoformat()}")
    link.revoked_at = clock.now()
    link.revoked_by = actor.person
    _audit_link(db, actor, "share_link_revoke", link)
    return _view(link, clock)


# ---- using a link ----------------------------------------------------------------------------------


def through(actor: Actor, link: ShareLink) -> Actor:
    """The outside expert as an actor that carries `link` (what `server.dicom.reach` limits reads by)."""
    return actor.through_link(link.id, link.case.patient_id)


def open_share_link(db: Session, actor: Actor, clock: Clock, token: str, path: str) -> ShareLink:
    """The usable link `token` names, opened to read `path`; an unknown, expired, revoked or withdrawn
    one is refused, and the refusal audited (the path with the token replaced by the link's id)."""
    link = share_link_for(db, token)
    if link is None:
        actor.audit(
            db, "share_link_refused", resource_type="share_link", outcome=DENIED, detail={"reason": "unknown"}
        )
        raise NotFound(
            "share_link_not_found",
            "no such share link: check that the whole link was copied",
            keep_changes=True,
        )
    refusal = share_link_refusal(link, clock.now())
    if refusal is None:
        return link
    through(actor, link).audit(
        db,
        "share_link_refused",
        resource_type="share_link",
        resource_id=link.id,
        outcome=DENIED,
        detail={"reason": refusal, "path": path.replace(token, f"<link {link.id}>")},
    )
    if refusal == "withdrawn":
        raise Gone(
            "share_link_withdrawn",
            "this share link was withdrawn: the colleague who shared it no longer has an account",
            keep_changes=True,
        )
    at = (link.revoked_at or link.expires_at).isoformat()  # revoked_at is set exactly when revoked
    said = "was revoked" if refusal == "revoked" else "expired"
    raise Gone(f"share_link_{refusal}", f"this share link {said} at {at}", keep_changes=True, at=at)


def _carried_link(db: Session, actor: Actor) -> ShareLink:
    link = db.get(ShareLink, actor.share_link_id) if actor.share_link_id is not None else None
    if link is None:
        raise RuntimeError("this operation needs an actor that came through a share link")
    return link


def open_shared_study(db: Session, actor: Actor) -> ShareLink:
    """What the expert's page shows before the viewer opens: the actor's link (study, scope, expiry,
    who shared it), its opening audited."""
    link = _carried_link(db, actor)
    _audit_link(db, actor, "share_link_open", link)
    return link


def record_link_use(db: Session, actor: Actor, clock: Clock) -> None:
    """Count a successful use of the actor's link. Call it last in the transaction: the row lock is then
    held only until the commit that follows."""
    link_id = _carried_link(db, actor).id
    db.execute(
        update(ShareLink)
        .where(ShareLink.id == link_id)
        .values(use_count=ShareLink.use_count + 1, last_used_at=clock.now())
    )
