"""The README's start command, run as a new user would, and the demo village doctor's first screen."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.browser import chromium
from tests.support.paths import ARTIFACTS, ROOT
from tests.support.services import free_port, wait_for_http

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def started_platform(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("embedded")
    port, signaling_port, dimse_port = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEMED_")} | {
        "TELEMED_DATA_DIR": str(data),
        "TELEMED_PORT": str(port),
        "TELEMED_SIGNALING_PORT": str(signaling_port),
        "TELEMED_DIMSE_PORT": str(dimse_port),
    }
    log = data / "start.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["./run", "start"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", process, timeout=240)
            wait_for_http(f"http://127.0.0.1:{signaling_port}/healthz", process, timeout=30)
            wait_for_text(log, "Ctrl-C", timeout=30)
            yield f"http://127.0.0.1:{port}", data, log
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_for_text(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.2)


def test_start_command_prints_url_and_logins_and_runs_embedded(started_platform) -> None:
    url, data, log = started_platform
    output = log.read_text()
    assert f"open      {url}/" in output
    assert "village" in output and "王村医" in output
    assert (data / "telemed.db").exists()  # SQLite, no database server
    assert (data / "broker").is_dir()  # filesystem broker, no Redis


def test_village_doctor_sees_the_chinese_shell(started_platform) -> None:
    url, data, _log = started_platform
    password = (data / "demo-password").read_text().strip()
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/login")
        page.get_by_test_id("login-username").fill("village")
        page.get_by_test_id("login-password").fill(password)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("app-shell").wait_for(timeout=15000)
        assert page.get_by_test_id("shell-user").inner_text() == "王村医"
        assert "基层医生" in page.get_by_test_id("shell-role").inner_text()
        assert "青山村卫生室" in page.get_by_test_id("shell-institution").inner_text()
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        table = page.get_by_test_id("case-table")
        table.wait_for()
        assert "张秀英" in table.inner_text() and "赵桂兰" not in table.inner_text()
        page.screenshot(path=str(ARTIFACTS / "shell-village-zh-CN.png"), full_page=True)

        # English second: the switch relabels the shell and is remembered across a reload.
        page.get_by_test_id("lang-switch").click()
        page.reload()
        page.get_by_test_id("app-shell").wait_for()
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.get_by_test_id("shell-role").inner_text().strip() == "Primary-care doctor"
        assert "My cases" in page.get_by_test_id("nav").inner_text()
        page.screenshot(path=str(ARTIFACTS / "shell-village-en.png"), full_page=True)
