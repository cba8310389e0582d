"""Fees and settlement in Chromium: an agreement, a month's statement submitted, checked, invoiced, as CSV.

Against the `live_server` fixture. One imaging read by the county's imaging centre for 青山村卫生室 is
billed in a past month of its own (written to the database, as the platform bills a signed read: at the
catalogue price of the county tier, 30.00 元). The administrator records a rebate agreement (10%, under
a 20% baseline cost rate measured long ago, so its six-month review is due); the village doctor submits
the unit's statement for that month and sees the centre pays back 3.00 元; the administrator checks and
invoices it, and the CSV link downloads the same figures.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.billing.models import BillableItem, PriceTier
from server.community.models import Institution, User
from server.core.clock import CHINA_TIME
from server.core.db import transaction
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page

pytestmark = pytest.mark.browser

CODE = "TM-IMAGING-READ"
COUNTY, VILLAGE = "示范县人民医院", "青山村卫生室"


def bill_a_read(live_server, session_factory: sessionmaker[Session]) -> str:
    """A new case of the village clinic, read and billed on the 15th of a past month no other test uses."""
    month = f"{random.randint(2001, 2019)}-{random.randint(1, 12):02d}"
    village = live_server.platform.bearer("village")
    created = httpx.post(
        f"{live_server.url}/api/cases",
        json={
            "kind": "imaging",
            "urgency": "routine",
            "clinical_question": "结算测试：胸片",
            "patient": {"name": "钱结算", "sex": "M"},
        },
        headers=village,
    )
    assert created.status_code == 201, created.text
    with transaction(session_factory) as db:
        county = db.scalar(select(Institution).where(Institution.name == COUNTY))
        assert county is not None
        member = db.scalar(select(Institution).where(Institution.name == VILLAGE))
        assert member is not None
        reader = db.scalar(select(User).where(User.username == "radiologist"))
        assert reader is not None
        db.add(
            BillableItem(
                case_id=created.json()["id"],
                service_code=CODE,
                service_name="远程影像诊断",
                tier=PriceTier.SECONDARY,
                price_fen=3000,
                provider_institution_id=county.id,
                member_institution_id=member.id,
                performed_by_id=reader.id,
                completed_at=datetime.strptime(f"{month}-15 10:00", "%Y-%m-%d %H:%M").replace(
                    tzinfo=CHINA_TIME
                ),
            )
        )
    return month


def statement_of(page: Page, month: str):
    page.get_by_test_id("statement-month").fill(month)
    return page.get_by_test_id("statement").filter(has_text=COUNTY)


def test_an_agreement_and_a_statement_from_submission_to_invoice(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    month = bill_a_read(live_server, session_factory)
    with chromium() as browser:
        admin, admin_errors = signed_in_page(browser, live_server.url, "admin", live_server.password)
        doctor, doctor_errors = signed_in_page(browser, live_server.url, "village", live_server.password)

        # The administrator records the agreement; a rate above the baseline is refused before sending.
        admin.get_by_test_id("nav-billing").click()
        expect(admin.get_by_test_id("catalogue-table")).to_contain_text("远程影像诊断")
        expect(
            admin.locator(f"[data-testid=price-row][data-code='{CODE}'][data-tier=secondary]")
        ).to_have_attribute("data-fen", "3000")
        form = admin.get_by_test_id("agreement-form")
        form.get_by_test_id("agreement-provider").select_option(label=COUNTY)
        form.get_by_test_id("agreement-member").select_option(label=VILLAGE)
        form.get_by_test_id("agreement-code").select_option(CODE)
        form.get_by_test_id("agreement-rule").select_option("rebate")
        form.get_by_test_id("agreement-rate").fill("30")
        form.get_by_test_id("agreement-baseline").fill("20")
        form.get_by_test_id("agreement-recorded-on").fill("2020-01-01")
        form.get_by_test_id("agreement-save").click()
        expect(form.get_by_test_id("agreement-error")).to_contain_text("不得超过基线成本率")
        form.get_by_test_id("agreement-rate").fill("10")
        form.get_by_test_id("agreement-save").click()
        expect(form.get_by_test_id("agreement-saved")).to_be_visible(timeout=SEEN)
        row = (
            admin.get_by_test_id("agreement-row")
            .filter(has_text=COUNTY)
            .filter(has_text=VILLAGE)
            .filter(has_text=CODE)
        )
        expect(row).to_have_attribute("data-rate-bp", "1000", timeout=SEEN)
        expect(row).to_contain_text("返款")
        expect(row.get_by_test_id("agreement-review-due")).to_be_visible()

        # The village doctor submits the unit's statement for the month: the centre pays back 10%.
        doctor.get_by_test_id("nav-statements").click()
        expect(statement_of(doctor, month)).to_have_count(0, timeout=SEEN)
        doctor.get_by_test_id("statement-submit").click()
        expect(doctor.get_by_test_id("statement-submitted")).to_be_visible(timeout=SEEN)
        sheet = doctor.get_by_test_id("statement").filter(has_text=COUNTY)
        expect(sheet).to_have_attribute("data-state", "submitted", timeout=SEEN)
        line = sheet.locator(f"[data-testid=statement-line][data-code='{CODE}']")
        expect(line.get_by_test_id("line-count")).to_have_text("1")
        expect(line.get_by_test_id("line-gross")).to_have_text("¥30.00")
        expect(line.get_by_test_id("line-rule")).to_have_text("返款")
        expect(line.get_by_test_id("line-rate")).to_have_text("10%")
        expect(sheet.get_by_test_id("statement-net")).to_have_attribute("data-fen", "-300")
        expect(sheet.get_by_test_id("statement-net")).to_contain_text("¥-3.00")
        expect(sheet.get_by_test_id("statement-net")).to_contain_text("中心返还")
        expect(sheet.get_by_test_id("statement-review-due")).to_be_visible()
        expect(sheet.get_by_test_id("statement-check")).to_have_count(0)  # checking is the office's
        screenshot(doctor, "billing-statement-submitted.png")

        # The administrator checks and invoices it; after checking, the unit can no longer resubmit.
        admin.reload()
        sheet = statement_of(admin, month).filter(has_text=VILLAGE)
        expect(sheet).to_have_attribute("data-state", "submitted", timeout=SEEN)
        sheet.get_by_test_id("statement-check").click()
        expect(sheet).to_have_attribute("data-state", "checked", timeout=SEEN)
        doctor.get_by_test_id("statement-submit").click()
        expect(doctor.get_by_test_id("statement-submit-error")).to_contain_text("已审核或开票", timeout=SEEN)
        sheet.get_by_test_id("statement-invoice").click()
        expect(sheet).to_have_attribute("data-state", "invoiced", timeout=SEEN)
        expect(sheet.get_by_test_id("statement-state")).to_have_text("已开票")
        screenshot(admin, "billing-admin.png")

        with admin.expect_download() as download_info:
            sheet.get_by_test_id("statement-csv").click()
        download = download_info.value
        assert download.suggested_filename.startswith(f"statement-{month}-")
        rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
        assert rows[0] == ["月份 month", month, "状态 state", "invoiced"]
        assert rows[1] == ["成员单位 member", VILLAGE, "服务方 provider", COUNTY]
        assert rows[3] == [CODE, "远程影像诊断", "1", "30.00", "rebate", "10", "20", "-3.00"]
        assert rows[-1][-1] == "-3.00"

        assert admin_errors == [] and doctor_errors == []
