"""Two-way referral up, through the API as a medical community uses it, on PostgreSQL: the letter and
the case's material go up, the county hospital's referral office receives and books it from the
slots reserved for grassroots referrals, the patient is treated and the referring doctor reads the
plan. Also: the reserve is never overbooked, not even by two bookings at the same instant against a
live server, and wrong steps are refused (409 in the wrong state, an audited 403 for the wrong person)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.auth.passwords import hash_password
from server.community.models import Role, User
from server.core.db import transaction
from server.referrals.models import Referral, ReferralEvent, ReferralSlot
from tests.support.accounts import DEMO_PASSWORD, bearer
from tests.support.dicom_factory import ct_series
from tests.support.dicomweb import stow
from tests.support.people import IMAGING_REPORT, Person, ok
from tests.support.race import Timed, post_together
from tests.support.referrals import (
    NATIONAL_ID,
    act,
    check_identity,
    county_id,
    institution_id,
    local_today,
    publish,
    refer_up,
    referable_case,
    refusals,
    state_after,
)

ROUNDS = 8
TWO_FREE_THREE_PRIORITY = [
    "no_registration_fee",
    "no_health_management_fee",
    "priority_visit",
    "priority_exam",
    "priority_admission",
]


def signed_imaging_case(village: Person, radiologist: Person) -> int:
    """A village imaging case with a small CT attached and a signed report."""
    case_id = referable_case(village)
    series = ct_series(n_slices=3, rows=64, cols=64, seed=11, patient_name="转诊^测试")
    assert stow(village.client, bearer(village.client, "village"), series, case_id).status_code == 200
    assert village.act(case_id, "submit").status_code == 200
    for step in ("claim", "start_review"):
        assert radiologist.act(case_id, step).status_code == 200, step
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": IMAGING_REPORT}).status_code == 200
    assert radiologist.act(case_id, "sign").status_code == 200
    return case_id


def test_the_whole_way_up(person: Callable[[str], Person], session_factory: sessionmaker[Session]) -> None:
    village, office, internist = person("village"), person("referral"), person("internist")
    county = county_id(session_factory)
    case_id = signed_imaging_case(village, person("radiologist"))

    # The family doctor refers the patient up: the letter, the case's material, 两免三优先.
    sent = refer_up(village, case_id, county)
    referral_id = sent["id"]
    assert sent["state"] == "sent" and sent["direction"] == "up"
    assert sent["priority"] == TWO_FREE_THREE_PRIORITY
    assert sent["letter"]["diagnosis"] == "胸闷待查：冠心病？"
    assert [s["modalities"] for s in sent["material"]["studies"]] == [["CT"]]
    assert sent["material"]["report"]["content"] == IMAGING_REPORT
    assert (
        village.post(
            "/api/referrals",
            {"case_id": case_id, "to_institution_id": county, "reason": "再次", "diagnosis": "x"},
        ).status_code
        == 409
    )

    # The office sees it arrive with the patient's name masked, and cannot open the record unchecked.
    incoming = {r["id"]: r for r in ok(office.get("/api/referrals", box="incoming"))["items"]}
    summary = incoming[referral_id]
    assert summary["patient"]["name_masked"] == "转**试" and "转诊测试" not in str(summary)
    assert summary["identity_check_required"] and summary["actions"] == ["decline", "receive"]
    assert office.get(f"/api/referrals/{referral_id}").status_code == 403

    # Received, then booked from the grassroots reserve of tomorrow's slots, priority flags carried.
    assert state_after(office, referral_id, "receive") == "received"
    slot = publish(office, county, capacity=10)
    assert (slot["capacity"], slot["reserved"], slot["available"]) == (10, 3, 3)
    booked = ok(act(office, referral_id, "book", slot_id=slot["id"]))
    assert booked["state"] == "booked" and booked["priority"] == TWO_FREE_THREE_PRIORITY
    assert booked["slot"]["id"] == slot["id"] and booked["slot"]["available"] == 2
    listed = ok(office.get("/api/referral-slots", institution_id=county))["items"]
    assert next(s for s in listed if s["id"] == slot["id"])["booked"] == 1

    # The county physician confirms the patient's identity, then reads the whole record and images.
    study_uid = sent["material"]["studies"][0]["study_uid"]
    refused = internist.get(f"/api/referrals/{referral_id}")
    assert refused.status_code == 403 and refused.json()["error"] == "identity_check_required"
    assert study_uid not in internist.get("/dicomweb/studies", StudyInstanceUID=study_uid).text
    assert ok(check_identity(internist, referral_id, " hc2024a 0001 "))["result"] == "matched"
    record = ok(internist.get(f"/api/referrals/{referral_id}"))
    assert record["patient"]["national_id"] == NATIONAL_ID and record["patient"]["name"] == "转诊测试"
    assert record["letter"]["history"] == "高血压10年"
    assert record["material"]["studies"] and record["material"]["case"]["id"] == case_id
    assert (
        study_uid
        in ok(internist.get("/dicomweb/studies", StudyInstanceUID=study_uid))[0]["0020000D"]["Value"]
    )

    # Seen, admitted, a treatment plan written upstairs, discharged.
    assert state_after(internist, referral_id, "arrive") == "arrived"
    assert state_after(internist, referral_id, "admit") == "admitted"
    plan = internist.post(
        f"/api/referrals/{referral_id}/notes",
        {"kind": "treatment_plan", "text": "冠脉造影后植入支架1枚；阿司匹林+氯吡格雷双抗12个月"},
    )
    assert plan.status_code == 201, plan.text
    assert state_after(internist, referral_id, "discharge") == "discharged"

    # The referring doctor reads the plan upstairs without any identity check: it is their patient.
    seen = ok(village.get(f"/api/referrals/{referral_id}"))
    assert [(n["kind"], n["author"]["display_name"]) for n in seen["notes"]] == [("treatment_plan", "郑主任")]
    assert "支架" in seen["notes"][0]["text"]
    assert state_after(village, referral_id, "close") == "closed"
    assert [e["action"] for e in ok(village.get(f"/api/referrals/{referral_id}"))["events"]] == [
        "send",
        "receive",
        "book",
        "arrive",
        "admit",
        "discharge",
        "close",
    ]
    with session_factory() as db:
        actions = set(
            db.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.resource_type == "referral", AuditEvent.resource_id == str(referral_id)
                )
            )
        )
    assert {
        "referral_create",
        "referral_read",
        "referral_book",
        "identity_check",
        "referral_note_create",
    } <= actions


def test_only_a_family_doctor_s_referral_carries_two_free_three_priority(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    """两免三优先 is for patients their grassroots family doctor refers; the county hospital's own do not get it."""
    township = person("township")
    assert refer_up(township, referable_case(township), county_id(session_factory))["priority"] == (
        TWO_FREE_THREE_PRIORITY
    )
    county_doctor = person(add_user(session_factory, Role.REQUESTER, county_id(session_factory)))
    tertiary = institution_id(session_factory, "省人民医院")
    assert refer_up(county_doctor, referable_case(county_doctor), tertiary)["priority"] == []


def test_booking_stops_at_the_reserved_quota(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, office = person("village"), person("referral")
    county = county_id(session_factory)
    slot = publish(office, county, capacity=3)  # 30% of 3, rounded up: one slot for the grassroots
    assert slot["reserved"] == 1
    first, second = (refer_up(village, referable_case(village), county)["id"] for _ in range(2))
    for referral_id in (first, second):
        assert state_after(office, referral_id, "receive") == "received"
    assert state_after(office, first, "book", slot_id=slot["id"]) == "booked"
    refused = act(office, second, "book", slot_id=slot["id"])
    assert refused.status_code == 409 and refused.json()["error"] == "quota_exhausted"
    with session_factory() as db:
        assert db.get_one(ReferralSlot, slot["id"]).booked == 1
        assert db.get_one(Referral, second).state == "received"

    # Cancelling the booked referral gives its slot back to the next patient.
    assert state_after(village, first, "cancel", note="患者改期") == "cancelled"
    assert state_after(office, second, "book", slot_id=slot["id"]) == "booked"


def test_the_reserved_share_is_configurable_per_institution(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    office, admin, village = person("referral"), person("admin"), person("village")
    county = county_id(session_factory)
    try:
        assert ok(office.put(f"/api/institutions/{county}/referral-quota", {"reserved_share_bp": 5000}))
        assert publish(office, county, capacity=10, kind="ct")["reserved"] == 5
        assert ok(office.get("/api/referral-slots", institution_id=county))["reserved_share_bp"] == 5000
    finally:
        assert (
            admin.put(f"/api/institutions/{county}/referral-quota", {"reserved_share_bp": 3000}).status_code
            == 200
        )
    # The village doctor may see the slots, not set the quota; over 100% is refused.
    assert (
        village.put(f"/api/institutions/{county}/referral-quota", {"reserved_share_bp": 9000}).status_code
        == 403
    )
    assert (
        office.put(f"/api/institutions/{county}/referral-quota", {"reserved_share_bp": 10001}).status_code
        == 400
    )
    assert village.get("/api/referral-slots", institution_id=county).status_code == 200


def test_illegal_moves_are_409(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, office = person("village"), person("referral")
    internist = person("internist")
    county = county_id(session_factory)
    referral_id = refer_up(village, referable_case(village), county)["id"]
    slot = publish(office, county, capacity=10)

    book_unreceived = act(office, referral_id, "book", slot_id=slot["id"])
    assert book_unreceived.status_code == 409 and book_unreceived.json()["state"] == "sent"
    assert "possible only when received" in book_unreceived.json()["detail"]
    assert act(village, referral_id, "close").status_code == 409
    assert state_after(office, referral_id, "receive") == "received"
    assert act(office, referral_id, "receive").status_code == 409  # twice
    assert state_after(office, referral_id, "book", slot_id=slot["id"]) == "booked"
    assert ok(check_identity(internist, referral_id))["result"] == "matched"
    assert act(internist, referral_id, "treat").status_code == 409  # not arrived yet
    down = internist.post(
        f"/api/referrals/{referral_id}/down",
        {"diagnosis": "x", "discharge_summary": "x", "follow_up": {"plan": "x"}},
    )
    assert down.status_code == 409 and down.json()["error"] == "illegal_transition"
    assert act(office, referral_id, "fly").status_code == 404

    declined_id = refer_up(village, referable_case(village), county)["id"]
    assert act(office, declined_id, "decline").status_code == 400  # a reason is required
    declined = ok(act(office, declined_id, "decline", reason="本院心内科床位已满，建议转省人民医院"))
    assert declined["state"] == "declined" and declined["decline_reason"].startswith("本院心内科")
    assert act(office, declined_id, "book", slot_id=slot["id"]).status_code == 409


def test_wrong_people_are_refused_and_it_is_audited(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, office, internist = person("village"), person("referral"), person("internist")
    referral_id = refer_up(village, referable_case(village), county_id(session_factory))["id"]

    # The referring doctor cannot receive their own referral; a physician is not the referral office.
    for someone, action in ((village, "receive"), (internist, "receive"), (internist, "decline")):
        refused = act(someone, referral_id, action, reason="x")
        assert refused.status_code == 403, (someone.username, action, refused.text)
        assert "office" in refused.json()["detail"]
        assert refusals(session_factory, referral_id, someone.username)
    assert state_after(office, referral_id, "receive") == "received"
    assert act(village, referral_id, "book", slot_id=1).status_code == 403

    # Trainees and auditors see no referrals; only requesters send them; notes come from upstairs.
    assert person("trainee").get("/api/referrals").status_code == 403
    assert person("auditor").get(f"/api/referrals/{referral_id}").status_code == 403
    assert office.post("/api/referrals", {"case_id": 1}).status_code == 403
    note = village.post(f"/api/referrals/{referral_id}/notes", {"kind": "record", "text": "x"})
    assert note.status_code == 403
    # The slots are the office's (or the admin's) to publish; a doctor of the hospital cannot.
    assert (
        internist.post(
            "/api/referral-slots",
            {
                "institution_id": county_id(session_factory),
                "day": local_today().isoformat(),
                "kind": "ct",
                "capacity": 5,
            },
        ).status_code
        == 403
    )

    # Another unit's doctor does not see the referral at all.
    shiqiao = institution_id(session_factory, "石桥村卫生室")
    other = add_user(session_factory, Role.REQUESTER, shiqiao)
    assert person(other).get(f"/api/referrals/{referral_id}").status_code == 403
    assert referral_id not in [r["id"] for r in ok(person(other).get("/api/referrals"))["items"]]


def test_a_referral_must_go_up_and_name_its_patient(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village = person("village")
    township = institution_id(session_factory, "青山乡卫生院")
    shiqiao = institution_id(session_factory, "石桥村卫生室")
    case_id = referable_case(village)
    sideways = village.post(
        "/api/referrals", {"case_id": case_id, "to_institution_id": shiqiao, "reason": "x", "diagnosis": "x"}
    )
    assert sideways.status_code == 400 and sideways.json()["error"] == "not_upward"
    assert refer_up(village, case_id, township)["to_institution"]["tier"] == "township_centre"
    anonymous = village.new_case(patient={"name": "无证件"})
    missing = village.post(
        "/api/referrals",
        {"case_id": anonymous, "to_institution_id": township, "reason": "x", "diagnosis": "x"},
    )
    assert missing.status_code == 400 and missing.json()["error"] == "patient_identifier_required"
    assert village.post("/api/referrals", {"case_id": case_id}).status_code == 400


def add_user(session_factory: sessionmaker[Session], role: Role, institution: int) -> str:
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    with transaction(session_factory) as db:
        db.add(
            User(
                username=username,
                display_name="测试用户",
                password_hash=hash_password(DEMO_PASSWORD),
                role=role,
                institution_id=institution,
            )
        )
    return username


def _book_together(url: str, pairs: list[tuple[httpx.Client, int]], slot_id: int) -> list[Timed]:
    """Each office's booking, released at one moment; (status, start, end) per booking."""
    return post_together(
        [
            partial(client.post, f"{url}/api/referrals/{referral_id}/actions/book", json={"slot_id": slot_id})
            for client, referral_id in pairs
        ]
    )


def test_two_offices_booking_the_last_reserved_slot_at_once_give_one_winner(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    platform = live_server.platform
    url = platform.url
    county = county_id(session_factory)
    second = add_user(session_factory, Role.DISPATCHER, county)
    admin = httpx.Client(headers=platform.bearer("admin"), timeout=30)
    with session_factory() as db:
        second_id = db.scalar(select(User.id).where(User.username == second))
    added = admin.post(f"{url}/api/institutions/{county}/referral-office", json={"user_id": second_id})
    assert added.status_code == 201, added.text
    village = httpx.Client(headers=platform.bearer("village"), timeout=30)
    offices = [httpx.Client(headers=platform.bearer(name), timeout=30) for name in ("referral", second)]
    for client in offices:  # open the connections first, so both requests leave at the same instant
        assert client.get(f"{url}/api/referrals", params={"box": "incoming"}).status_code == 200

    overlaps = 0
    for round_ in range(ROUNDS):
        slot = (
            offices[0]
            .post(
                f"{url}/api/referral-slots",
                json={
                    "institution_id": county,
                    "day": (local_today() + timedelta(days=2)).isoformat(),
                    "kind": "mri",
                    "department": f"race-{uuid.uuid4().hex[:8]}",
                    "capacity": 2,  # 30% of 2 rounds up to one reserved slot
                },
            )
            .json()
        )
        assert slot["reserved"] == 1
        referrals = []
        for _ in offices:
            case = village.post(
                f"{url}/api/cases",
                json={"kind": "referral", "patient": {"name": "抢号测试", "national_id": NATIONAL_ID}},
            ).json()
            referral = village.post(
                f"{url}/api/referrals",
                json={"case_id": case["id"], "to_institution_id": county, "reason": "x", "diagnosis": "x"},
            ).json()
            assert (
                offices[0].post(f"{url}/api/referrals/{referral['id']}/actions/receive", json={}).status_code
                == 200
            )
            referrals.append(referral["id"])

        results = _book_together(url, list(zip(offices, referrals, strict=True)), slot["id"])
        assert sorted(status for status, _start, _end in results) == [200, 409], f"round {round_}: {results}"
        (_s0, start0, end0), (_s1, start1, end1) = results
        overlaps += start0 < end1 and start1 < end0  # both requests were in flight together
        with session_factory() as db:
            assert db.get_one(ReferralSlot, slot["id"]).booked == 1
            states = sorted(db.get_one(Referral, r).state.value for r in referrals)
            books = db.scalars(
                select(ReferralEvent).where(
                    ReferralEvent.referral_id.in_(referrals), ReferralEvent.action == "book"
                )
            ).all()
        assert states == ["booked", "received"] and len(books) == 1
    assert overlaps >= ROUNDS // 2, f"the bookings rarely overlapped ({overlaps}/{ROUNDS}): not a race"
    for client in [admin, village, *offices]:
        client.close()


def test_demo_has_an_office_a_week_of_slots_and_a_referral_being_booked(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    office = person("referral")
    county = county_id(session_factory)
    staff = ok(office.get(f"/api/institutions/{county}/referral-office"))["items"]
    assert ("钱转诊", "head") in [(m["display_name"], m["duty"]) for m in staff]
    week = ok(
        office.get(
            "/api/referral-slots", institution_id=county, to=(local_today() + timedelta(days=6)).isoformat()
        )
    )
    days = {s["day"] for s in week["items"] if not s["department"].startswith(("测试科", "race"))}
    assert len(days) == 7 and week["reserved_share_bp"] == 3000
    in_progress = [r for r in ok(office.get("/api/referrals", box="incoming", state="booked"))["items"]]
    assert any(
        r["patient"]["name_masked"] == "李*强" and r["slot"]["department"] == "心内科" for r in in_progress
    )
