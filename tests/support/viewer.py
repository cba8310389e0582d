"""The DICOM viewer in Chromium: signing in as the radiologist, its ready state and its test hook."""

from __future__ import annotations

from playwright.sync_api import Page

READY = "[data-testid=viewer-status][data-state=ready]"


def viewer_api(page: Page, call: str):
    return page.evaluate(f"window.__viewer.{call}")


def sign_in(page: Page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_test_id("login-username").fill("radiologist")
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("app-shell").wait_for(timeout=15000)
