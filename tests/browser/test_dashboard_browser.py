"""The administrator's 数据驾驶舱 in Chromium: the figures shown are the API's, each breakdown is drawn.

Against the `live_server` fixture. The page is compared with `GET /api/dashboard` for the same month,
indicator by indicator: the number and its unit, the definition, the target of the two rates that have
one (县域内就诊率 90%, 基层服务占比 65%); every breakdown has a chart drawn on a canvas; in English
the definitions are the API's English ones; choosing
another month reloads the figures; the CSV link downloads the month.
"""

from __future__ import annotations

import csv
import io

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from server.billing.rules import month_of
from server.core.orm import utcnow
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page

pytestmark = pytest.mark.browser

UNITS = {
    "percent": "{}%",
    "minutes": "{} 分钟",
    "person_times": "{} 人次",
    "person_days": "{} 人天",
    "count": "{}",
}


# Whether any pixel of a canvas is not transparent: the chart was painted, not merely created.
PAINTED = """canvas => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
}"""


def shown(value: float | None, unit: str) -> str:
    """The number as the page writes it (JavaScript's shortest form, which `:g` matches at these sizes)."""
    return "—" if value is None else UNITS[unit].format(f"{value:g}")


def test_the_dashboard_shows_the_apis_figures_with_charts(live_server) -> None:
    month = month_of(utcnow())
    answer = httpx.get(
        f"{live_server.url}/api/dashboard",
        params={"month": month},
        headers=live_server.platform.bearer("admin"),
    )
    assert answer.status_code == 200, answer.text
    board = answer.json()
    with chromium() as browser:
        page, errors = signed_in_page(browser, live_server.url, "admin", live_server.password)
        page.get_by_test_id("nav-dashboard").click()
        expect(page.get_by_test_id("indicators")).to_have_attribute("data-month", month, timeout=SEEN)
        expect(page.get_by_test_id("indicator")).to_have_count(len(board["indicators"]))
        for indicator in board["indicators"]:
            card = page.locator(f"[data-testid=indicator][data-key='{indicator['key']}']")
            expect(card.get_by_test_id("indicator-value")).to_have_text(
                shown(indicator["value"], indicator["unit"])
            )
            expect(card.get_by_test_id("indicator-definition")).to_have_text(indicator["definition"]["zh-CN"])
            expect(card).to_contain_text(indicator["name"]["zh-CN"])
            charts = card.get_by_test_id("indicator-chart")
            expect(charts).to_have_count(len(indicator["series"]))
            for index in range(len(indicator["series"])):
                expect(charts.nth(index)).to_have_attribute("data-state", "drawn", timeout=SEEN)
                expect(charts.nth(index).locator("canvas")).to_have_count(1)
        targets = {i["key"]: i["target"] for i in board["indicators"]}
        assert targets["county_visit_rate"] == 90 and targets["grassroots_service_share"] == 65
        for key, target in (("county_visit_rate", "90%"), ("grassroots_service_share", "65%")):
            card = page.locator(f"[data-testid=indicator][data-key='{key}']")
            expect(card.get_by_test_id("indicator-target")).to_have_text(f"目标：≥ {target}")
        screenshot(page, "dashboard.png")

        canvas = page.get_by_test_id("indicator-chart").first.locator("canvas")
        painted = canvas.evaluate(PAINTED)
        assert painted

        # In English, the same figures carry their English names and definitions.
        page.get_by_test_id("lang-switch").click()
        first = board["indicators"][0]
        card = page.locator(f"[data-testid=indicator][data-key='{first['key']}']")
        expect(card.get_by_test_id("indicator-definition")).to_have_text(first["definition"]["en"])
        expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")
        page.get_by_test_id("lang-switch").click()

        page.get_by_test_id("dashboard-month").fill("2019-02")
        expect(page.get_by_test_id("indicators")).to_have_attribute("data-month", "2019-02", timeout=SEEN)

        with page.expect_download() as download_info:
            page.get_by_test_id("dashboard-csv").click()
        assert download_info.value.suggested_filename == "dashboard-2019-02.csv"
        rows = list(csv.reader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
        assert rows[0][2:] == ["月份 month", "2019-02"]
        assert errors == []
