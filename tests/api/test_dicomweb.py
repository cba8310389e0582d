"""DICOM in by STOW-RS, found by QIDO-RS, returned unchanged by WADO-RS; bad files leave nothing behind."""

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from server.cases.models import Case, StoredFile
from server.community.models import Institution
from server.dicom.models import DicomConflict, DicomInstance
from tests.support.accounts import bearer
from tests.support.dicom_factory import ct_series, truncated
from tests.support.dicomweb import split_multipart, stow, uids


@pytest.fixture(scope="module")
def series() -> list[bytes]:
    return ct_series(n_slices=12, rows=64, cols=64, seed=7, patient_name="张^秀英")


@pytest.fixture
def village_case(session_factory) -> int:
    with session_factory() as db:
        return db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )


def test_stow_qido_wado_round_trip(client: TestClient, series, village_case, session_factory) -> None:
    village = bearer(client, "village")
    stored = stow(client, village, series, village_case)
    assert stored.status_code == 200, stored.text
    assert stored.headers["content-type"].startswith("application/dicom+json")
    assert len(uids(stored.json())) == len(series)

    reader = bearer(client, "radiologist")
    studies = client.get("/dicomweb/studies", params={"PatientName": "张*"}, headers=reader).json()
    study = next(s for s in studies if s["00201208"]["Value"] == [len(series)])
    study_uid = study["0020000D"]["Value"][0]
    assert study["00080061"]["Value"] == ["CT"]
    assert "张" in str(study["00100010"]["Value"][0])

    series_list = client.get(f"/dicomweb/studies/{study_uid}/series", headers=reader).json()
    series_uid = series_list[0]["0020000E"]["Value"][0]
    metadata = client.get(
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/metadata", headers=reader
    ).json()
    assert len(metadata) == len(series)
    assert all("InlineBinary" not in item.get("7FE00010", {}) for item in metadata)  # no pixel data
    assert {item["00100010"]["Value"][0]["Alphabetic"] for item in metadata} == {"张^秀英"}

    instances = client.get(
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances", headers=reader
    ).json()
    sop = instances[0]["00080018"]["Value"][0]
    retrieved = client.get(
        f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop}", headers=reader
    )
    assert retrieved.status_code == 200
    (payload,) = split_multipart(retrieved.headers["content-type"], retrieved.content)
    assert payload in series  # byte-identical to what was sent


def test_same_bytes_again_is_a_no_op_and_other_bytes_a_kept_conflict(
    client, series, village_case, session_factory
) -> None:
    village = bearer(client, "village")
    stow(client, village, series[:2], village_case)
    with session_factory() as db:
        before = db.scalar(select(func.count()).select_from(DicomInstance))
    again = stow(client, village, series[:2], village_case)
    assert again.status_code == 200
    altered = series[0][:-8] + bytes(8)  # same UIDs, different pixel bytes
    conflict = stow(client, village, [altered], village_case)
    assert conflict.status_code == 202
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(DicomInstance)) == before
        sop = uids(conflict.json())[0]
        assert (
            db.scalar(select(func.count()).select_from(DicomConflict).where(DicomConflict.sop_uid == sop))
            == 1
        )
        original = db.scalar(select(DicomInstance).where(DicomInstance.sop_uid == sop))
        key = original.stored_file.object_key
    assert client.app.state.store.read_bytes(key) == series[0]  # never overwritten


def test_truncated_file_gets_a_clear_failure_and_nothing_is_stored(
    client, village_case, session_factory
) -> None:
    village = bearer(client, "village")
    fresh = ct_series(n_slices=2, rows=64, cols=64, seed=99, patient_name="李^四")
    with session_factory() as db:
        files_before = db.scalar(select(func.count()).select_from(StoredFile))
    response = stow(client, village, [truncated(fresh[0])])
    assert response.status_code == 409
    failure = response.json()["00081198"]["Value"][0]
    assert failure["00081197"]["Value"] == [0xC000]
    assert "part 1" in failure["00000902"]["Value"][0]
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(StoredFile)) == files_before
    mixed = stow(client, village, [fresh[1], b"not a dicom file"])
    assert mixed.status_code == 202 and len(uids(mixed.json())) == 1


def test_stow_refuses_what_is_not_multipart_dicom(client) -> None:
    village = bearer(client, "village")
    wrong = client.post(
        "/dicomweb/studies", content=b"{}", headers={**village, "Content-Type": "application/json"}
    )
    assert wrong.status_code == 415


def test_studies_are_scoped_like_cases(client, series, village_case) -> None:
    stow(client, bearer(client, "village"), series, village_case)
    study_uid = None
    for study in client.get("/dicomweb/studies", headers=bearer(client, "village")).json():
        study_uid = study["0020000D"]["Value"][0]
    assert study_uid
    township = bearer(client, "township")  # another institution
    assert all(
        s["0020000D"]["Value"][0] != study_uid
        for s in client.get("/dicomweb/studies", headers=township).json()
    )
    assert client.get(f"/dicomweb/studies/{study_uid}/series", headers=township).status_code == 404
    assert client.get("/dicomweb/studies", headers=bearer(client, "trainee")).status_code == 403
    ecg_reader = client.get("/dicomweb/studies", headers=bearer(client, "ecgreader")).json()
    assert study_uid not in [s["0020000D"]["Value"][0] for s in ecg_reader]  # not the ECG centre's case


def test_same_data_set_with_other_file_meta_is_a_duplicate(client, village_case, session_factory) -> None:
    """C-STORE and STOW-RS of one image differ only in file meta (implementation UID, source AE)."""
    import io

    import pydicom
    from pydicom.uid import UID

    original = ct_series(n_slices=1, rows=32, cols=32, seed=77, patient_name="周^六")[0]
    ds = pydicom.dcmread(io.BytesIO(original))
    ds.file_meta.ImplementationClassUID = UID("1.2.3.4.5")
    ds.file_meta.SourceApplicationEntityTitle = "VILLAGE_DR"
    rewritten = io.BytesIO()
    ds.save_as(rewritten, enforce_file_format=True)
    assert rewritten.getvalue() != original

    village = bearer(client, "village")
    assert stow(client, village, [original], village_case).status_code == 200
    again = stow(client, village, [rewritten.getvalue()], village_case)
    assert again.status_code == 200  # no conflict warning
    with session_factory() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(DicomConflict)
                .where(DicomConflict.sop_uid == ds.SOPInstanceUID)
            )
            == 0
        )
