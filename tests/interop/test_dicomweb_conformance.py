"""DICOMweb as PS3.18 and its usual clients expect it: QIDO-RS matching and includefield at each level,
WADO-RS of whole studies and series, study metadata, frames as stored, and OHIF's request sequence."""

from __future__ import annotations

import io
from typing import Any

import httpx2 as httpx
import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from tests.support.accounts import bearer
from tests.support.dicom_factory import bitmap_frames, ct_series, mr_instance, multiframe_us, rewritten
from tests.support.dicomweb import parts, split_multipart, stow
from tests.support.paths import pydicom_test_file

# What OHIF sends for one frame (its default `wadors` image loader request).
OHIF_FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def value(item: dict, tag: str) -> Any:
    return item[tag]["Value"][0]


def uids_of(answer: list[dict], tag: str) -> set[str]:
    return {value(item, tag) for item in answer}


@pytest.fixture(scope="module")
def two_studies(app: Starlette) -> dict[str, object]:
    """Study A: a 6-slice CT (series 2) and an MR slice (series 3), 2024-03-05. Study B: a US cine, 2025-01-15."""
    ct = [rewritten(d, StudyDate="20240305") for d in ct_series(6, 32, 32, seed=5101, patient_name="韩^梅梅")]
    mr = rewritten(mr_instance(rows=32, cols=32, seed=5101, patient_name="韩^梅梅"), StudyDate="20240305")
    us = multiframe_us(frames=4, rows=24, cols=32, seed=5102)
    with TestClient(app) as client:
        response = stow(client, bearer(client, "village"), [*ct, mr, us])
        assert response.status_code == 200, response.text
    first, cine = (pydicom.dcmread(io.BytesIO(d)) for d in (ct[0], us))
    return {
        "ct": ct,
        "mr": mr,
        "us": us,
        "a": first.StudyInstanceUID,
        "b": cine.StudyInstanceUID,
        "ct_series": first.SeriesInstanceUID,
        "mr_series": pydicom.dcmread(io.BytesIO(mr)).SeriesInstanceUID,
    }


def test_qido_study_matching(client: TestClient, two_studies) -> None:
    village = bearer(client, "village")
    a, b = two_studies["a"], two_studies["b"]

    def found(**params: str) -> set[str]:
        response = client.get("/dicomweb/studies", params=params, headers=village)
        assert response.status_code == 200, response.text
        return uids_of(response.json(), "0020000D") & {a, b}

    assert found(PatientName="韩^梅梅") == {a}  # the full PN, caret and all
    assert found(PatientName="韩*") == {a}
    assert found(PatientID="P005101") == {a}
    assert found(**{"00100020": "P005102"}) == {b}  # by tag as well as by keyword
    assert found(AccessionNumber="A00005101") == {a}
    assert found(StudyDate="20240301-20240331") == {a}
    assert found(StudyDate="20250101-") == {b}
    assert found(StudyDate="-20240305") == {a}
    assert found(StudyDate="20240306-20250114") == set()
    assert found(ModalitiesInStudy="MR") == {a}
    assert found(ModalitiesInStudy="US") == {b}
    assert found(StudyInstanceUID=f"{a}\\{b}") == {a, b}  # UID list matching
    assert found(StudyInstanceUID=a, ModalitiesInStudy="US") == set()  # filters combine

    both = client.get("/dicomweb/studies", params={"StudyInstanceUID": f"{a},{b}"}, headers=village).json()
    page = [
        client.get(
            "/dicomweb/studies",
            params={"StudyInstanceUID": f"{a},{b}", "limit": 1, "offset": n},
            headers=village,
        ).json()
        for n in (0, 1, 2)
    ]
    assert [len(p) for p in page] == [1, 1, 0]
    assert uids_of(page[0] + page[1], "0020000D") == uids_of(both, "0020000D") == {a, b}
    study_a = next(s for s in both if value(s, "0020000D") == a)
    assert sorted(study_a["00080061"]["Value"]) == ["CT", "MR"]
    assert value(study_a, "00201206") == 2 and value(study_a, "00201208") == 7

    for bad in ({"limit": "ten"}, {"offset": "-1"}, {"includefield": "NoSuchKeyword"}):
        response = client.get("/dicomweb/studies", params=bad, headers=village)
        assert response.status_code == 400, bad
        assert response.json()["detail"]


def test_qido_includefield(client: TestClient, two_studies) -> None:
    village = bearer(client, "village")
    a = two_studies["a"]
    (plain,) = client.get("/dicomweb/studies", params={"StudyInstanceUID": a}, headers=village).json()
    assert "00080060" not in plain and "00100030" in plain  # birth date is always answered
    (ohif,) = client.get(
        "/dicomweb/studies",
        params={"StudyInstanceUID": a, "includefield": "00081030,00080060"},
        headers=village,
    ).json()
    assert value(ohif, "00081030") == "头颅MR平扫" or value(ohif, "00081030") == "胸部CT平扫"
    assert value(ohif, "00080060") in ("CT", "MR")
    (by_keyword,) = client.get(
        "/dicomweb/studies",
        params=[("StudyInstanceUID", a), ("includefield", "InstitutionName"), ("includefield", "KVP")],
        headers=village,
    ).json()
    assert value(by_keyword, "00080080") == "青山县人民医院" and value(by_keyword, "00180060") == 120
    (everything,) = client.get(
        "/dicomweb/studies", params={"StudyInstanceUID": a, "includefield": "all"}, headers=village
    ).json()
    assert value(everything, "00200010") == "1"  # Study ID, of the General Study module
    assert "00080018" not in everything and "0020000E" not in everything  # not study-level

    series = client.get(
        f"/dicomweb/studies/{a}/series", params={"includefield": "all"}, headers=village
    ).json()
    assert [value(s, "00200011") for s in series] == [2, 3]
    assert all(value(s, "0020000D") == a and "00080021" in s for s in series)  # Series Date
    assert all("00080018" not in s for s in series)

    instances = client.get(
        f"/dicomweb/studies/{a}/series/{two_studies['ct_series']}/instances",
        params={"includefield": "00280030"},
        headers=village,
    ).json()
    assert len(instances) == 6 and all(s["00280030"]["Value"] == [0.7, 0.7] for s in instances)


def test_qido_series_and_instance_matching(client: TestClient, two_studies) -> None:
    village = bearer(client, "village")
    a, ct_uid, mr_uid = two_studies["a"], two_studies["ct_series"], two_studies["mr_series"]

    def series(**params: Any) -> set[str]:
        response = client.get(f"/dicomweb/studies/{a}/series", params=params, headers=village)
        assert response.status_code == 200, response.text
        return uids_of(response.json(), "0020000E")

    assert series() == {ct_uid, mr_uid}
    assert series(Modality="MR") == {mr_uid}
    assert series(Modality="CT\\MR") == {ct_uid, mr_uid}
    assert series(SeriesNumber=2) == {ct_uid}
    assert series(SeriesInstanceUID=mr_uid) == {mr_uid}
    assert series(**{"00080060": "US"}) == set()
    assert series(limit=1, offset=1) == {mr_uid}
    assert (
        client.get(
            f"/dicomweb/studies/{a}/series", params={"SeriesNumber": "two"}, headers=village
        ).status_code
        == 400
    )

    base = f"/dicomweb/studies/{a}/series/{ct_uid}/instances"
    every = client.get(base, headers=village).json()
    assert [value(i, "00200013") for i in every] == [1, 2, 3, 4, 5, 6]
    third = value(every[2], "00080018")
    assert uids_of(
        client.get(base, params={"SOPInstanceUID": third}, headers=village).json(), "00080018"
    ) == {third}
    assert [
        value(i, "00200013") for i in client.get(base, params={"InstanceNumber": 5}, headers=village).json()
    ] == [5]
    assert [
        value(i, "00200013")
        for i in client.get(base, params={"limit": 2, "offset": 3}, headers=village).json()
    ] == [4, 5]
    in_study = client.get(f"/dicomweb/studies/{a}/instances", headers=village).json()
    assert uids_of(in_study, "0020000E") == {ct_uid, mr_uid} and len(in_study) == 7


def test_wado_study_and_series_retrieval_and_study_metadata(
    client: TestClient, two_studies, session_factory: sessionmaker[Session]
) -> None:
    reader = bearer(client, "village")
    a = two_studies["a"]
    sent = {*two_studies["ct"], two_studies["mr"]}

    study = client.get(
        f"/dicomweb/studies/{a}", headers={**reader, "Accept": 'multipart/related; type="application/dicom"'}
    )
    assert study.status_code == 200
    assert study.headers["content-type"].startswith('multipart/related; type="application/dicom"')
    returned = split_multipart(study.headers["content-type"], study.content)
    assert len(returned) == 7 and set(returned) == sent  # every original, byte for byte

    series = client.get(f"/dicomweb/studies/{a}/series/{two_studies['mr_series']}", headers=reader)
    assert split_multipart(series.headers["content-type"], series.content) == [two_studies["mr"]]

    metadata = client.get(f"/dicomweb/studies/{a}/metadata", headers=reader)
    assert metadata.headers["content-type"].startswith("application/dicom+json")
    items = metadata.json()
    assert sorted(value(i, "00200011") for i in items) == [2, 2, 2, 2, 2, 2, 3]
    assert all("7FE00010" not in i for i in items)

    with session_factory() as db:
        audited = db.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "dicom_retrieve",
                AuditEvent.resource_type == "dicom_study",
                AuditEvent.resource_id == a,
            )
        ).all()
    assert {"what": "study"} in audited and {"what": "metadata"} in audited

    outsider = bearer(client, "township")
    for path in (
        f"/dicomweb/studies/{a}",
        f"/dicomweb/studies/{a}/metadata",
        f"/dicomweb/studies/{a}/instances",
    ):
        assert client.get(path, headers=outsider).status_code == 404, path
    assert client.get(f"/dicomweb/studies/{a}", headers=bearer(client, "trainee")).status_code == 403
    assert client.get(f"/dicomweb/studies/{a}").status_code == 401


def frames_of(client: TestClient, headers: dict[str, str], data: bytes, frames: str, **extra: str):
    ds = pydicom.dcmread(io.BytesIO(data))
    path = (
        f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/frames/{frames}"
    )
    return client.get(path, headers={**headers, **extra})


def test_uncompressed_frames_are_returned_as_stored(client: TestClient) -> None:
    """YBR_FULL_422 stays subsampled and 1-bit stays packed, also when a frame starts mid-byte."""
    village = bearer(client, "village")
    ybr = pydicom_test_file("SC_ybr_full_422_uncompressed.dcm").read_bytes()
    seg = pydicom_test_file("liver_1frame.dcm").read_bytes()
    bitmap, bits = bitmap_frames(frames=3, rows=5, cols=7, seed=5103)
    assert stow(client, village, [ybr, seg, bitmap]).status_code == 200

    (frame,) = split_multipart(*_answer(frames_of(client, village, ybr, "1")))
    stored = pydicom.dcmread(io.BytesIO(ybr))
    assert len(frame) == 100 * 100 * 2 and frame == stored.PixelData  # 4:2:2: two bytes a pixel

    (frame,) = split_multipart(*_answer(frames_of(client, village, seg, "1")))
    assert len(frame) == 512 * 512 // 8 and frame == pydicom.dcmread(io.BytesIO(seg)).PixelData

    second, third = split_multipart(*_answer(frames_of(client, village, bitmap, "2,3")))
    for packed, expected in ((second, bits[1]), (third, bits[2])):
        assert len(packed) == 5  # 35 bits
        unpacked = np.unpackbits(np.frombuffer(packed, np.uint8), bitorder="little")[:35]
        assert np.array_equal(unpacked.reshape(5, 7), expected)


def _answer(response) -> tuple[str, bytes]:
    assert response.status_code == 200, response.text
    return response.headers["content-type"], response.content


def test_frames_negotiate_the_media_type(client: TestClient) -> None:
    village = bearer(client, "village")
    data = ct_series(1, 16, 16, seed=5104)[0]
    assert stow(client, village, [data]).status_code == 200
    for accept in (
        OHIF_FRAME_ACCEPT,
        "multipart/related; type=application/octet-stream; transfer-syntax=*",  # unquoted, as OHIF 3 sends
        f'multipart/related; type="application/octet-stream"; transfer-syntax={EXPLICIT_LE}',
        "multipart/related",
        "*/*",
        'image/jpeg, multipart/related; type="application/octet-stream"',
    ):
        response = frames_of(client, village, data, "1", Accept=accept)
        assert response.status_code == 200, accept
        (frame,) = split_multipart(response.headers["content-type"], response.content)
        assert frame == pydicom.dcmread(io.BytesIO(data)).PixelData
    for accept in (
        "image/jpeg",
        'multipart/related; type="image/jpeg"',
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.50',
    ):
        response = frames_of(client, village, data, "1", Accept=accept)
        assert response.status_code == 406, accept
        assert EXPLICIT_LE in response.json()["detail"]


def test_ohif_request_sequence(live_server) -> None:
    """QIDO studies with OHIF's includefield, QIDO series, series metadata, then each frame on its own."""
    live = live_server
    reader = live.platform.bearer("radiologist")
    dicomweb = f"{live.url}/dicomweb"
    with httpx.Client(headers=reader, timeout=30) as http:
        studies = http.get(
            f"{dicomweb}/studies",
            params={"limit": 101, "offset": 0, "fuzzymatching": "false", "includefield": "00081030,00080060"},
            headers={"Accept": "application/dicom+json"},
        )
        assert studies.status_code == 200
        study = next(s for s in studies.json() if value(s, "0020000D") == live.study_uid)
        assert value(study, "00081030") == "胸部CT平扫" and value(study, "00080060") == "CT"
        assert study["00080061"]["Value"] == ["CT"] and value(study, "00201208") == 30
        assert study["00100010"]["Value"][0]["Alphabetic"] == "张^秀英"

        (series,) = http.get(f"{dicomweb}/studies/{live.study_uid}/series").json()
        assert value(series, "0020000E") == live.series_uid
        assert value(series, "00080060") == "CT" and value(series, "00201209") == 30

        metadata = http.get(f"{dicomweb}/studies/{live.study_uid}/series/{live.series_uid}/metadata").json()
        assert len(metadata) == 30
        for item in metadata:
            for tag in (
                "00080018",
                "00280010",
                "00280011",
                "00280100",
                "00280103",
                "00280004",
                "00200032",
                "00281052",
            ):
                assert tag in item, tag

        originals = {
            pydicom.dcmread(io.BytesIO(d)).SOPInstanceUID: pydicom.dcmread(io.BytesIO(d))
            for d in ct_series(n_slices=30, rows=256, cols=256, seed=30, patient_name="张^秀英")
        }
        for item in metadata:
            sop = value(item, "00080018")
            response = http.get(
                f"{dicomweb}/studies/{live.study_uid}/series/{live.series_uid}/instances/{sop}/frames/1",
                headers={"Accept": OHIF_FRAME_ACCEPT},
            )
            assert response.status_code == 200
            (frame,) = parts(response)
            assert f"transfer-syntax={EXPLICIT_LE}" in response.content[:300].decode("latin-1").replace(
                '"', ""
            )
            rows, cols = value(item, "00280010"), value(item, "00280011")
            pixels = np.frombuffer(frame, "<u2").reshape(rows, cols)
            assert np.array_equal(pixels, originals[sop].pixel_array)


def test_dicomweb_client_retrieves_studies_and_series(live_server) -> None:
    live = live_server
    client = DICOMwebClient(url=f"{live.url}/dicomweb")
    client._session.headers.update(live.platform.bearer("radiologist"))
    study = client.retrieve_study(live.study_uid)
    assert len(study) == 30 and {ds.SeriesInstanceUID for ds in study} == {live.series_uid}
    series = client.retrieve_series(live.study_uid, live.series_uid)
    assert sorted(ds.InstanceNumber for ds in series) == list(range(1, 31))
    assert len(client.retrieve_study_metadata(live.study_uid)) == 30
    found = client.search_for_instances(live.study_uid, search_filters={"InstanceNumber": 7})
    assert [value(i, "00200013") for i in found] == [7]
    (ohif_like,) = client.search_for_studies(
        search_filters={"StudyInstanceUID": live.study_uid}, fields=["StudyDescription", "Modality"]
    )
    assert value(ohif_like, "00080060") == "CT"


@pytest.mark.parametrize(
    ("little", "big"), [("liver_1frame.dcm", "liver_expb_1frame.dcm"), ("rtdose.dcm", "rtdose_expb.dcm")]
)
def test_big_endian_frames_come_out_as_their_little_endian_twin(little: str, big: str) -> None:
    """Explicit VR Big Endian is decoded and re-packed: the same bytes as the little-endian file holds."""
    from imaging.dicom import frame_pixels

    le, be = (pydicom.dcmread(pydicom_test_file(name)) for name in (little, big))
    frames = int(le.get("NumberOfFrames", 1))
    size = len(le.PixelData) // frames
    for index in range(frames):
        assert (
            frame_pixels(be, index)
            == frame_pixels(le, index)
            == le.PixelData[index * size : (index + 1) * size]
        )
