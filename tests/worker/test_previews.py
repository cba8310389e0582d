"""Worker-rendered previews and the WADO-RS frames/rendered answers, on a live server and worker."""

import io
import time

import httpx2 as httpx
import numpy as np
import pydicom
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from imaging.dicom import render_frame
from server.dicom.models import DicomInstance, DicomSeries
from tests.support.dicomweb import parts


def wait_all_previews(session_factory: sessionmaker[Session], series_uid: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as db:
            missing = db.scalar(
                select(func.count())
                .select_from(DicomInstance)
                .join(DicomSeries)
                .where(DicomSeries.series_uid == series_uid, DicomInstance.previews_at.is_(None))
            )
        if missing == 0:
            return
        assert time.monotonic() < deadline, f"{missing} instances still without previews"
        time.sleep(0.3)


def test_worker_previews_match_a_direct_rendering(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    live = live_server
    wait_all_previews(session_factory, live.series_uid)
    reader = live.platform.bearer("radiologist")
    base = f"{live.url}/dicomweb/studies/{live.study_uid}/series/{live.series_uid}"
    thumbnail = httpx.get(f"{base}/thumbnail", headers=reader)
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 128

    sop = httpx.get(f"{base}/instances", headers=reader).json()[10]["00080018"]["Value"][0]
    (original,) = parts(httpx.get(f"{base}/instances/{sop}", headers=reader))
    ds = pydicom.dcmread(io.BytesIO(original))

    rendered = Image.open(io.BytesIO(httpx.get(f"{base}/instances/{sop}/rendered", headers=reader).content))
    expected = np.asarray(render_frame(ds), dtype=float)
    # The served preview is a JPEG of the same rendering: equal up to compression noise.
    assert rendered.size == (ds.Columns, ds.Rows)
    assert np.abs(np.asarray(rendered.convert("L"), dtype=float) - expected).mean() < 2.0

    windowed = httpx.get(f"{base}/instances/{sop}/rendered", params={"window": "400,1800"}, headers=reader)
    lung = httpx.get(f"{base}/instances/{sop}/rendered", params={"window": "-600,1500"}, headers=reader)
    assert windowed.content != lung.content

    (frame,) = parts(httpx.get(f"{base}/instances/{sop}/frames/1", headers=reader))
    assert frame == ds.PixelData  # native little-endian pixels, byte for byte
    assert httpx.get(f"{base}/instances/{sop}/frames/2", headers=reader).status_code == 404


def test_outsiders_get_no_pixels(live_server) -> None:
    live = live_server
    base = f"{live.url}/dicomweb/studies/{live.study_uid}/series/{live.series_uid}"
    assert httpx.get(f"{base}/thumbnail", headers=live.platform.bearer("township")).status_code == 404
    assert httpx.get(f"{base}/thumbnail", headers=live.platform.bearer("trainee")).status_code == 403
    assert httpx.get(f"{base}/thumbnail").status_code == 401
