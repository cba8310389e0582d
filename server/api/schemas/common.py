"""Pieces shared by the API's pydantic contracts (`server/api/schemas/<module>.py`).

`Timestamp` is a moment answered as `datetime.isoformat()` ("2025-03-01T08:00:00+00:00"), as the API
always has, rather than pydantic's "Z" form; the web UI and the tests read that text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Contract(BaseModel):
    """Base of the API's models: attributes are read from ORM rows too (`Model.model_validate(row)`)."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    """Every refusal: `error` is a stable code, `detail` says why; some carry more fields (`field`,
    `retry_after`, `accepted`, ...)."""

    model_config = ConfigDict(extra="allow", title="Error")

    error: str
    detail: str
