"""Contracts of `server.api.share_links`: links that let an outside expert open one study."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.api.schemas.common import Timestamp
from server.sharing.models import ShareScope
from server.sharing.service import LinkState


class ShareLinkInput(BaseModel):
    """`scope`: read (view the study) or download (also the original files); expiry from 1 to 30 days."""

    model_config = ConfigDict(strict=True)

    study_uid: str
    scope: str = Field(json_schema_extra={"enum": [scope.value for scope in ShareScope]})
    expires_in_days: int = Field(json_schema_extra={"minimum": 1, "maximum": 30})
    recipient: str | None = Field(default=None, json_schema_extra={"maxLength": 200})


class ShareLink(BaseModel):
    """A link as listed: never its token. `state` is active, expired, revoked or withdrawn."""

    id: int
    case_id: int
    study_uid: str
    study_description: str
    scope: ShareScope
    recipient: str
    state: LinkState
    created_at: Timestamp
    created_by: str
    expires_at: Timestamp
    revoked_at: Timestamp | None
    revoked_by: str | None
    last_used_at: Timestamp | None
    use_count: int


class CreatedShareLink(ShareLink):
    """The answer to creating a link: the only time its token is shown. `path` is the viewer's route."""

    token: str
    path: str
    url: str


class ShareLinks(BaseModel):
    items: list[ShareLink]


class SharedLinkInfo(BaseModel):
    """What the outside expert's page learns from the token."""

    study_uid: str
    scope: ShareScope
    recipient: str
    expires_at: Timestamp
    shared_by: str
    shared_by_institution: str
