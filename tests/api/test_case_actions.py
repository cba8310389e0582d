"""The case lifecycle through the API, as the people of a medical community use it, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.cases.models import Report, ReportStatus, SignedReportImmutable
from server.core.config import Settings
from server.core.db import transaction
from tests.support.accounts import add_reader, user_id
from tests.support.people import IMAGING_REPORT, Person, ok, people


def status_of(response: httpx.Response) -> str:
    return ok(response)["case"]["status"]


def notifications(someone: Person, case_id: int) -> list[str]:
    return [n["kind"] for n in ok(someone.get("/api/notifications"))["items"] if n["case"]["id"] == case_id]


def test_a_case_goes_from_draft_to_closed_and_every_step_is_recorded(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    assert ok(village.get(f"/api/cases/{case_id}"))["status"] == "draft"

    submitted = ok(village.act(case_id, "submit"))
    assert submitted["case"]["status"] == "queued"
    assert submitted["case"]["centre"]["name"] == "影像诊断中心"
    assert [(e["action"], e["to_status"]) for e in submitted["events"]] == [
        ("submit", "submitted"),
        ("queue", "queued"),
    ]
    queue = ok(radiologist.get("/api/worklist", status="queued"))["items"]
    assert case_id in [c["id"] for c in queue]

    claimed = ok(radiologist.act(case_id, "claim"))["case"]
    assert claimed["status"] == "assigned" and claimed["assigned_to"]["display_name"] == "陈影像"
    assert "start_review" in claimed["actions"]
    assert status_of(radiologist.act(case_id, "start_review")) == "in_review"
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": IMAGING_REPORT}).status_code == 200
    assert status_of(radiologist.act(case_id, "sign")) == "reported"

    # 结果反馈: the requester is told the result is ready, reads it and closes the case.
    assert notifications(village, case_id) == ["result_ready"]
    report = ok(village.get(f"/api/cases/{case_id}/reports"))["items"][-1]
    assert report["status"] == "signed" and report["content"] == IMAGING_REPORT
    assert report["signed_by"]["display_name"] == "陈影像"
    assert report["signed_institution"]["name"] == "示范县人民医院"
    closed = ok(village.act(case_id, "close", note="已收到报告"))["case"]
    assert closed["status"] == "closed" and closed["closed_at"] and closed["actions"] == []

    events = ok(village.get(f"/api/cases/{case_id}/events"))["items"]
    assert [
        (e["action"], e["from_status"], e["to_status"], (e["actor"] or {}).get("display_name"))
        for e in events
    ] == [
        ("submit", "draft", "submitted", "王村医"),
        ("queue", "submitted", "queued", None),
        ("claim", "queued", "assigned", "陈影像"),
        ("start_review", "assigned", "in_review", "陈影像"),
        ("sign", "in_review", "reported", "陈影像"),
        ("close", "reported", "closed", "王村医"),
    ]
    times = [e["at"] for e in events]
    assert times == sorted(times) and events[-1]["note"] == "已收到报告"


def test_returned_for_more_information_then_resubmitted_to_the_same_reader(
    person: Callable[[str], Person],
) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    village.act(case_id, "submit")
    radiologist.act(case_id, "claim")

    refused = radiologist.act(case_id, "return")
    assert refused.status_code == 400 and refused.json()["field"] == "note"
    returned = ok(radiologist.act(case_id, "return", note="请补充侧位片"))["case"]
    assert returned["status"] == "returned"
    assert notifications(village, case_id) == ["returned"]
    assert ok(village.get(f"/api/cases/{case_id}"))["actions"] == ["cancel", "resubmit"]

    resubmitted = ok(village.act(case_id, "resubmit", note="已上传侧位片"))
    assert [e["action"] for e in resubmitted["events"]] == ["resubmit", "address"]
    assert resubmitted["case"]["status"] == "assigned"
    assert resubmitted["case"]["assigned_to"]["display_name"] == "陈影像"
    notes = [e["note"] for e in ok(village.get(f"/api/cases/{case_id}/events"))["items"]]
    assert "请补充侧位片" in notes and "已上传侧位片" in notes


def test_escalation_to_a_tertiary_expert_for_a_second_opinion(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, ecg, expert = person("village"), person("ecgreader"), person("expert")
    case_id = village.new_case("ecg", "urgent")
    village.act(case_id, "submit")
    ecg.act(case_id, "claim")
    ecg.act(case_id, "start_review")
    assert expert.get(f"/api/cases/{case_id}").status_code == 403  # not theirs yet

    escalated = ok(
        ecg.act(case_id, "escalate", expert=user_id(session_factory, "expert"), note="ST 段抬高？")
    )
    assert escalated["case"]["status"] == "escalated"
    assert escalated["case"]["escalated_to"]["display_name"] == "孙教授"
    assert notifications(expert, case_id) == ["escalated"]
    assert ok(expert.get(f"/api/cases/{case_id}"))["actions"] == ["answer", "sign", "write_report"]
    assert ecg.act(case_id, "sign").status_code == 403  # while escalated, the expert signs

    assert status_of(expert.act(case_id, "answer", note="急性下壁心梗，立即转诊")) == "in_review"
    report = {"rhythm": "窦性心律", "heart_rate": 92, "interpretation": "急性下壁心肌梗死"}
    assert ecg.put(f"/api/cases/{case_id}/report", {"content": report}).status_code == 200
    assert status_of(ecg.act(case_id, "sign")) == "reported"
    assert ok(expert.get(f"/api/cases/{case_id}"))["status"] == "reported"  # the expert keeps sight of it


def test_a_consult_is_addressed_to_a_named_expert(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, expert = person("village"), person("expert")
    case_id = village.new_case("consult")
    unroutable = village.act(case_id, "submit")
    assert unroutable.status_code == 400 and unroutable.json()["error"] == "expert_required"
    not_an_expert = village.act(case_id, "submit", expert=user_id(session_factory, "radiologist"))
    assert not_an_expert.status_code == 400 and not_an_expert.json()["field"] == "expert"

    addressed = ok(village.act(case_id, "submit", expert=user_id(session_factory, "expert")))
    assert [e["action"] for e in addressed["events"]] == ["submit", "address"]
    assert addressed["case"]["status"] == "assigned" and addressed["case"]["centre"] is None
    assert notifications(expert, case_id) == ["assigned"]
    assert status_of(expert.act(case_id, "start_review")) == "in_review"
    incomplete = expert.put(f"/api/cases/{case_id}/report", {"content": {"opinion": "建议上转"}})
    assert incomplete.status_code == 200
    unsigned = expert.act(case_id, "sign")
    assert unsigned.status_code == 409 and unsigned.json()["missing"] == ["plan"]
    expert.put(f"/api/cases/{case_id}/report", {"content": {"opinion": "建议上转", "plan": "预约心内科门诊"}})
    assert status_of(expert.act(case_id, "sign")) == "reported"


def test_the_dispatcher_assigns_to_a_reader_of_the_centre(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    second = add_reader(session_factory)
    village, dispatcher, other = person("village"), person("dispatcher"), person(second)
    case_id = village.new_case()
    village.act(case_id, "submit")

    wrong = dispatcher.act(case_id, "assign", assignee=user_id(session_factory, "ecgreader"))
    assert wrong.status_code == 400 and "reading centre" in wrong.json()["detail"]
    assigned = ok(dispatcher.act(case_id, "assign", assignee=user_id(session_factory, second)))["case"]
    assert assigned["assigned_to"]["display_name"] == "陈影像二"
    assert notifications(other, case_id) == ["assigned"]
    # Reassigning is the dispatcher's; a claim on an assigned case is refused with its state.
    again = person("radiologist").act(case_id, "claim")
    assert again.status_code == 409 and again.json()["state"] == "assigned"
    reassigned = ok(dispatcher.act(case_id, "assign", assignee=user_id(session_factory, "radiologist")))
    assert reassigned["case"]["assigned_to"]["display_name"] == "陈影像"
    assert reassigned["events"][0]["detail"]["previous"] == user_id(session_factory, second)


def test_cancel_before_the_report_but_never_after(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    draft = village.new_case()
    assert status_of(village.act(draft, "cancel", note="重复申请")) == "cancelled"
    assert village.act(draft, "submit").status_code == 409

    reported = village.new_case()
    village.act(reported, "submit")
    radiologist.act(reported, "claim")
    radiologist.act(reported, "start_review")
    radiologist.put(f"/api/cases/{reported}/report", {"content": IMAGING_REPORT})
    radiologist.act(reported, "sign")
    late = village.act(reported, "cancel")
    assert late.status_code == 409
    assert late.json()["error"] == "illegal_transition" and late.json()["state"] == "reported"
    assert "reported" in late.json()["detail"]


def test_illegal_transitions_get_409_naming_the_current_state(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    for action in ("close", "resubmit", "sign", "start_review"):
        refused = village.act(case_id, action)
        assert refused.status_code == 409, action
        assert refused.json()["state"] == "draft" and "draft" in refused.json()["detail"]
    village.act(case_id, "submit")
    assert village.act(case_id, "submit").json()["state"] == "queued"
    radiologist.act(case_id, "claim")
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": IMAGING_REPORT}).status_code == 409
    assert radiologist.act(case_id, "answer", note="x").status_code == 409
    assert ok(village.get(f"/api/cases/{case_id}"))["status"] == "assigned"  # nothing changed


def test_the_wrong_person_gets_403_and_the_refusal_is_audited(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, radiologist, township = person("village"), person("radiologist"), person("township")
    case_id = village.new_case()
    village.act(case_id, "submit")

    assert township.act(case_id, "cancel").status_code == 403  # another institution's case
    assert person("ecgreader").act(case_id, "claim").status_code == 403  # another centre's queue
    assert person("trainee").act(case_id, "claim").status_code == 403  # no clinical role at all
    not_yours = village.act(case_id, "claim")
    assert not_yours.status_code == 403 and "claim" in not_yours.json()["detail"]
    radiologist.act(case_id, "claim")
    second = person(add_reader(session_factory))
    assert second.act(case_id, "start_review").status_code == 403  # only the assignee reviews

    with session_factory() as db:
        refusals = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "access_denied", AuditEvent.resource_id == str(case_id)
            )
        ).all()
    assert {r.username for r in refusals} >= {"township", "ecgreader", "village", second.username}
    assert all(r.outcome == "denied" and r.patient_id for r in refusals)
    assert ok(village.get(f"/api/cases/{case_id}"))["status"] == "assigned"


def test_a_signed_report_is_never_overwritten_an_amendment_is_a_new_version(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    village.act(case_id, "submit")
    radiologist.act(case_id, "claim")
    radiologist.act(case_id, "start_review")
    radiologist.put(f"/api/cases/{case_id}/report", {"content": {"findings": "初稿"}})
    radiologist.put(f"/api/cases/{case_id}/report", {"content": IMAGING_REPORT})  # same draft, updated
    radiologist.act(case_id, "sign")
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": {"findings": "改"}}).status_code == 409

    refused = radiologist.act(case_id, "amend", content={"findings": "改"})
    assert refused.status_code == 400  # an amendment needs its reason
    amended_content = {**IMAGING_REPORT, "impression": "右下肺炎；另见左侧少量胸腔积液。"}
    amended = ok(radiologist.act(case_id, "amend", content=amended_content, reason="补充胸腔积液"))
    assert amended["case"]["status"] == "reported" and amended["events"][0]["detail"]["report_version"] == 2
    village.act(case_id, "close")
    radiologist.act(case_id, "amend", content=IMAGING_REPORT, reason="撤回胸腔积液描述")

    history = ok(village.get(f"/api/cases/{case_id}/reports"))["items"]
    assert [(r["version"], r["status"], r["amendment_reason"]) for r in history] == [
        (1, "signed", None),
        (2, "signed", "补充胸腔积液"),
        (3, "signed", "撤回胸腔积液描述"),
    ]
    assert history[0]["content"] == IMAGING_REPORT and history[1]["content"] == amended_content
    assert ok(village.get(f"/api/cases/{case_id}"))["status"] == "closed"  # amending keeps it closed
    assert notifications(village, case_id) == ["report_amended", "report_amended", "result_ready"]

    # Not even code that bypasses the API can change a signed version.
    with pytest.raises(SignedReportImmutable), transaction(session_factory) as db:
        first = db.scalar(select(Report).where(Report.case_id == case_id, Report.version == 1))
        assert first is not None
        assert first.status == ReportStatus.SIGNED
        first.content = {"findings": "篡改"}
    with session_factory() as db:
        assert (
            db.scalar(select(Report.content).where(Report.case_id == case_id, Report.version == 1))
            == IMAGING_REPORT
        )


def test_report_templates_per_kind(person: Callable[[str], Person]) -> None:
    reader = person("radiologist")
    keys = {
        kind: [f["key"] for f in ok(reader.get(f"/api/report-templates/{kind}"))["fields"]]
        for kind in ("imaging", "ecg", "pathology", "consult")
    }
    assert keys["imaging"] == ["findings", "impression"]
    assert keys["ecg"][0] == "rhythm" and "qtc_ms" in keys["ecg"] and keys["ecg"][-1] == "interpretation"
    assert keys["pathology"] == ["macroscopic", "microscopic", "diagnosis"]
    assert keys["consult"] == ["opinion", "plan"]
    assert ok(reader.get("/api/report-templates/imaging"))["fields"][0]["label_zh"] == "影像所见"
    assert reader.get("/api/report-templates/xray").status_code == 404


def test_bad_input_gets_a_clear_4xx(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    unknown = village.act(case_id, "teleport")
    assert unknown.status_code == 404 and "submit" in unknown.json()["detail"]
    assert village.act(case_id, "queue").status_code == 404  # routing is not a user's action
    assert village.act(999_999_999, "submit").status_code == 404
    wrong_type = village.act(case_id, "submit", expert="孙教授")
    assert wrong_type.status_code == 400 and wrong_type.json()["field"] == "expert"
    assert village.act(case_id, "submit", note="x" * 5000).status_code == 400
    not_json = village.client.post(
        f"/api/cases/{case_id}/actions/submit",
        content=b"{",
        headers={"X-CSRF-Token": village.csrf, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    village.act(case_id, "submit")
    radiologist.act(case_id, "claim")
    radiologist.act(case_id, "start_review")
    for content, field in (({"colour": "red"}, "content.colour"), ({"findings": 3}, "content.findings")):
        bad = radiologist.put(f"/api/cases/{case_id}/report", {"content": content})
        assert bad.status_code == 400 and bad.json()["field"] == field
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": "text"}).status_code == 400
    assert radiologist.act(case_id, "sign").json()["error"] == "no_draft"
    for query in ({"sort": "random"}, {"status": "lost"}, {"overdue": "maybe"}, {"institution": "x"}):
        assert radiologist.get("/api/worklist", **query).status_code == 400


def test_worklist_filters_and_sorts(person: Callable[[str], Person], village_id: int) -> None:
    village, radiologist = person("village"), person("radiologist")
    routine = village.new_case()
    urgent = village.new_case(urgency="urgent")
    for case_id in (routine, urgent):
        village.act(case_id, "submit")

    by_urgency = [c["id"] for c in ok(radiologist.get("/api/worklist", status="queued"))["items"]]
    assert by_urgency.index(urgent) < by_urgency.index(routine)
    by_waiting = [
        c["id"] for c in ok(radiologist.get("/api/worklist", status="queued", sort="waiting"))["items"]
    ]
    assert by_waiting.index(routine) < by_waiting.index(urgent)  # submitted first, waiting longest
    newest = ok(radiologist.get("/api/worklist", sort="created"))["items"]
    assert [c["id"] for c in newest][:2] == [urgent, routine]

    only_urgent = ok(
        radiologist.get("/api/worklist", urgency="urgent", kind="imaging", institution=village_id)
    )
    assert urgent in [c["id"] for c in only_urgent["items"]]
    assert {(c["urgency"], c["kind"], c["institution"]["id"]) for c in only_urgent["items"]} == {
        ("urgent", "imaging", village_id)
    }
    assert all(c["waiting_seconds"] is not None for c in only_urgent["items"])
    radiologist.act(urgent, "claim")
    mine = ok(radiologist.get("/api/worklist", mine="true"))["items"]
    assert urgent in [c["id"] for c in mine] and routine not in [c["id"] for c in mine]
    assert ok(person("ecgreader").get("/api/worklist", kind="imaging"))["items"] == []


def test_notifications_are_marked_read_by_their_recipient_only(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case()
    village.act(case_id, "submit")
    radiologist.act(case_id, "claim")
    radiologist.act(case_id, "return", note="影像不清晰，请重拍")
    notification = next(
        n for n in ok(village.get("/api/notifications"))["items"] if n["case"]["id"] == case_id
    )
    assert person("township").post(f"/api/notifications/{notification['id']}/read").status_code == 404
    assert ok(village.post(f"/api/notifications/{notification['id']}/read"))["read_at"]
    assert village.post(f"/api/notifications/{notification['id']}/read").status_code == 409
    unread = ok(village.get("/api/notifications", unread="true"))["items"]
    assert notification["id"] not in [n["id"] for n in unread]


def test_a_draft_is_seen_by_its_readers_only(person: Callable[[str], Person]) -> None:
    village, radiologist, admin = person("village"), person("radiologist"), person("admin")
    case_id = village.new_case()
    ok(village.act(case_id, "submit"))
    ok(radiologist.act(case_id, "claim"))
    ok(radiologist.act(case_id, "start_review"))
    draft = {"findings": "初步所见：待定。", "impression": ""}
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": draft}).status_code == 200

    assert [r["status"] for r in ok(radiologist.get(f"/api/cases/{case_id}/reports"))["items"]] == ["draft"]
    for outsider in (village, admin):  # the requester and the administrator see no half-written opinion
        assert ok(outsider.get(f"/api/cases/{case_id}/reports"))["items"] == []
    draft["impression"] = "未见明显异常。"
    assert radiologist.put(f"/api/cases/{case_id}/report", {"content": draft}).status_code == 200
    ok(radiologist.act(case_id, "sign"))
    signed = ok(village.get(f"/api/cases/{case_id}/reports"))["items"]
    assert [r["status"] for r in signed] == ["signed"] and signed[0]["content"] == draft


def test_an_urgent_case_is_due_after_the_configured_target(settings: Settings, demo: None) -> None:
    from dataclasses import replace
    from datetime import datetime, timedelta

    from server.api.app import create_app

    app = create_app(replace(settings, urgent_target_minutes=45))
    village = next(people(app))("village")
    case_id = village.new_case(urgency="urgent")
    case = ok(village.act(case_id, "submit"))["case"]
    due = datetime.fromisoformat(case["target_at"]) - datetime.fromisoformat(case["submitted_at"])
    assert due == timedelta(minutes=45)
