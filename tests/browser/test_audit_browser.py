"""The auditor's 审计日志 in Chromium, and the dispatcher's queue page, against the `live_server` fixture."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import SEEN, chromium, screenshot, signed_in_page

pytestmark = pytest.mark.browser


def test_auditor_reads_and_filters_the_audit_log(live_server) -> None:
    # A refusal to find: the trainee asks for the case list, which trainees may not see.
    trainee = live_server.platform.bearer("trainee")
    assert httpx.get(f"{live_server.url}/api/cases", headers=trainee).status_code == 403
    with chromium() as browser:
        page, errors = signed_in_page(browser, live_server.url, "auditor", live_server.password)
        page.goto(f"{live_server.url}/audit")
        expect(page.get_by_test_id("audit-row").first).to_be_visible(timeout=SEEN)
        assert page.get_by_test_id("audit-row").count() > 10

        page.get_by_test_id("audit-filter-outcome").fill("denied")
        page.get_by_test_id("audit-filter-username").fill("trainee")
        page.get_by_test_id("audit-apply").click()
        rows = page.get_by_test_id("audit-row")
        expect(rows.first).to_have_attribute("data-action", "access_denied", timeout=SEEN)
        outcomes = {rows.nth(i).get_attribute("data-outcome") for i in range(rows.count())}
        assert outcomes == {"denied"}
        expect(page.get_by_test_id("audit-table")).to_contain_text("拒绝")
        screenshot(page, "audit-log.png")
        assert errors == [], errors


def test_dispatcher_starts_from_the_queue(live_server) -> None:
    with chromium() as browser:
        page, errors = signed_in_page(browser, live_server.url, "dispatcher", live_server.password)
        page.goto(f"{live_server.url}/dispatch")
        expect(page.get_by_test_id("filter-status")).to_have_value("queued", timeout=SEEN)
        assert errors == [], errors
