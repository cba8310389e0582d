"""Slides through the API: streamed upload, clear 4xx for broken or unsupported files with nothing stored,
duplicates, access and audit, the label withheld, tiles rendered lazily and cached, and the whole way
to a thumbnail and pre-built tiles with a real worker process."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from imaging.wsi import TileSource, open_slide
from server.access.models import AuditEvent
from server.cases.models import StoredFile
from server.slides.ingest import tile_key
from server.slides.models import Slide
from tests.support import wsi_factory
from tests.support.accounts import sign_in
from tests.support.slides import post_slide, zipped
from tests.support.wsi_factory import CACHE


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("slides")
    fixtures = wsi_factory.openslide_fixtures(CACHE)
    return {
        "tiff": wsi_factory.pyramidal_tiff(folder / "gen.tiff", 1200, 900).read_bytes(),
        "svs": wsi_factory.aperio_svs(folder / "label.svs").read_bytes(),
        "unreadable": (fixtures / "unreadable.svs").read_bytes(),
        "unopenable": (fixtures / "unopenable.tiff").read_bytes(),
        "dicom": (fixtures / "boxes_0.dcm").read_bytes(),
        "dicom_zip": zipped(
            {name: (fixtures / name).read_bytes() for name in ("boxes_0.dcm", "boxes_1.dcm")}
        ),
        "not_dicom_zip": zipped({"notes.txt": b"scanner export log"}),
    }


def counts(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as db:
        return db.scalars(select(func.count()).select_from(Slide)).one(), db.scalars(
            select(func.count()).select_from(StoredFile)
        ).one()


def test_broken_and_unsupported_slides_get_a_clear_4xx_and_leave_nothing(
    client: TestClient, session_factory: sessionmaker[Session], pathology_case: tuple[int, int], slides
) -> None:
    csrf = sign_in(client, "village")
    before = counts(session_factory)
    kfb = post_slide(client, csrf, pathology_case[0], b"KFB\x00" + bytes(500), "biopsy.kfb")
    assert kfb.status_code == 415 and kfb.json()["error"] == "unsupported_slide_format", kfb.text
    assert "SVS/TIFF" in kfb.json()["detail"] and "DICOM" in kfb.json()["detail"]
    for name in ("unreadable", "unopenable"):
        broken = post_slide(client, csrf, pathology_case[0], slides[name], f"{name}.svs")
        assert broken.status_code == 422 and broken.json()["error"] == "invalid_slide", broken.text
    cut = post_slide(client, csrf, pathology_case[0], slides["tiff"][: len(slides["tiff"]) // 2], "cut.tiff")
    assert cut.status_code == 422, cut.text
    assert post_slide(client, csrf, pathology_case[0], b"", "empty.svs").status_code == 422
    assert counts(session_factory) == before


def test_upload_tiles_and_access(
    client: TestClient,
    app: Starlette,
    session_factory: sessionmaker[Session],
    pathology_case: tuple[int, int],
    slides,
    tmp_path: Path,
) -> None:
    case_id, patient_id = pathology_case
    csrf = sign_in(client, "village")
    first = post_slide(client, csrf, case_id, slides["tiff"], "gen.tiff")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["width"], body["height"], body["mpp_x"]) == (1200, 900, pytest.approx(0.25))
    assert len(body["levels"]) == 3 and body["tiles_state"] == "pending"
    again = post_slide(client, csrf, case_id, slides["tiff"], "again.tiff")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["id"] == body["id"]

    sign_in(client, "pathologist")
    assert body["id"] in [item["id"] for item in client.get(f"/api/cases/{case_id}/slides").json()["items"]]
    dzi = client.get(f"/api/slides/{body['id']}/dzi")
    assert dzi.status_code == 200 and 'Width="1200"' in dzi.text and 'TileSize="254"' in dzi.text
    # A deep tile nobody built yet: rendered now, equal to OpenSlide's, then kept in object storage.
    reference_path = tmp_path / "ref.tiff"
    reference_path.write_bytes(slides["tiff"])
    reference = TileSource(open_slide(reference_path, "tiff"))
    level = reference.level_count - 1
    tile = client.get(f"/api/slides/{body['id']}/tiles/{level}/2_1.jpeg")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/jpeg"
    mine = np.asarray(Image.open(io.BytesIO(tile.content)).convert("RGB"), dtype=np.int16)
    theirs = np.asarray(reference.dz.get_tile(level, (2, 1)).convert("RGB"), dtype=np.int16)
    assert mine.shape == theirs.shape and np.abs(mine - theirs).mean() < 3
    with session_factory() as db:
        row = db.get(Slide, body["id"])
        assert row is not None
        assert app.state.store.exists(tile_key(row, level, 2, 1))
    assert client.get(f"/api/slides/{body['id']}/tiles/{level}/2_1.jpeg").content == tile.content
    assert client.get(f"/api/slides/{body['id']}/tiles/{level}/99_0.jpeg").status_code == 404
    assert client.get(f"/api/slides/{body['id']}/tiles/40/0_0.jpeg").status_code == 404
    # Another centre's reader is refused, and the refusal is audited with the patient.
    sign_in(client, "radiologist")
    assert client.get(f"/api/slides/{body['id']}/dzi").status_code == 403
    assert client.get(f"/api/slides/{body['id']}/tiles/0/0_0.jpeg").status_code == 403
    with session_factory() as db:
        reads = db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.resource_type == "slide", AuditEvent.resource_id == str(body["id"])
            )
        ).all()
        denied = db.scalars(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "access_denied", AuditEvent.patient_id == patient_id)
        ).one()
    assert reads.count("slide_store") == 2 and reads.count("slide_read") >= 3 and denied >= 2


def test_label_is_withheld_and_dicom_wsi_accepted(
    client: TestClient, pathology_case: tuple[int, int], slides
) -> None:
    csrf = sign_in(client, "village")
    svs = post_slide(client, csrf, pathology_case[0], slides["svs"], "label.svs")
    assert svs.status_code == 201, svs.text
    body = svs.json()
    assert body["vendor"] == "aperio" and body["objective_power"] == 40
    assert body["associated_images"] == ["thumbnail"] and body["label_withheld"] is True
    assert "ZHANG^SAN" not in svs.text
    dicom = post_slide(client, csrf, pathology_case[0], slides["dicom"], "boxes_0.dcm")
    assert dicom.status_code == 201, dicom.text
    assert dicom.json()["format"] == "dicom" and dicom.json()["width"] == 16
    series = post_slide(client, csrf, pathology_case[0], slides["dicom_zip"], "boxes.zip")
    assert series.status_code == 201, series.text
    assert series.json()["format"] == "dicom_zip" and series.json()["objective_power"] == 20
    sign_in(client, "pathologist")
    tile = client.get(f"/api/slides/{series.json()['id']}/tiles/4/0_0.jpeg")
    assert tile.status_code == 200 and Image.open(io.BytesIO(tile.content)).size == (16, 16)
    csrf = sign_in(client, "village")
    junk = post_slide(client, csrf, pathology_case[0], slides["not_dicom_zip"], "export.zip")
    assert junk.status_code == 422 and junk.json()["error"] == "invalid_slide", junk.text


def test_end_to_end_with_a_real_worker(live_server, pathology_case: tuple[int, int], slides) -> None:
    case_id = pathology_case[0]
    data = wsi_factory.pyramidal_tiff(Path(live_server.platform.settings.data_dir) / "e2e.tiff", 3000, 2000)
    started = time.monotonic()
    uploaded = httpx.post(
        f"{live_server.url}/api/cases/{case_id}/slides",
        params={"filename": "e2e.tiff"},
        content=data.read_bytes(),
        headers={**live_server.platform.bearer("village"), "Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert uploaded.status_code in {200, 201}, uploaded.text
    slide_id = uploaded.json()["id"]
    reader = live_server.platform.bearer("pathologist")
    deadline = time.monotonic() + 90
    while (state := httpx.get(f"{live_server.url}/api/slides/{slide_id}", headers=reader).json())[
        "tiles_state"
    ] != "ready":
        assert state["tiles_state"] == "pending", state
        assert time.monotonic() < deadline, "the worker did not build the slide's tiles in 90 s"
        time.sleep(0.3)
    ready_after = time.monotonic() - started
    thumbnail = httpx.get(f"{live_server.url}/api/slides/{slide_id}/thumbnail.jpeg", headers=reader)
    assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.content)).size[0] <= 512
    assert ready_after < 30
