"""Before an upper-level doctor opens a referred patient's record, the patient's identity is checked:
required, forgiving about case and spaces, strict about digits (the 居民身份证 check digit catches
typos), a mismatch refused and audited, and a check valid for one user and referral for 12 hours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from server.access.models import AuditEvent
from server.core.clock import FixedClock
from server.patients.identity import InvalidIdentifier, validate_national_id
from server.referrals.models import IdentityCheck
from tests.support.people import Person
from tests.support.referrals import (
    HEALTH_CARD,
    NATIONAL_ID,
    OTHER_NATIONAL_ID,
    booked_referral,
    check_identity,
    refusals,
)


@pytest.fixture
def clock(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> Iterator[FixedClock]:
    """The app's clock, standing still until the test moves it."""
    fixed = FixedClock(datetime.now(UTC))
    monkeypatch.setattr(app.state, "clock", fixed, raising=False)
    yield fixed


def checks(session_factory: sessionmaker[Session], referral_id: int) -> list[IdentityCheck]:
    with session_factory() as db:
        return list(
            db.scalars(
                select(IdentityCheck)
                .where(IdentityCheck.referral_id == referral_id)
                .order_by(IdentityCheck.id)
            )
        )


def test_every_single_digit_typo_and_adjacent_swap_in_a_national_id_is_caught() -> None:
    assert validate_national_id(NATIONAL_ID) == NATIONAL_ID
    assert validate_national_id("110105 19491231 002x") == NATIONAL_ID  # grouped, lower-case x
    typos = 0
    for i in range(18):
        for replacement in "0123456789X":
            typed = NATIONAL_ID[:i] + replacement + NATIONAL_ID[i + 1 :]
            if typed == NATIONAL_ID or (replacement == "X" and i < 17):
                continue
            with pytest.raises(InvalidIdentifier):
                validate_national_id(typed)
            typos += 1
    swaps = 0
    for i in range(17):
        swapped = NATIONAL_ID[:i] + NATIONAL_ID[i + 1] + NATIONAL_ID[i] + NATIONAL_ID[i + 2 :]
        if swapped != NATIONAL_ID:
            with pytest.raises(InvalidIdentifier):
                validate_national_id(swapped)
            swaps += 1
    assert typos == 17 * 9 + 10 and swaps >= 10
    for wrong in ("1101051949123100", "11010519491331002X", "ABCDEFGHIJKLMNOPQR"):
        with pytest.raises(InvalidIdentifier):
            validate_national_id(wrong)


def test_the_record_stays_closed_until_the_identity_is_confirmed(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    _village, office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")

    refused = internist.get(f"/api/referrals/{referral_id}")
    assert refused.status_code == 403 and refused.json()["error"] == "identity_check_required"
    assert NATIONAL_ID not in refused.text and "转诊测试" not in refused.text
    denied = refusals(session_factory, referral_id, "internist")
    assert denied and denied[-1].detail["reason"] == "identity_check_required"
    assert denied[-1].patient_id is not None
    # Steps that need the record wait too; the office may still book from the summary.
    assert internist.post(f"/api/referrals/{referral_id}/actions/arrive", {}).status_code == 403

    assert check_identity(internist, referral_id, NATIONAL_ID.lower(), "national_id").status_code == 200
    assert internist.get(f"/api/referrals/{referral_id}").json()["patient"]["national_id"] == NATIONAL_ID
    # A check is one user's: the office clerk has not checked yet.
    assert office.get(f"/api/referrals/{referral_id}").status_code == 403


def test_a_mismatch_is_refused_recorded_and_audited(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    _village, _office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")

    mismatch = check_identity(internist, referral_id, OTHER_NATIONAL_ID, "national_id")
    assert mismatch.status_code == 403 and mismatch.json()["error"] == "identity_mismatch"
    assert "does not match" in mismatch.json()["detail"]
    other_card = check_identity(internist, referral_id, "HC2024A0002")
    assert other_card.status_code == 403
    assert internist.get(f"/api/referrals/{referral_id}").status_code == 403

    recorded = checks(session_factory, referral_id)
    assert [(c.document.value, c.result.value, c.valid_until) for c in recorded] == [
        ("national_id", "mismatch", None),
        ("health_card", "mismatch", None),
    ]
    with session_factory() as db:
        audited = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "identity_check", AuditEvent.resource_id == str(referral_id)
            )
        ).all()
    assert [(e.outcome, e.detail["result"], e.username) for e in audited] == [
        ("denied", "mismatch", "internist"),
        ("denied", "mismatch", "internist"),
    ]
    assert all(OTHER_NATIONAL_ID not in str(e.detail) for e in audited)  # the typed number is not logged


def test_a_typo_in_the_check_digit_is_caught_before_comparing(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    _village, _office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")
    typo = NATIONAL_ID[:15] + "3" + NATIONAL_ID[16:]  # one digit of the sequence number
    caught = check_identity(internist, referral_id, typo, "national_id")
    assert caught.status_code == 400 and caught.json()["error"] == "invalid_identifier"
    assert "check digit" in caught.json()["detail"]
    assert [c.result.value for c in checks(session_factory, referral_id)] == ["invalid"]
    assert check_identity(internist, referral_id, "12345", "national_id").status_code == 400
    assert check_identity(internist, referral_id, HEALTH_CARD, "passport").status_code == 400


def test_a_check_holds_for_twelve_hours(
    person: Callable[[str], Person], session_factory: sessionmaker[Session], clock
) -> None:
    _village, _office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")
    confirmed = check_identity(internist, referral_id).json()
    assert confirmed["result"] == "matched"
    clock.advance(hours=11, minutes=59)
    assert internist.get(f"/api/referrals/{referral_id}").status_code == 200
    clock.advance(minutes=2)
    expired = internist.get(f"/api/referrals/{referral_id}")
    assert expired.status_code == 403 and expired.json()["error"] == "identity_check_required"


def test_guessing_is_stopped_after_five_failures(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    _village, _office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")
    for n in range(5):
        assert check_identity(internist, referral_id, f"HC999{n:04d}").status_code == 403
    stopped = check_identity(internist, referral_id)
    assert stopped.status_code == 429 and stopped.json()["error"] == "too_many_identity_checks"


def test_the_referring_doctor_needs_no_check_and_the_admin_does(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, _office, referral_id = booked_referral(person, session_factory)
    assert village.get(f"/api/referrals/{referral_id}").status_code == 200
    admin = person("admin")
    assert admin.get(f"/api/referrals/{referral_id}").status_code == 403
    assert check_identity(admin, referral_id).status_code == 200
    assert admin.get(f"/api/referrals/{referral_id}").status_code == 200
