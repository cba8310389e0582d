"""One case end to end in Chromium: the village doctor requests, the radiologist reports, the doctor reads.

Against the `live_server` fixture (the API server and a worker as processes, the demo community). The
village doctor (王村医) fills in the new-request page for a new patient, attaches a generated CT series
through the file picker (uploaded over tus), and submits. The radiologist (陈影像), signed in in a second
browser context with the worklist already open, sees the case arrive through the worklist stream
without the page being reloaded, claims it, writes findings and impression, and signs. The village
doctor's case list, also open all along, shows the result notification (结果反馈) by itself, and the case
page shows the signed report with its signer. Screenshots of each step go to test-artifacts/.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import chromium
from tests.support.dicom_factory import ct_series
from tests.support.paths import ARTIFACTS

pytestmark = pytest.mark.browser

SLICES = 3
FINDINGS = "右肺下叶见斑片状磨玻璃影，边界模糊；纵隔未见肿大淋巴结。"
IMPRESSION = "右肺下叶炎症可能，建议抗感染治疗后复查。"
# Playwright waits this long (ms) for what a user would see without doing anything.
SEEN = 15_000


def signed_in_page(browser: Browser, base_url: str, username: str, password: str) -> tuple[Page, list[str]]:
    """A page in its own browser context (own cookies), signed in; and the page's script errors."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("app-shell").wait_for(timeout=SEEN)
    return page, errors


def screenshot(page: Page, name: str) -> None:
    """The whole page, from the top (a full-page shot taken scrolled down repeats the sticky top bar)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def dicom_files(folder: Path) -> list[Path]:
    """A small CT series of its own (fresh UIDs, so no other test's study is reused), as files."""
    series = ct_series(
        n_slices=SLICES, rows=128, cols=128, seed=uuid.uuid4().int % 10**6, patient_name="李^秀兰"
    )
    paths = []
    for index, data in enumerate(series, start=1):
        path = folder / f"CT{index:04d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_a_case_from_request_to_signed_report(live_server, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    files = dicom_files(tmp_path)
    url = live_server.url
    with chromium() as browser:
        doctor, doctor_errors = signed_in_page(browser, url, "village", live_server.password)
        reader, reader_errors = signed_in_page(browser, url, "radiologist", live_server.password)

        # The radiologist's worklist is open and live before the case exists; the marker on `window`
        # survives only as long as the page is not reloaded.
        reader.get_by_test_id("nav-worklist").click()
        expect(reader.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live", timeout=SEEN)
        reader.evaluate("window.__notReloaded = true")

        # The village doctor's request: a new patient, an urgent imaging question, three CT files.
        doctor.get_by_test_id("nav-newRequest").click()
        doctor.get_by_test_id("patient-name").fill("李秀兰")
        doctor.get_by_test_id("patient-sex").select_option("F")
        doctor.get_by_test_id("patient-birth-date").fill("1961-04-09")
        doctor.get_by_test_id("patient-national-id").fill("11010119610409102X")
        doctor.get_by_test_id("request-kind").select_option("imaging")
        doctor.get_by_test_id("request-question").fill("发热咳嗽五天，胸部CT请上级判读，排除肺炎。")
        doctor.get_by_test_id("urgency-urgent").check()
        expect(doctor.get_by_test_id("urgency-target")).to_contain_text("2 小时")
        doctor.get_by_test_id("upload-input").set_input_files([str(p) for p in files])
        expect(doctor.locator("[data-testid=upload-file][data-state=ready]")).to_have_count(
            SLICES, timeout=SEEN
        )
        screenshot(doctor, "case-new.png")

        doctor.get_by_test_id("new-submit").click()
        doctor.wait_for_url("**/cases/*", timeout=30_000)
        case_id = int(doctor.url.rstrip("/").rsplit("/", 1)[1])
        page = doctor.get_by_test_id("case-page")
        expect(page).to_have_attribute("data-status", "queued", timeout=SEEN)
        expect(doctor.get_by_test_id("urgent-badge")).to_be_visible()
        expect(doctor.get_by_test_id("case-patient-id")).to_have_text("110" + "*" * 11 + "102X")
        timeline = doctor.get_by_test_id("timeline-item")
        expect(timeline.first).to_have_attribute("data-action", "submit")
        expect(timeline.nth(1)).to_have_attribute("data-action", "queue")
        study = doctor.get_by_test_id("case-study")
        expect(study).to_have_count(1)
        expect(study).to_contain_text(f"{SLICES}")

        # The doctor goes back to the case list and waits there for the result.
        doctor.get_by_test_id("nav-myCases").click()
        row = doctor.locator(f"[data-testid=case-row][data-case-id='{case_id}']")
        expect(row.locator("[data-status]")).to_have_attribute("data-status", "queued")

        # The case arrives on the radiologist's worklist by itself.
        arrived = reader.locator(f"[data-testid=worklist-row][data-case-id='{case_id}']")
        expect(arrived).to_be_visible(timeout=SEEN)
        expect(arrived).to_have_attribute("data-status", "queued")
        expect(arrived.get_by_test_id("urgent-badge")).to_be_visible()
        assert reader.evaluate("window.__notReloaded") is True, "the worklist page was reloaded"
        screenshot(reader, "worklist-live.png")

        # Claim, start reading, write the report, sign after confirming.
        arrived.get_by_test_id("claim").click()
        reader.wait_for_url(f"**/cases/{case_id}", timeout=SEEN)
        expect(reader.get_by_test_id("case-page")).to_have_attribute("data-status", "assigned", timeout=SEEN)
        expect(reader.get_by_test_id("case-assignee")).to_have_text("陈影像")
        reader.get_by_test_id("action-start_review").click()
        expect(reader.get_by_test_id("case-page")).to_have_attribute("data-status", "in_review", timeout=SEEN)
        reader.get_by_test_id("report-field-findings").fill(FINDINGS)
        reader.get_by_test_id("report-sign").click()
        expect(reader.get_by_test_id("report-error")).to_contain_text("诊断意见")  # impression still missing
        reader.get_by_test_id("report-field-impression").fill(IMPRESSION)
        reader.get_by_test_id("report-save").click()
        expect(reader.get_by_test_id("report-saved")).to_be_visible(timeout=SEEN)
        reader.get_by_test_id("report-sign").click()
        dialog = reader.get_by_test_id("sign-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_test_id("sign-dialog-confirm").click()
        signed = reader.get_by_test_id("report-signed")
        expect(signed).to_have_attribute("data-version", "1", timeout=SEEN)
        expect(reader.get_by_test_id("case-page")).to_have_attribute("data-status", "reported")
        expect(signed.get_by_test_id("report-value-impression")).to_contain_text(IMPRESSION)
        expect(reader.get_by_test_id("report-editor")).to_have_count(0)
        screenshot(reader, "report-signed.png")

        # The doctor's case list, untouched since, shows the result and its notification.
        expect(row.locator("[data-status]")).to_have_attribute("data-status", "reported", timeout=SEEN)
        notice = doctor.locator(
            f"[data-testid=notification-item][data-kind=result_ready][data-case-id='{case_id}']"
        )
        expect(notice).to_be_visible(timeout=SEEN)
        expect(notice).to_contain_text("结果反馈")
        expect(row.get_by_test_id("case-notice")).to_have_attribute("data-kind", "result_ready")
        screenshot(doctor, "requester-notice.png")
        notice.get_by_test_id("notification-open").click()
        doctor.wait_for_url(f"**/cases/{case_id}")
        report = doctor.get_by_test_id("report-signed")
        expect(report.get_by_test_id("report-value-findings")).to_contain_text(FINDINGS)
        expect(report.get_by_test_id("report-value-impression")).to_contain_text(IMPRESSION)
        expect(report.get_by_test_id("report-signer")).to_contain_text("陈影像")
        expect(report.get_by_test_id("report-signer")).to_contain_text("示范县人民医院")
        expect(doctor.get_by_test_id("report-editor")).to_have_count(0)
        expect(doctor.locator("[data-testid=timeline-item][data-action=sign]")).to_have_count(1)
        screenshot(doctor, "requester-report.png")

        # Having read it, the doctor's notification is gone from the list.
        doctor.get_by_test_id("nav-myCases").click()
        expect(row).to_be_visible()
        expect(doctor.locator(f"[data-testid=notification-item][data-case-id='{case_id}']")).to_have_count(0)
        assert doctor_errors == [] and reader_errors == [], (doctor_errors, reader_errors)


def test_a_returned_case_is_completed_and_resubmitted_and_its_report_amended(
    live_server, tmp_path: Path
) -> None:
    """退回补充 with a note, more images from the case page, resubmission; then an amendment with a reason."""
    url = live_server.url
    village = live_server.platform.bearer("village")
    created = httpx.post(
        f"{url}/api/cases",
        json={
            "kind": "imaging",
            "clinical_question": "腰痛一月，腰椎正位片",
            "patient": {"name": "周建国", "sex": "M"},
        },
        headers=village,
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    submitted = httpx.post(f"{url}/api/cases/{case_id}/actions/submit", json={}, headers=village)
    assert submitted.status_code == 200, submitted.text

    with chromium() as browser:
        doctor, doctor_errors = signed_in_page(browser, url, "village", live_server.password)
        reader, reader_errors = signed_in_page(browser, url, "radiologist", live_server.password)
        status = reader.get_by_test_id("case-page")

        # The radiologist takes the case and returns it: the lateral view is missing.
        reader.goto(f"{url}/cases/{case_id}")
        reader.get_by_test_id("action-claim").click()
        expect(status).to_have_attribute("data-status", "assigned", timeout=SEEN)
        reader.get_by_test_id("action-return").click()
        dialog = reader.get_by_test_id("action-dialog")
        dialog.get_by_test_id("action-dialog-confirm").click()  # the note is required: nothing happens
        expect(dialog).to_be_visible()
        dialog.get_by_test_id("action-note").fill("请补充腰椎侧位片。")
        dialog.get_by_test_id("action-dialog-confirm").click()
        expect(status).to_have_attribute("data-status", "returned", timeout=SEEN)

        # The village doctor is told, reads the note, adds the images and resubmits.
        doctor.get_by_test_id("nav-myCases").click()
        notice = doctor.locator(
            f"[data-testid=notification-item][data-kind=returned][data-case-id='{case_id}']"
        )
        expect(notice).to_contain_text("退回补充", timeout=SEEN)
        notice.get_by_test_id("notification-open").click()
        returned = doctor.locator("[data-testid=timeline-item][data-action=return]")
        expect(returned).to_contain_text("请补充腰椎侧位片。")
        expect(doctor.get_by_test_id("case-studies-empty")).to_be_visible()
        doctor.get_by_test_id("upload-input").set_input_files([str(p) for p in dicom_files(tmp_path)])
        expect(doctor.locator("[data-testid=upload-file][data-state=ready]")).to_have_count(
            SLICES, timeout=SEEN
        )
        doctor.get_by_test_id("upload-start").click()
        expect(doctor.locator("[data-testid=upload-file][data-state=done]")).to_have_count(
            SLICES, timeout=SEEN
        )
        expect(doctor.get_by_test_id("upload-overall")).to_have_attribute("data-percent", "100")
        expect(doctor.get_by_test_id("case-study")).to_have_count(1, timeout=SEEN)
        doctor.get_by_test_id("action-resubmit").click()
        doctor.get_by_test_id("action-dialog").get_by_test_id("action-dialog-confirm").click()
        # Back to the radiologist who returned it.
        expect(doctor.get_by_test_id("case-page")).to_have_attribute("data-status", "assigned", timeout=SEEN)
        expect(doctor.get_by_test_id("case-assignee")).to_have_text("陈影像")

        # The radiologist's open case page follows by itself; the report is signed, then amended.
        expect(status).to_have_attribute("data-status", "assigned", timeout=SEEN)
        reader.get_by_test_id("action-start_review").click()
        expect(status).to_have_attribute("data-status", "in_review", timeout=SEEN)
        reader.get_by_test_id("report-field-findings").fill("腰椎生理曲度变直，L4/5 椎间隙变窄。")
        reader.get_by_test_id("report-field-impression").fill("腰椎退行性变。")
        reader.get_by_test_id("report-sign").click()
        reader.get_by_test_id("sign-dialog").get_by_test_id("sign-dialog-confirm").click()
        expect(reader.get_by_test_id("report-signed")).to_have_attribute("data-version", "1", timeout=SEEN)
        reader.get_by_test_id("amend-open").click()
        editor = reader.locator("[data-testid=report-editor][data-mode=amend]")
        editor.get_by_test_id("report-field-impression").fill("腰椎退行性变，L4/5 椎间盘突出可能，建议 MRI。")
        editor.get_by_test_id("amend-submit").click()
        expect(editor.get_by_test_id("report-error")).to_contain_text("修订原因")
        editor.get_by_test_id("amend-reason").fill("补充椎间盘评估")
        editor.get_by_test_id("amend-submit").click()
        reader.get_by_test_id("sign-dialog").get_by_test_id("sign-dialog-confirm").click()
        expect(reader.get_by_test_id("report-signed")).to_have_attribute("data-version", "2", timeout=SEEN)

        # The doctor's case page shows the amended version, its reason, and the first one in the history.
        current = doctor.get_by_test_id("report-signed")
        expect(current).to_have_attribute("data-version", "2", timeout=SEEN)
        expect(current).to_contain_text("补充椎间盘评估")
        expect(current.get_by_test_id("report-value-impression")).to_contain_text("建议 MRI")
        earlier = doctor.locator("[data-testid=report-version][data-version='1']")
        earlier.locator("summary").click()
        expect(earlier.get_by_test_id("report-value-impression").locator("dd")).to_have_text("腰椎退行性变。")
        screenshot(doctor, "requester-amended.png")
        assert doctor_errors == [] and reader_errors == [], (doctor_errors, reader_errors)
