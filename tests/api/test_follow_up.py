"""Referral down into the village doctor's follow-up list, with three-colour triage (三色分级): the
discharging physician sends the plan, the village doctor receives it (closing the loop of the
referral up), filters the list by colour and re-triages with a reason, each change kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.support.people import Person, ok
from tests.support.referrals import (
    booked_referral,
    check_identity,
    county_id,
    local_today,
    refer_up,
    referable_case,
    state_after,
)


def discharge_plan(colour: str = "red") -> dict[str, Any]:
    due = [(local_today() + timedelta(days=n)).isoformat() for n in (30, 7, 90)]
    return {
        "diagnosis": "急性非ST段抬高型心肌梗死，PCI术后；高血压3级",
        "discharge_summary": "住院6天，前降支植入支架1枚，双抗治疗，出院时无胸痛。",
        "follow_up": {
            "plan": "每周测血压心率；双抗12个月，注意出血；一月后心内科复诊",
            "due_dates": due,
            "colour": colour,
        },
    }


def treated_referral(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> tuple[Person, Person, int]:
    """A referral up seen and treated at the county hospital: (village doctor, internist, id)."""
    village, _office, referral_id = booked_referral(person, session_factory)
    internist = person("internist")
    assert ok(check_identity(internist, referral_id))["result"] == "matched"
    assert state_after(internist, referral_id, "arrive") == "arrived"
    assert state_after(internist, referral_id, "treat") == "treated"
    return village, internist, referral_id


def entries(village: Person, **params: Any) -> dict[int, dict[str, Any]]:
    return {e["referral"]["id"]: e for e in ok(village.get("/api/follow-up", **params))["items"]}


def test_a_patient_referred_down_joins_the_village_follow_up_list(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, internist, up_id = treated_referral(person, session_factory)

    sent = internist.post(f"/api/referrals/{up_id}/down", discharge_plan("red"))
    assert sent.status_code == 201, sent.text
    down = sent.json()
    assert (down["direction"], down["state"], down["parent_id"]) == ("down", "sent", up_id)
    assert down["to_institution"]["name"] == "青山村卫生室"
    assert internist.post(f"/api/referrals/{up_id}/down", discharge_plan()).status_code == 409  # once
    assert down["id"] not in entries(village)  # not on the list until received

    # The village doctor reads the plan without an identity check (their own patient) and receives it.
    record = ok(village.get(f"/api/referrals/{down['id']}"))
    assert "支架" in record["discharge_summary"] and record["follow_up_plan"]["colour"] == "red"
    assert state_after(village, down["id"], "receive") == "received"
    assert ok(village.get(f"/api/referrals/{up_id}"))["state"] == "closed"  # the loop is closed

    entry = entries(village)[down["id"]]
    assert entry["colour"]["code"] == "red" and "专科联盟" in entry["colour"]["meaning_zh"]
    assert entry["due_dates"] == sorted(entry["due_dates"]) and entry["next_due"] == entry["due_dates"][0]
    assert (
        entry["patient"]["name"] == "转诊测试"
        and entry["referral"]["from_institution"]["name"] == "示范县人民医院"
    )
    assert down["id"] in entries(village, colour="red") and down["id"] not in entries(village, colour="green")

    # Re-triaged: red → yellow once blood pressure is controlled; every change is kept.
    changed = village.post(
        f"/api/follow-up/{entry['id']}/colour", {"colour": "yellow", "reason": "血压控制达标，转全专门诊"}
    )
    assert changed.status_code == 200, changed.text
    history = changed.json()["colour_history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "red"), ("red", "yellow")]
    assert history[-1]["by"]["display_name"] == "王村医" and history[-1]["reason"].startswith("血压")
    assert down["id"] in entries(village, colour="yellow") and down["id"] not in entries(
        village, colour="red"
    )
    same = village.post(f"/api/follow-up/{entry['id']}/colour", {"colour": "yellow", "reason": "x"})
    assert same.status_code == 409
    assert (
        village.post(f"/api/follow-up/{entry['id']}/colour", {"colour": "blue", "reason": "x"}).status_code
        == 400
    )
    assert village.post(f"/api/follow-up/{entry['id']}/colour", {"colour": "green"}).status_code == 400

    # Follow-up ends: the down referral is closed and the entry leaves the open list.
    assert state_after(village, down["id"], "close") == "closed"
    assert down["id"] not in entries(village)
    assert entries(village, closed="1")[down["id"]]["closed_at"] is not None
    assert (
        village.post(f"/api/follow-up/{entry['id']}/colour", {"colour": "red", "reason": "x"}).status_code
        == 409
    )


def test_referral_down_needs_a_plan_the_right_doctor_and_the_right_moment(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, internist, up_id = treated_referral(person, session_factory)
    plan = discharge_plan()
    for broken in (
        {**plan, "follow_up": {"due_dates": []}},
        {**plan, "follow_up": {**plan["follow_up"], "due_dates": ["next week"]}},
        {**plan, "follow_up": {**plan["follow_up"], "colour": "purple"}},
        {key: value for key, value in plan.items() if key != "discharge_summary"},
    ):
        assert internist.post(f"/api/referrals/{up_id}/down", broken).status_code == 400, broken
    # The referring village doctor cannot refer their own patient "down" to themselves.
    assert village.post(f"/api/referrals/{up_id}/down", plan).status_code == 403
    # Down referrals are answered by receiving them, never by booking or treating.
    down_id = internist.post(f"/api/referrals/{up_id}/down", plan).json()["id"]
    assert village.post(f"/api/referrals/{down_id}/actions/treat", {}).status_code == 409
    assert internist.post(f"/api/referrals/{down_id}/actions/receive", {}).status_code == 403
    # A referral up that was never treated cannot be answered.
    fresh = refer_up(village, referable_case(village), county_id(session_factory))["id"]
    assert internist.post(f"/api/referrals/{fresh}/down", plan).status_code == 409


def test_the_follow_up_list_is_the_unit_s_own(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, internist, up_id = treated_referral(person, session_factory)
    down_id = internist.post(f"/api/referrals/{up_id}/down", discharge_plan("green")).json()["id"]
    assert state_after(village, down_id, "receive") == "received"
    entry_id = entries(village)[down_id]["id"]

    township = person("township")
    assert down_id not in entries(township)
    assert township.get(f"/api/follow-up/{entry_id}").status_code == 404
    assert (
        township.post(f"/api/follow-up/{entry_id}/colour", {"colour": "red", "reason": "x"}).status_code
        == 404
    )
    assert down_id in entries(person("admin"))  # the community's administrator oversees every list
    for role_user in ("radiologist", "internist", "trainee", "auditor"):
        assert person(role_user).get("/api/follow-up").status_code == 403
    assert ok(village.get(f"/api/follow-up/{entry_id}"))["colour_history"][0]["to"] == "green"
    assert village.get("/api/follow-up", colour="pink").status_code == 400


def test_the_demo_village_doctor_follows_up_a_yellow_patient(person: Callable[[str], Person]) -> None:
    village = person("village")
    demo = [
        e
        for e in ok(village.get("/api/follow-up", colour="yellow"))["items"]
        if e["patient"]["name"] == "王建华"
    ]
    assert len(demo) == 1 and demo[0]["next_due"] is not None
    assert "全专门诊" in demo[0]["colour"]["meaning_zh"]
    assert ok(village.get(f"/api/referrals/{demo[0]['referral']['id']}"))["state"] == "received"
