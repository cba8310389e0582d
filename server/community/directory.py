"""Who is who: the community's institutions, colleagues to assign or consult, and a clinic's own patients.

Also the checks other capabilities make when a record names people or places of the caller's
community (a teaching session's host, an outreach day's specialist and host institution).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.community.models import Institution, Role, User
from server.core.clock import Clock
from server.core.errors import Invalid

# The colleagues a clinical user may pick: readers (a dispatcher assigns), experts (a case is escalated or
# a consult addressed to one).
PICKABLE_ROLES = (Role.READER, Role.EXPERT)


def community_of(actor: Actor) -> int:
    """The acting person's medical community; `Invalid` (no_community) for an account outside any."""
    community_id = actor.person.community_id
    if community_id is None:
        raise Invalid("no_community", "your account belongs to no medical community")
    return community_id


def member_of(
    db: Session, community_id: int, user_id: int, field: str, roles: Collection[Role] | None = None
) -> User:
    """The active user `user_id` of the community (holding one of `roles`), named by the input `field`."""
    user = db.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.community_id != community_id
        or (roles is not None and user.role not in roles)
    ):
        which = f" ({', '.join(sorted(r.value for r in roles))})" if roles else ""
        raise Invalid(
            "invalid_field", f"'{field}' must name an active user of your community{which}", field=field
        )
    return user


def institution_of(db: Session, community_id: int, institution_id: int, field: str) -> Institution:
    """The institution `institution_id` of the community, named by the input `field`."""
    institution = db.get(Institution, institution_id)
    if institution is None or institution.community_id != community_id:
        raise Invalid("invalid_field", f"'{field}' must name an institution of your community", field=field)
    return institution


def list_colleagues(
    db: Session, actor: Actor, clock: Clock, role: str, centre_id: int | None = None
) -> list[User]:
    """Active readers or experts of the caller's medical community, optionally of one reading centre."""
    picked = next((pickable for pickable in PICKABLE_ROLES if pickable.value == role), None)
    if picked is None:
        raise Invalid("invalid_query", "role must be reader or expert")
    query = (
        select(User)
        .join(Institution, Institution.id == User.institution_id)
        .where(
            User.role == picked,
            User.active.is_(True),
            Institution.community_id == actor.person.community_id,
        )
        .order_by(User.display_name)
    )
    if centre_id is not None:
        query = query.where(User.centre_id == centre_id)
    return list(db.scalars(query))


def list_institutions(db: Session, actor: Actor, clock: Clock) -> list[Institution]:
    """The member institutions of the caller's medical community, by tier: for agreements and referrals."""
    return list(
        db.scalars(
            select(Institution)
            .where(Institution.community_id == actor.person.community_id)
            .order_by(Institution.tier, Institution.name)
        )
    )
