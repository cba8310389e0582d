"""A live consult in two Chromium browsers: the village doctor and the county radiologist open the same
case's consult page, see each other's video over a real WebRTC mesh (signalling server process, API,
Debian Chromium with fake camera and microphone), chat, and the village doctor's switch to audio only
turns her tile into "camera off" on the radiologist's screen (and back to video with a new camera track).

Two browser *processes*, not two contexts of one, as ../shared/FIELD-NOTES.md advises for two participants.
A second test pairs one Chromium with an aiortc participant (tests/support/rtc.py), so each side's media
is checked by a client that is not the same WebRTC stack as the other.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlalchemy import select

from server.cases.models import Case
from server.community.models import Institution
from server.core.config import Settings
from server.core.db import transaction
from tests.conftest import DEMO_PASSWORD
from tests.support.browser import CHROMIUM, FLAGS, SEEN, chromium, screenshot, signed_in_page
from tests.support.consult import MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES, platform_with_signalling
from tests.support.live import LivePlatform
from tests.support.media_fixtures import HEIGHT, WIDTH, capture_files
from tests.support.rtc import RtcPeer

pytestmark = pytest.mark.browser

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


@pytest.fixture
def two_browsers(tmp_path: Path) -> Iterator[tuple[Browser, Browser]]:
    """Two Chromium processes from one Playwright driver (a second sync driver cannot run inside the first),
    each with the fake camera and microphone."""
    args = FLAGS + fake_capture(tmp_path)
    with sync_playwright() as playwright:
        browsers = [playwright.chromium.launch(executable_path=CHROMIUM, args=args) for _ in range(2)]
        try:
            yield browsers[0], browsers[1]
        finally:
            for browser in browsers:
                leave_consults(browser)
                browser.close()


@pytest.fixture
def one_browser(tmp_path: Path) -> Iterator[Browser]:
    with chromium(fake_capture(tmp_path)) as browser:
        try:
            yield browser
        finally:
            leave_consults(browser)


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


@pytest.fixture(scope="module")
def consult_platform(
    settings: Settings, demo: None, session_factory, tmp_path_factory
) -> Iterator[ConsultPlatform]:  # type: ignore[no-untyped-def]
    """API, worker and signalling server; the API hands out the signalling server's port."""
    with transaction(session_factory) as db:
        case_id = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )
    with platform_with_signalling(settings, tmp_path_factory.mktemp("consult")) as (platform, _port):
        yield ConsultPlatform(platform, case_id)


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


def test_two_browsers_see_each_other_chat_and_go_audio_only(
    consult_platform: ConsultPlatform, two_browsers: tuple[Browser, Browser]
) -> None:
    url, case_id = consult_platform.platform.url, consult_platform.case_id
    village_browser, reader_browser = two_browsers
    village, village_errors = signed_in_page(village_browser, url, "village", DEMO_PASSWORD)
    reader, reader_errors = signed_in_page(reader_browser, url, "radiologist", DEMO_PASSWORD)
    open_consult(village, url, case_id)
    open_consult(reader, url, case_id)

    expect(remote_tile(village).get_by_test_id("consult-peer-name")).to_have_text("陈影像", timeout=SEEN)
    expect(remote_tile(reader).get_by_test_id("consult-peer-name")).to_have_text("王村医", timeout=SEEN)
    assert_playing(village)
    assert_playing(reader)
    screenshot(village, "consult-village.png")
    screenshot(reader, "consult-radiologist.png")

    village.get_by_test_id("consult-chat-input").fill("请看一下右下肺的结节")
    village.get_by_test_id("consult-chat-send").click()
    expect(reader.get_by_test_id("consult-chat-line")).to_contain_text(["请看一下右下肺的结节"], timeout=SEEN)

    village.get_by_test_id("consult-profile").select_option("audio_only")
    expect(remote_tile(reader)).to_have_attribute("data-camera", "off", timeout=SEEN)
    expect(remote_tile(reader).get_by_test_id("consult-camera-off")).to_be_visible()
    expect(remote_tile(reader).get_by_test_id("consult-video")).to_be_hidden()
    # Both report getStats() every 5 s; over loopback the server rates the village doctor's link good.
    expect(remote_tile(reader).get_by_test_id("consult-quality")).to_have_attribute(
        "data-level", "good", timeout=SEEN
    )
    screenshot(reader, "consult-radiologist-audio-only.png")

    village.get_by_test_id("consult-profile").select_option("normal")
    expect(remote_tile(reader)).to_have_attribute("data-camera", "on", timeout=SEEN)
    assert_playing(reader)

    assert village_errors == [] and reader_errors == []


def room_url(platform: LivePlatform, headers: dict[str, str], case_id: int) -> str:
    """The case room on the signalling server the API names, as the consult page finds it."""
    config = httpx.get(f"{platform.url}/api/rtc/config", headers=headers)
    config.raise_for_status()
    return f"{config.json()['signaling_url']}/ws/rooms/case-{case_id}"


@contextmanager
def aiortc_participant(url: str, token: str) -> Iterator[RtcPeer]:
    """An RtcPeer in the room on its own thread and event loop (Playwright's sync API refuses to run inside
    one); it leaves with `bye` on exit, and a failure to join is raised here."""
    peer = RtcPeer(url, token)
    joined, leave = threading.Event(), threading.Event()

    async def attend() -> None:
        try:
            await peer.join()
            joined.set()
            await asyncio.to_thread(leave.wait)
        finally:
            joined.set()
            await peer.close()

    with ThreadPoolExecutor(1) as pool:
        attendance = pool.submit(asyncio.run, attend())
        joined.wait(SEEN / 1000)
        try:
            if attendance.done():
                attendance.result()
            yield peer
        finally:
            leave.set()
            attendance.result(timeout=10)


def wait_for_media(peer: RtcPeer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (
        peer.received.frames["video"] < MIN_VIDEO_FRAMES or peer.received.frames["audio"] < MIN_AUDIO_FRAMES
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"the aiortc side got too little media from Chromium: {peer.received.frames}")
        time.sleep(0.1)


def test_chromium_and_aiortc_receive_each_others_audio_and_video(
    consult_platform: ConsultPlatform, one_browser: Browser
) -> None:
    platform, case_id = consult_platform.platform, consult_platform.case_id
    village, errors = signed_in_page(one_browser, platform.url, "village", DEMO_PASSWORD)
    open_consult(village, platform.url, case_id)

    headers = platform.bearer("radiologist")
    token = headers["Authorization"].removeprefix("Bearer ")
    with aiortc_participant(room_url(platform, headers, case_id), token) as reader:
        assert reader.welcome["role"] == "host"
        present = [peer["display_name"] for peer in reader.welcome["peers"] if not peer["away"]]
        assert present == ["王村医"]
        expect(remote_tile(village).get_by_test_id("consult-peer-name")).to_have_text("陈影像", timeout=SEEN)
        assert_playing(village)
        screenshot(village, "consult-chromium-aiortc.png")
        wait_for_media(reader)
        assert reader.received.video_sizes == {(WIDTH, HEIGHT)}  # the fake camera's y4m, as sent

    assert errors == []
