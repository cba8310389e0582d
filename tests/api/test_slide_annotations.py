"""Slide annotations saved to the case: lengths and areas in µm from the slide's calibration."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from tests.support import wsi_factory
from tests.support.accounts import sign_in
from tests.support.slides import post_slide

LINE = {"tool": "line", "points": [{"x": 100, "y": 100}, {"x": 400, "y": 500}], "label": "肿瘤最大径"}
SQUARE = {
    "tool": "polygon",
    "points": [{"x": 0, "y": 0}, {"x": 200, "y": 0}, {"x": 200, "y": 200}, {"x": 0, "y": 200}],
}


@pytest.fixture(scope="module")
def slide_id(
    app: Starlette, pathology_case: tuple[int, int], tmp_path_factory: pytest.TempPathFactory
) -> int:
    case_id, _patient = pathology_case
    tiff = wsi_factory.pyramidal_tiff(tmp_path_factory.mktemp("annotated") / "a.tiff", 1000, 800).read_bytes()
    with TestClient(app, client=("10.91.0.1", 40000)) as village:
        answer = post_slide(village, sign_in(village, "village"), case_id, tiff, "a.tiff")
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["id"]


def test_pathologist_saves_a_line_and_a_polygon_measured_in_microns(
    client: TestClient, slide_id, session_factory: sessionmaker[Session]
) -> None:
    csrf = sign_in(client, "pathologist")
    saved = client.post(
        f"/api/slides/{slide_id}/annotations", json={"items": [LINE, SQUARE]}, headers={"X-CSRF-Token": csrf}
    )
    assert saved.status_code == 200, saved.text
    line, square = saved.json()["items"]
    assert line["length_um"] == pytest.approx(500 * 0.25)  # a 300 × 400 px diagonal at 0.25 µm/px
    assert square["area_um2"] == pytest.approx((200 * 0.25) ** 2) and square["length_um"] == pytest.approx(
        200.0
    )
    assert line["label"] == "肿瘤最大径" and line["author"]["display_name"] == "吴病理"
    listed = client.get(f"/api/slides/{slide_id}/annotations").json()["items"]
    assert [a["tool"] for a in listed] == ["line", "polygon"]
    # Saving again replaces the reader's own set.
    client.post(f"/api/slides/{slide_id}/annotations", json={"items": [LINE]}, headers={"X-CSRF-Token": csrf})
    assert [a["tool"] for a in client.get(f"/api/slides/{slide_id}/annotations").json()["items"]] == ["line"]
    with session_factory() as db:
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.resource_id == str(slide_id))))
    assert {"slide_annotations_save", "slide_annotations_read"} <= actions


@pytest.mark.parametrize(
    "item",
    [
        {"tool": "circle", "points": [{"x": 1, "y": 1}]},
        {"tool": "line", "points": [{"x": 1, "y": 1}]},
        {"tool": "point", "points": [{"x": 5000, "y": 1}]},
        {"tool": "point", "points": [{"x": "1", "y": 1}]},
        {"tool": "point", "points": [{"x": 1, "y": 1}], "label": "x" * 201},
        "not an object",
    ],
)
def test_bad_annotations_are_refused_and_nothing_is_replaced(client: TestClient, slide_id, item) -> None:
    csrf = sign_in(client, "pathologist")
    before = client.get(f"/api/slides/{slide_id}/annotations").json()["items"]
    refused = client.post(
        f"/api/slides/{slide_id}/annotations", json={"items": [LINE, item]}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 400 and "annotation 2" in refused.json()["detail"]
    assert client.get(f"/api/slides/{slide_id}/annotations").json()["items"] == before


def test_a_reader_of_another_centre_sees_no_annotations(client: TestClient, slide_id) -> None:
    sign_in(client, "radiologist")
    assert client.get(f"/api/slides/{slide_id}/annotations").status_code == 403
