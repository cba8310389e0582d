"""Contracts of `server.api.auth`: login, the current user and their session."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from server.community.models import CentreKind, Role, Tier
from server.community.models import User as UserRow


class LoginBody(BaseModel):
    """`bearer`: answer the session token itself (programs) instead of setting the cookie (browsers)."""

    model_config = ConfigDict(strict=True)

    username: str
    password: str
    bearer: bool | None = None


class InstitutionRef(BaseModel):
    id: int
    name: str
    tier: Tier


class CommunityRef(BaseModel):
    id: int
    name: str


class CentreRef(BaseModel):
    id: int
    name: str
    kind: CentreKind


class User(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    institution: InstitutionRef | None
    community: CommunityRef | None
    centre: CentreRef | None

    @classmethod
    def of(cls, user: UserRow) -> User:
        institution, centre = user.institution, user.centre
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            institution=(
                InstitutionRef(id=institution.id, name=institution.name, tier=institution.tier)
                if institution
                else None
            ),
            community=(
                CommunityRef(id=institution.community.id, name=institution.community.name)
                if institution
                else None
            ),
            centre=CentreRef(id=centre.id, name=centre.name, kind=centre.kind) if centre else None,
        )


class Session(BaseModel):
    """The signed-in user and the CSRF token their unsafe requests carry."""

    user: User
    csrf_token: str


class BearerSession(Session):
    """A login with `"bearer": true`: the session token too, for the `Authorization` header."""

    token: str
