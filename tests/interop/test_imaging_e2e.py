"""End to end with independent clients: dcmtk's storescu in, dicomweb-client out, previews between."""

import io
from pathlib import Path

import httpx2 as httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient

from server.dicom.ingest import dataset_digest
from tests.support.dicom_factory import ct_series
from tests.support.dimse import dimse_process, storescu, write_files


@pytest.fixture
def dicomweb(live_server):
    """dicomweb-client as an outside system would use it: a requests session with a bearer token."""

    def client_for(username: str) -> DICOMwebClient:
        client = DICOMwebClient(url=f"{live_server.url}/dicomweb")
        client._session.headers.update(live_server.platform.bearer(username))
        return client

    return client_for


def test_storescu_series_is_indexed_previewed_found_and_returned_intact(
    live_server, village_id: int, tmp_path: Path
) -> None:
    series = ct_series(n_slices=10, rows=128, cols=128, seed=4242, patient_name="赵^一")
    first = pydicom.dcmread(io.BytesIO(series[0]))
    files = write_files(tmp_path, series)
    settings = live_server.platform.settings
    scp_dir = tmp_path / "scp"
    scp_dir.mkdir()
    with dimse_process(
        settings,
        f"VILLAGE_DR={village_id}:village",
        scp_dir,
        TELEMED_BROKER_URL=settings.broker_url,
        TELEMED_TASK_QUEUE=settings.task_queue,
    ) as scp:
        sent = storescu(scp, *files)
        assert sent.returncode == 0, sent.stderr

    village = live_server.platform.bearer("village")
    found = httpx.get(
        f"{live_server.url}/dicomweb/studies",
        params={"StudyInstanceUID": first.StudyInstanceUID},
        headers=village,
    ).json()
    assert found and found[0]["00201208"]["Value"] == [10]

    live_server.platform.wait_for_thumbnail("village", first.StudyInstanceUID, first.SeriesInstanceUID)
    client = DICOMwebClient(url=f"{live_server.url}/dicomweb")
    client._session.headers.update(village)
    sent_by_uid = {pydicom.dcmread(io.BytesIO(d)).SOPInstanceUID: d for d in series}
    for uid, data in sent_by_uid.items():
        returned = client.retrieve_instance(first.StudyInstanceUID, first.SeriesInstanceUID, uid)
        # storescu re-encodes the file meta; the data set it sent comes back unchanged.
        assert returned.PixelData == pydicom.dcmread(io.BytesIO(data)).PixelData
        assert returned.PatientName == "赵^一"
    assert len(sent_by_uid) == 10


def test_dicomweb_client_stores_searches_and_reads_metadata(dicomweb, live_server) -> None:
    instances = [
        pydicom.dcmread(io.BytesIO(d))
        for d in ct_series(n_slices=4, rows=64, cols=64, seed=8080, patient_name="钱^二")
    ]
    study_uid, series_uid = instances[0].StudyInstanceUID, instances[0].SeriesInstanceUID
    uploader = dicomweb("village")
    result = uploader.store_instances(instances)
    assert len(result.ReferencedSOPSequence) == 4

    studies = uploader.search_for_studies(search_filters={"PatientName": "钱*"})
    assert [s["0020000D"]["Value"][0] for s in studies] == [study_uid]
    series = uploader.search_for_series(study_uid)
    assert series[0]["0020000E"]["Value"][0] == series_uid
    metadata = uploader.retrieve_series_metadata(study_uid, series_uid)
    assert sorted(m["00080018"]["Value"][0] for m in metadata) == sorted(i.SOPInstanceUID for i in instances)
    frames = uploader.retrieve_instance_frames(
        study_uid, series_uid, instances[0].SOPInstanceUID, frame_numbers=[1]
    )
    assert frames[0] == instances[0].PixelData

    outsider = dicomweb("township")
    assert outsider.search_for_studies(search_filters={"StudyInstanceUID": study_uid}) == []


def test_dataset_digest_ignores_file_meta() -> None:
    data = ct_series(n_slices=1, rows=16, cols=16, seed=5)[0]
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.file_meta.ImplementationVersionName = "OTHER"
    other = io.BytesIO()
    ds.save_as(other, enforce_file_format=True)
    assert dataset_digest(other.getvalue()) == dataset_digest(data)
    assert dataset_digest(data[:-2] + b"\x00\x01") != dataset_digest(data)
