"""Multi-frame instances play as video: the worker renders an H.264 MP4 the browser's <video> plays,
at the file's own frame rate, showing the frames the viewer shows."""

from __future__ import annotations

import io
import time
from fractions import Fraction
from typing import Any

import av
import httpx2 as httpx
import numpy as np
import pydicom
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imaging.dicom import render_frame
from imaging.dicom.cine import cine_frame_rate
from server.access.models import AuditEvent
from server.dicom.previews import cine_key
from server.storage import open_store
from tests.support.dicom_factory import ct_series, multiframe_us, rewritten
from tests.support.paths import pydicom_test_file

# H.264 at the encoder's default quality over speckle: measured ≈ 4 grey levels on average per pixel.
MAX_MEAN_ABS_DIFFERENCE = 8.0


def without_timing(data: bytes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword in ("CineRate", "FrameTime", "RecommendedDisplayFrameRate", "FrameIncrementPointer"):
        if keyword in ds:
            delattr(ds, keyword)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def cine_url(base: str, ds: pydicom.Dataset) -> str:
    return (
        f"{base}/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/cine.mp4"
    )


def wait_for_cine(url: str, headers: dict[str, str], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, headers=headers, timeout=30)
        if response.status_code == 200:
            return response
        assert response.status_code == 404 and response.json()["error"] == "not_ready", response.text
        assert time.monotonic() < deadline, f"no cine after {timeout} s"
        time.sleep(0.5)


def decoded(video: bytes) -> tuple[av.video.stream.VideoStream, list[np.ndarray], dict[str, Any]]:
    with av.open(io.BytesIO(video), mode="r") as container:
        stream = container.streams.video[0]
        frames: list[np.ndarray] = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "rate": stream.average_rate,
            "size": (stream.codec_context.width, stream.codec_context.height),
        }
    return stream, frames, facts


CASES = {
    # name: (file, expected frames per second)
    "cine_rate_wins": (
        lambda: rewritten(multiframe_us(frames=12, rows=121, cols=161, seed=7171), CineRate=25),
        Fraction(25),
    ),
    "real_us_frame_time": (
        lambda: pydicom_test_file("examples_ybr_color.dcm").read_bytes(),
        Fraction(30),
    ),
    "no_timing_default": (
        lambda: without_timing(multiframe_us(frames=5, rows=40, cols=60, seed=7172)),
        Fraction(10),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_multiframe_instance_plays_as_mp4(
    live_server, session_factory: sessionmaker[Session], name: str
) -> None:
    make, rate = CASES[name]
    data = make()
    ds = pydicom.dcmread(io.BytesIO(data))
    assert cine_frame_rate(ds) == rate
    stored = live_server.platform.stow("village", [data])
    assert stored.status_code == 200, stored.text
    village = live_server.platform.bearer("village")

    response = wait_for_cine(cine_url(live_server.url, ds), village)
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["cache-control"].startswith("private")
    video = response.content
    assert video[4:8] == b"ftyp" and video.find(b"moov") < video.find(b"mdat")  # index first: faststart

    _, frames, facts = decoded(video)
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["rate"] == rate
    assert len(frames) == int(ds.NumberOfFrames)
    width, height = facts["size"]
    assert width % 2 == 0 and height % 2 == 0 and (width - ds.Columns, height - ds.Rows) in ((0, 0), (1, 1))
    differences = [
        np.abs(
            frame[: ds.Rows, : ds.Columns].astype(float)
            - np.asarray(render_frame(ds, index).convert("RGB"), float)
        ).mean()
        for index, frame in enumerate(frames)
    ]
    assert max(differences) < MAX_MEAN_ABS_DIFFERENCE, differences

    rendered = httpx.get(
        cine_url(live_server.url, ds).replace("/cine.mp4", "/rendered"),
        headers={**village, "Accept": "video/mp4"},
    )
    assert rendered.status_code == 200 and rendered.content == video
    with session_factory() as db:
        details = db.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "dicom_retrieve", AuditEvent.resource_id == ds.SOPInstanceUID
            )
        ).all()
    assert details.count({"what": "cine"}) >= 2


def test_cine_refusals_and_not_ready(live_server) -> None:
    data = multiframe_us(frames=4, rows=32, cols=48, seed=7173)
    ds = pydicom.dcmread(io.BytesIO(data))
    single = ct_series(1, 16, 16, seed=7174)[0]
    assert live_server.platform.stow("village", [data, single]).status_code == 200
    village = live_server.platform.bearer("village")
    url = cine_url(live_server.url, ds)
    wait_for_cine(url, village)

    # Until the worker has stored it (here: as if it had not yet), a clear 404 says so.
    store = open_store(live_server.platform.settings)
    store.delete(cine_key(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID))
    missing = httpx.get(url, headers=village)
    assert missing.status_code == 404 and missing.json()["error"] == "not_ready"

    one_frame = httpx.get(cine_url(live_server.url, pydicom.dcmread(io.BytesIO(single))), headers=village)
    assert one_frame.status_code == 404 and one_frame.json()["error"] == "not_multiframe"
    assert httpx.get(url, headers=live_server.platform.bearer("township")).status_code == 404
    assert httpx.get(url, headers=live_server.platform.bearer("trainee")).status_code == 403
    assert httpx.get(url).status_code == 401


def test_frame_rate_comes_from_the_file() -> None:
    ds = pydicom.Dataset()
    assert cine_frame_rate(ds) == 10
    ds.RecommendedDisplayFrameRate = 15
    assert cine_frame_rate(ds) == 15
    ds.FrameTime = 40.0  # ms
    assert cine_frame_rate(ds) == 25
    ds.CineRate = 24
    assert cine_frame_rate(ds) == 24
    ds.CineRate = 0  # implausible: the next attribute is used
    assert cine_frame_rate(ds) == 25
    ds.FrameTime = 1000 / 29.97
    ntsc = cine_frame_rate(ds)
    assert abs(float(ntsc) - 29.97) < 0.001 and ntsc.denominator <= 1001  # a time base MP4 can hold
