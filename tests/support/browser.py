"""Debian's Chromium driven by Playwright (Playwright's own browser download cannot work here)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.paths import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium(extra_flags: list[str] | None = None) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (./run test does it as root)", pytrace=False
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS + (extra_flags or []))
        try:
            yield browser
        finally:
            browser.close()


# Playwright waits this long (ms) for what a user would see without doing anything.
SEEN = 15_000


def signed_in_page(browser: Browser, base_url: str, username: str, password: str) -> tuple[Page, list[str]]:
    """A page in its own browser context (own cookies), signed in; and the page's script errors."""
    page = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="zh-CN", accept_downloads=True
    ).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("app-shell").wait_for(timeout=SEEN)
    return page, errors


def screenshot(page: Page, name: str) -> None:
    """The whole page, from the top, into test-artifacts/ (a full-page shot taken scrolled down repeats the
    sticky top bar)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
