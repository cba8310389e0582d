"""The answer of `GET /api/openapi.json`: an OpenAPI 3.1 document (its own schema is the standard's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document, https://spec.openapis.org/oas/v3.1.0."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]
