"""Share links in Chromium: a radiologist makes one, an outside expert with no account opens the CT, it is revoked.

Runs against the `live_server` fixture (API server and worker processes; the village doctor's imaging
case carries a 30-slice CT). The expert's browser is a fresh context: no cookies, no session.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page

from tests.support.browser import chromium
from tests.support.paths import ARTIFACTS
from tests.support.viewer import READY, sign_in, viewer_api

pytestmark = pytest.mark.browser


def share_row(page: Page):
    return page.get_by_test_id("share-row").first  # newest first


def test_outside_expert_opens_a_share_link_until_it_is_revoked(live_server) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        reader = browser.new_page(viewport={"width": 1400, "height": 900})
        sign_in(reader, live_server.url, live_server.password)
        reader.goto(f"{live_server.url}/cases/{live_server.case_with_ct}/images")
        reader.get_by_test_id("share-form").wait_for(timeout=15000)
        reader.get_by_test_id("share-study").select_option(live_server.study_uid)
        reader.get_by_test_id("share-scope").select_option("read")
        reader.get_by_test_id("share-days").fill("3")
        reader.get_by_test_id("share-recipient").fill("省人民医院 孙教授")
        reader.get_by_test_id("share-create").click()
        url = reader.get_by_test_id("share-url").input_value(timeout=10000)
        assert "/share/" in url and url.startswith(live_server.url)
        # The list reloads after the link is shown: wait until the new link heads it (links made by
        # other tests on this case, e.g. a withdrawn one, headed it until then).
        new_id = reader.get_by_test_id("share-url").get_attribute("data-link-id")
        reader.wait_for_function(
            f"document.querySelector('[data-testid=share-row]')?.dataset.linkId === '{new_id}'", timeout=10000
        )
        assert share_row(reader).get_attribute("data-state") == "active"
        reader.screenshot(path=str(ARTIFACTS / "share-created.png"))

        expert_context = browser.new_context(viewport={"width": 1400, "height": 900})
        assert expert_context.cookies() == []
        expert = expert_context.new_page()
        errors: list[str] = []
        expert.on("pageerror", lambda error: errors.append(str(error)))
        expert.goto(url)
        banner = expert.get_by_test_id("share-banner")
        banner.wait_for(timeout=15000)
        assert banner.get_attribute("data-scope") == "read"
        assert "有效期至" in expert.get_by_test_id("share-expiry").inner_text()
        assert "外部分享链接" in banner.inner_text() and "孙教授" in banner.inner_text()
        expert.locator(READY).wait_for(timeout=60000)
        assert viewer_api(expert, "imageCount()") == 30
        assert expert.get_by_test_id("series-item").count() == 1
        assert expert.get_by_test_id("save-annotations").count() == 0  # nothing to save to without an account
        # The thumbnail, too, came through the link.
        expert.wait_for_function(
            "document.querySelector('[data-testid=series-item] img.series-thumb')?.naturalWidth > 0",
            timeout=10000,
        )
        expert.screenshot(path=str(ARTIFACTS / "share-viewer.png"))
        assert errors == [], errors

        # Every request through the link is counted: 30 frames, plus the link, search, metadata and thumbnail.
        # The viewer may still be fetching full-fidelity frames, so look again until they are all in.
        deadline = time.monotonic() + 20
        while True:
            reader.reload()
            share_row(reader).wait_for(timeout=10000)
            uses = int(share_row(reader).locator("td").nth(6).inner_text())
            if uses > 30 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert uses > 30
        reader.once("dialog", lambda dialog: dialog.accept())
        share_row(reader).get_by_test_id("share-revoke").click()
        reader.wait_for_function(
            "document.querySelector('[data-testid=share-row]')?.dataset.state === 'revoked'", timeout=10000
        )

        expert.reload()
        refused = expert.get_by_test_id("share-refused")
        refused.wait_for(timeout=15000)
        assert "已被撤销" in refused.inner_text()
        assert expert.get_by_test_id("viewer").count() == 0
        expert.screenshot(path=str(ARTIFACTS / "share-revoked.png"))
