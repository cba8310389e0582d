"""Contracts of `server.api.health`: the liveness and readiness probes."""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import BaseModel
from typing_extensions import TypedDict


class Liveness(BaseModel):
    status: Literal["ok"]


class Check(TypedDict):
    """One dependency: `ms` when it answered, `error` when it did not."""

    ok: bool
    ms: NotRequired[float]
    error: NotRequired[str]


class Readiness(BaseModel):
    """`ok` (200) when every dependency answered, `fail` (503) otherwise."""

    status: Literal["ok", "fail"]
    checks: dict[str, Check]
