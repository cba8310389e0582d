"""Referral steps through the API: a referable case, the letter up, slots, actions, identity checks, refusals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.community.models import Institution
from server.core.clock import CHINA_TIME
from tests.support.people import Person, ok

# Two valid 18-digit national IDs (the GB 11643 examples), and a health card.
NATIONAL_ID = "11010519491231002X"
OTHER_NATIONAL_ID = "440524188001010014"
HEALTH_CARD = "HC2024A0001"


def institution_id(session_factory: sessionmaker[Session], name: str) -> int:
    with session_factory() as db:
        found = db.scalar(select(Institution.id).where(Institution.name == name))
        assert found is not None
        return found


def county_id(session_factory: sessionmaker[Session]) -> int:
    return institution_id(session_factory, "示范县人民医院")


def local_today() -> date:
    return datetime.now(CHINA_TIME).date()


def referable_case(village: Person, name: str = "转诊测试", **patient: Any) -> int:
    """A village case for a patient with identifiers on record."""
    identifiers = {"national_id": NATIONAL_ID, "health_card_no": HEALTH_CARD, **patient}
    return village.new_case(patient={"name": name, "sex": "M", "birth_date": "1949-12-31", **identifiers})


def refer_up(village: Person, case_id: int, to: int, **letter: Any) -> dict[str, Any]:
    body = {
        "case_id": case_id,
        "to_institution_id": to,
        "reason": "反复胸闷一周，村卫生室心电图提示ST段压低",
        "diagnosis": "胸闷待查：冠心病？",
        "history": "高血压10年",
        "treatment": "硝酸甘油舌下含服后缓解",
        **letter,
    }
    created = village.post("/api/referrals", body)
    assert created.status_code == 201, created.text
    return created.json()


def publish(office: Person, institution: int, capacity: int, kind: str = "outpatient", days: int = 1) -> dict:
    """Slots of a department of its own (so tests never share a slot)."""
    published = office.post(
        "/api/referral-slots",
        {
            "institution_id": institution,
            "day": (local_today() + timedelta(days=days)).isoformat(),
            "kind": kind,
            "department": f"测试科-{uuid.uuid4().hex[:8]}",
            "capacity": capacity,
        },
    )
    assert published.status_code == 201, published.text
    return published.json()


def act(someone: Person, referral_id: int, action: str, **body: Any):
    return someone.post(f"/api/referrals/{referral_id}/actions/{action}", body)


def state_after(someone: Person, referral_id: int, action: str, **body: Any) -> str:
    return ok(act(someone, referral_id, action, **body))["state"]


def check_identity(
    someone: Person, referral_id: int, number: str = HEALTH_CARD, document: str = "health_card"
):
    return someone.post(
        f"/api/referrals/{referral_id}/identity-check", {"document": document, "number": number}
    )


def received_referral(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> tuple[Person, Person, int]:
    """A fresh referral up to the county hospital, received by its office: (village, office, id)."""
    village, office = person("village"), person("referral")
    referral = refer_up(village, referable_case(village), county_id(session_factory))
    assert state_after(office, referral["id"], "receive") == "received"
    return village, office, referral["id"]


def booked_referral(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> tuple[Person, Person, int]:
    village, office, referral_id = received_referral(person, session_factory)
    slot = publish(office, county_id(session_factory), capacity=10)
    assert state_after(office, referral_id, "book", slot_id=slot["id"]) == "booked"
    return village, office, referral_id


def refusals(session_factory: sessionmaker[Session], referral_id: int, username: str) -> list[AuditEvent]:
    with session_factory() as db:
        return list(
            db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "access_denied",
                    AuditEvent.resource_type == "referral",
                    AuditEvent.resource_id == str(referral_id),
                    AuditEvent.username == username,
                )
            )
        )
