"""Consults in Chromium: fake camera and microphone, joining, leaving, playing video (the platform with
signalling they run on is the `consult_platform` fixture of tests/browser/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.browser import SEEN
from tests.support.live import LivePlatform
from tests.support.media_fixtures import capture_files

FAKE_MEDIA = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


# Whether a remote <video> is really playing: decoded frames with a size, and its clock moving on.
PLAYING_JS = """
async (video) => {
  const t0 = video.currentTime;
  await new Promise((resolve) => setTimeout(resolve, 700));
  return video.videoWidth > 0 && video.currentTime > t0;
}
"""


def fake_capture(directory: Path) -> list[str]:
    """Chromium flags for a fake camera and microphone playing the generated moving picture and tone."""
    camera, microphone = capture_files(directory)
    return [
        *FAKE_MEDIA,
        f"--use-file-for-fake-video-capture={camera}",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]


def leave_consults(browser: Browser) -> None:
    """Leave open consults by the page's own way out, whose unmount sends `bye`: a browser closed in a room
    would stay there "away" for the grace period, an extra tile in the next test's room."""
    for context in browser.contexts:
        for page in context.pages:
            back = page.get_by_test_id("consult-back")
            if back.count():
                back.click()
                expect(page.get_by_test_id("consult-page")).to_have_count(0, timeout=SEEN)


@dataclass(frozen=True)
class ConsultPlatform:
    platform: LivePlatform
    case_id: int


def open_consult(page: Page, url: str, case_id: int) -> None:
    page.goto(f"{url}/cases/{case_id}")
    page.get_by_test_id("case-consult").click()
    expect(page.get_by_test_id("consult-page")).to_have_attribute("data-phase", "in_room", timeout=SEEN)


def remote_tile(page: Page) -> Locator:
    return page.get_by_test_id("consult-remote-tile")


def assert_playing(page: Page) -> None:
    video = remote_tile(page).get_by_test_id("consult-video")
    expect(video).to_be_visible(timeout=SEEN)
    for _ in range(20):
        if video.evaluate(PLAYING_JS):
            return
    pytest.fail("the remote video never played")
