"""Contracts of the directory (`server/api/directory.py`), and the small pieces the billing, dashboard
and teaching contracts share with it: a person or an institution by name, and strict input fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt

from server.api.routing import MAX_INT
from server.api.schemas.common import Contract
from server.community.models import Role, Tier

# A whole number as JSON gives it (not a string, not a boolean) that fits the database's INTEGER.
Int32 = Annotated[StrictInt, Field(ge=-MAX_INT, le=MAX_INT)]


def _iso_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date as YYYY-MM-DD") from None


def _iso_moment(value: Any) -> datetime:
    """An ISO 8601 time with its UTC offset (a time without one names no moment)."""
    moment = None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("must be an ISO 8601 time with its UTC offset")
    return moment


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Moment = Annotated[datetime, BeforeValidator(_iso_moment)]


class NamedRef(Contract):
    """An institution or a reading centre, by id and name."""

    id: int
    name: str


class Person(Contract):
    """A colleague as records name them: enough to recognise, nothing more."""

    id: int
    display_name: str
    role: Role


class Colleague(Contract):
    """An active reader or expert of the caller's medical community."""

    id: int
    display_name: str
    role: Role
    institution: NamedRef
    centre: NamedRef | None


class ColleagueList(Contract):
    items: list[Colleague]


class CommunityInstitution(Contract):
    """A member institution of the caller's community, with its tier and parent."""

    id: int
    name: str
    tier: Tier
    parent_id: int | None


class InstitutionList(Contract):
    items: list[CommunityInstitution]


class PatientSummary(Contract):
    """A patient of the caller's institution; the ID number masked."""

    id: int
    name: str
    sex: str | None
    birth_date: date | None
    national_id_masked: str | None


class PatientList(Contract):
    items: list[PatientSummary]
