"""Two-way referral in Chromium, with the village doctor, the county's referral office and a county doctor.

Against the `live_server` fixture. 王村医 finds a patient of the clinic by name on the new-request page,
opens a case (a consult would name its expert from the directory), has it read by the ECG centre —
the signed report prints as PDF — and refers the patient up to the county hospital with a letter; the patient is the
doctor's own, so the referral carries 两免三优先. 赵调度, who staffs the county hospital's referral
office, receives it from the incoming list (the name masked) and books a slot from the grassroots
reserve. 陈影像, a county doctor, must check the patient's identity before the record opens — a wrong
ID is refused — then reads the letter and the signed ECG report that travelled with it, records the arrival and the outpatient treatment, writes the treatment plan and
refers the patient down with a yellow follow-up plan. 王村医 reads the plan on the referral, receives
the patient back (which closes the loop of the referral up) and finds them on the follow-up list in
yellow, then re-triages them red.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.community.models import Institution, User
from server.core.clock import CHINA_TIME
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page

pytestmark = pytest.mark.browser

COUNTY = "示范县人民医院"
NATIONAL_ID = "11010519491231002X"  # the GB 11643 example: a valid check digit
OTHER_NATIONAL_ID = "440524188001010014"
PLAN = "阿司匹林100mg每日一次，阿托伐他汀20mg每晚一次；两周后复查心电图。"


def prepare(live_server, session_factory: sessionmaker[Session]) -> tuple[str, int]:
    """A patient of the village clinic with a national ID on record, a slot for tomorrow at the county
    hospital, and 赵调度 on its referral office: the patient's (unique) name and the slot's id."""
    url, admin = live_server.url, live_server.platform.bearer("admin")
    with session_factory() as db:
        county = db.scalar(select(Institution.id).where(Institution.name == COUNTY))
        dispatcher = db.scalar(select(User.id).where(User.username == "dispatcher"))
    added = httpx.post(
        f"{url}/api/institutions/{county}/referral-office", json={"user_id": dispatcher}, headers=admin
    )
    assert added.status_code in (201, 409), added.text  # 409: already on the office from an earlier run
    tomorrow = (datetime.now(CHINA_TIME) + timedelta(days=1)).date().isoformat()
    slot = httpx.post(
        f"{url}/api/referral-slots",
        json={"institution_id": county, "day": tomorrow, "kind": "outpatient", "capacity": 10,
              "department": f"心内科 {uuid.uuid4().hex[:6]}"},
        headers=admin,
    )  # fmt: skip
    assert slot.status_code == 201, slot.text
    name = "孙" + "".join(random.choice("建国秀兰志强海燕丽华明德") for _ in range(3))
    created = httpx.post(
        f"{url}/api/cases",
        json={"kind": "ecg", "urgency": "routine", "clinical_question": "高血压随访心电图",
              "patient": {"name": name, "sex": "M", "birth_date": "1949-12-31", "national_id": NATIONAL_ID}},
        headers=live_server.platform.bearer("village"),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return name, slot.json()["id"]


def sign_ecg(live_server, case_id: int) -> None:
    """周心电 of the ECG centre reads the submitted case and signs the report (through the API)."""
    url, reader = live_server.url, live_server.platform.bearer("ecgreader")
    for action in ("claim", "start_review"):
        done = httpx.post(f"{url}/api/cases/{case_id}/actions/{action}", json={}, headers=reader)
        assert done.status_code == 200, done.text
    content = {"rhythm": "窦性心律", "heart_rate": 78, "interpretation": "ST段压低（V4–V6），提示心肌缺血"}
    saved = httpx.put(f"{url}/api/cases/{case_id}/report", json={"content": content}, headers=reader)
    assert saved.status_code == 200, saved.text
    signed = httpx.post(f"{url}/api/cases/{case_id}/actions/sign", json={}, headers=reader)
    assert signed.status_code == 200, signed.text


def referral_row(page: Page, referral_id: int):
    return page.locator(f"[data-testid=referral-row][data-referral-id='{referral_id}']")


def test_a_patient_referred_up_treated_and_referred_back_to_follow_up(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    name, slot_id = prepare(live_server, session_factory)
    with chromium() as browser:
        doctor, doctor_errors = signed_in_page(browser, live_server.url, "village", live_server.password)
        office, office_errors = signed_in_page(browser, live_server.url, "dispatcher", live_server.password)
        upper, upper_errors = signed_in_page(browser, live_server.url, "radiologist", live_server.password)

        # The village doctor finds the patient by name and opens a case for them.
        doctor.get_by_test_id("nav-newRequest").click()
        doctor.get_by_test_id("patient-existing").check()
        doctor.get_by_test_id("patient-search").fill(name[:3])
        doctor.get_by_test_id("patient-search").fill(name)
        select = doctor.get_by_test_id("patient-select")
        expect(select).to_have_attribute("data-state", "ok", timeout=SEEN)
        expect(select.locator("option")).to_have_count(2)  # the prompt and the one patient
        expect(select).not_to_have_value("")
        expect(select.locator("option").nth(1)).to_contain_text("110" + "*" * 11 + "002X")
        doctor.get_by_test_id("request-kind").select_option("consult")  # a consult names its expert
        expect(doctor.get_by_test_id("request-expert-select")).to_contain_text("孙教授", timeout=SEEN)
        doctor.get_by_test_id("request-kind").select_option("ecg")
        doctor.get_by_test_id("request-question").fill("胸闷一周，心电图ST段压低")
        doctor.get_by_test_id("new-save-draft").click()
        doctor.wait_for_url("**/cases/*", timeout=SEEN)
        case_id = int(doctor.url.rstrip("/").rsplit("/", 1)[1])
        doctor.get_by_test_id("action-submit").click()
        expect(doctor.get_by_test_id("case-page")).to_have_attribute("data-status", "queued", timeout=SEEN)
        sign_ecg(live_server, case_id)
        doctor.reload()
        print_link = doctor.get_by_test_id("report-signed").get_by_test_id("report-print")
        expect(print_link).to_have_text("打印/下载PDF", timeout=SEEN)
        printed = doctor.request.get(live_server.url + print_link.get_attribute("href"))
        assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
        assert printed.body().startswith(b"%PDF")

        # ... and refers them up with a letter.
        doctor.get_by_test_id("case-refer").click()
        form = doctor.get_by_test_id("referral-form")
        form.get_by_test_id("refer-to").select_option(label=COUNTY)
        form.get_by_test_id("refer-reason").fill("反复胸闷一周，心电图提示ST段压低，需上级医院进一步诊治")
        form.get_by_test_id("refer-diagnosis").fill("胸闷待查：冠心病？")
        form.get_by_test_id("refer-history").fill("高血压10年，规律服药")
        form.get_by_test_id("refer-treatment").fill("硝酸甘油舌下含服后缓解")
        form.get_by_test_id("refer-submit").click()
        doctor.wait_for_url("**/referrals/*", timeout=SEEN)
        referral_id = int(doctor.url.rstrip("/").rsplit("/", 1)[1])
        record = doctor.get_by_test_id("referral-record")
        expect(record).to_have_attribute("data-state", "sent", timeout=SEEN)
        expect(record.get_by_test_id("priority-flag")).to_have_count(5)
        expect(record.get_by_test_id("letter-diagnosis")).to_contain_text("冠心病")
        screenshot(doctor, "referral-sent.png")

        # The referral office receives it from the incoming list and books from the grassroots reserve.
        office.get_by_test_id("nav-referralDesk").click()
        row = referral_row(office, referral_id)
        expect(row).to_have_attribute("data-state", "sent", timeout=SEEN)
        expect(row).to_contain_text(name[0] + "*")
        expect(row).not_to_contain_text(name)
        expect(row.get_by_test_id("priority-flags")).to_contain_text("两免三优先")
        row.get_by_test_id("referral-receive").click()
        expect(row).to_have_attribute("data-state", "received", timeout=SEEN)
        row.get_by_test_id("referral-book").click()
        option = office.locator(f"[data-testid=slot-option][data-slot-id='{slot_id}']")
        expect(option).to_have_attribute("data-available", "3", timeout=SEEN)
        option.locator("input").check()
        office.get_by_test_id("referral-dialog-confirm").click()
        expect(row).to_have_attribute("data-state", "booked", timeout=SEEN)
        expect(row.get_by_test_id("referral-slot")).to_contain_text("心内科")
        screenshot(office, "referral-office.png")

        # The county doctor checks the patient's identity before the record opens.
        upper.get_by_test_id("nav-referralDesk").click()
        referral_row(upper, referral_id).get_by_test_id("referral-open").click()
        expect(upper.get_by_test_id("identity-required")).to_be_visible(timeout=SEEN)
        dialog = upper.get_by_test_id("identity-dialog")
        dialog.get_by_test_id("identity-number").fill(OTHER_NATIONAL_ID)
        dialog.get_by_test_id("identity-dialog-confirm").click()
        expect(dialog.get_by_test_id("identity-dialog-error")).to_contain_text("不符", timeout=SEEN)
        expect(upper.get_by_test_id("referral-record")).to_have_count(0)
        dialog.get_by_test_id("identity-number").fill(NATIONAL_ID.lower())
        dialog.get_by_test_id("identity-dialog-confirm").click()
        record = upper.get_by_test_id("referral-record")
        expect(record).to_have_attribute("data-state", "booked", timeout=SEEN)
        expect(upper.get_by_test_id("identity-checked")).to_be_visible()
        expect(record.get_by_test_id("referral-patient")).to_contain_text(name)
        expect(record.get_by_test_id("letter-history")).to_contain_text("高血压10年")
        expect(record.get_by_test_id("material-report-interpretation")).to_contain_text("心肌缺血")
        expect(record.get_by_test_id("material-report-interpretation")).to_contain_text("心电图诊断")

        # Arrival, outpatient treatment, the treatment plan, and the referral down with a yellow plan.
        record.get_by_test_id("referral-arrive").click()
        expect(record).to_have_attribute("data-state", "arrived", timeout=SEEN)
        record.get_by_test_id("referral-treat").click()
        expect(record).to_have_attribute("data-state", "treated", timeout=SEEN)
        record.get_by_test_id("note-kind").select_option("treatment_plan")
        record.get_by_test_id("note-text").fill(PLAN)
        record.get_by_test_id("note-save").click()
        expect(record.get_by_test_id("referral-note")).to_have_attribute(
            "data-kind", "treatment_plan", timeout=SEEN
        )
        screenshot(upper, "referral-upper-doctor.png")
        down = record.get_by_test_id("refer-down-form")
        due = (datetime.now(CHINA_TIME) + timedelta(days=14)).date().isoformat()
        down.get_by_test_id("down-summary").fill("门诊冠脉CTA示前降支轻度狭窄，药物治疗，症状缓解")
        down.get_by_test_id("down-plan").fill("监测血压，每两周随访一次，胸痛加重即上转")
        down.get_by_test_id("down-dates").fill(due)
        down.get_by_test_id("down-colour-yellow").check()
        down.get_by_test_id("down-submit").click()
        upper.wait_for_url("**/referrals/*", timeout=SEEN)
        down_record = upper.get_by_test_id("referral-record")
        expect(down_record).to_have_attribute("data-direction", "down", timeout=SEEN)
        down_id = int(upper.url.rstrip("/").rsplit("/", 1)[1])
        assert down_id != referral_id
        expect(down_record.get_by_test_id("follow-up-plan").get_by_test_id("triage-badge")).to_have_attribute(
            "data-colour", "yellow"
        )

        # The village doctor reads the treatment plan on the referral up, without any identity check.
        doctor.reload()
        expect(doctor.get_by_test_id("referral-note")).to_contain_text(PLAN, timeout=SEEN)
        expect(doctor.get_by_test_id("identity-required")).to_have_count(0)

        # ... receives the patient back: the referral up's loop closes, the patient is on the follow-up list.
        doctor.get_by_test_id("nav-referrals").click()
        back = referral_row(doctor, down_id)
        expect(back).to_have_attribute("data-direction", "down", timeout=SEEN)
        back.get_by_test_id("referral-receive").click()
        expect(back).to_have_attribute("data-state", "received", timeout=SEEN)
        doctor.reload()
        expect(referral_row(doctor, referral_id)).to_have_attribute("data-state", "closed", timeout=SEEN)

        doctor.get_by_test_id("nav-followUp").click()
        entry = doctor.locator(f"[data-testid=follow-up-row][data-referral-id='{down_id}']")
        expect(entry).to_have_attribute("data-colour", "yellow", timeout=SEEN)
        expect(entry).to_contain_text(name)
        expect(entry.get_by_test_id("follow-up-next")).to_have_text(due)
        expect(doctor.locator("[data-testid=triage-meaning][data-colour=yellow]")).to_contain_text(
            "县医院全专门诊"
        )
        entry.get_by_test_id("colour-open").click()
        colour = doctor.get_by_test_id("colour-dialog")
        # One change so far: the triage given at discharge.
        expect(colour.get_by_test_id("colour-change")).to_have_count(1, timeout=SEEN)
        colour.get_by_test_id("colour-red").check()
        colour.get_by_test_id("colour-reason").fill("血压控制不佳，胸痛发作两次")
        colour.get_by_test_id("colour-dialog-confirm").click()
        expect(entry).to_have_attribute("data-colour", "red", timeout=SEEN)
        screenshot(doctor, "referral-follow-up.png")

        assert doctor_errors == [] and office_errors == [] and upper_errors == []
