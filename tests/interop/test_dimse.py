"""C-STORE from real dcmtk tools to a real `telemed dimse` process: who may send, what is stored, failures.

The stored object never equals the file on disk as a whole: pynetdicom puts its own file meta in front
of the data set it receives. What must equal the file is everything after the file meta — whenever
storescu sends the data set as the file holds it. storescu encodes each data set afresh; for files with
group length elements or an OW encapsulated Pixel Data (David Clunie's, among pydicom's test files) it
drops the former and corrects the latter, so for those only the compressed pixel data is compared: it
must arrive in its own transfer syntax, never transcoded.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage
from pynetdicom import AE
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.core.config import ConfigError, DimsePeer, Settings, load_settings
from server.dicom.models import DicomInstance
from server.dimse.scp import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, SUCCESS, resolve_peers
from server.storage import open_store
from tests.support.dicom_factory import ct_series, truncated
from tests.support.dimse import Scp, dimse_process, storescu, write_files
from tests.support.paths import pydicom_test_file

# pydicom test files with distinct SOP instance UIDs, each with the storescu option that proposes its
# transfer syntax (besides the uncompressed ones).
SENT_AS_IS = {
    "SC_rgb_jpeg_dcmtk.dcm": "-xy",  # JPEG baseline
    "SC_rgb_rle.dcm": "-xr",  # RLE lossless
    "GDCMJ2K_TextGBR.dcm": "-xv",  # JPEG 2000 lossless
}
REENCODED_BY_STORESCU = {
    "JPEG2000.dcm": "-xw",  # JPEG 2000
    "JPGExtended.dcm": "-xx",  # JPEG extended (12 bit)
    "MR_small_jpeg_ls_lossless.dcm": "-xt",  # JPEG-LS lossless
}


@pytest.fixture(scope="module")
def scp(settings: Settings, village_id: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scp]:
    with dimse_process(settings, f"VILLAGE_DR={village_id}:village", tmp_path_factory.mktemp("dimse")) as scp:
        yield scp


def echoscu(scp: Scp, calling: str = "VILLAGE_DR") -> subprocess.CompletedProcess[str]:
    command = ["echoscu", "-aec", "TELEMED", "-aet", calling, "127.0.0.1", str(scp.port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def after_meta(data: bytes) -> bytes:
    """The bytes after the preamble and file meta group: the data set as it went over the network."""
    meta = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta
    return data[128 + 4 + 12 + meta.FileMetaInformationGroupLength :]


def sop_uid(path: Path) -> str:
    return pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID


def count(db: Session, uid: str) -> int:
    found = db.scalar(select(func.count()).select_from(DicomInstance).where(DicomInstance.sop_uid == uid))
    assert found is not None
    return found


def queued_tasks(scp: Scp) -> set[tuple[str, tuple[Any, ...]]]:
    """The tasks the SCP has queued: (name, arguments)."""
    tasks = set()
    for path in scp.queue.glob("*.msg"):
        message = json.loads(path.read_text())
        args, _kwargs, _options = json.loads(base64.b64decode(message["body"]))
        tasks.add((message["headers"]["task"], tuple(tuple(a) if isinstance(a, list) else a for a in args)))
    return tasks


def c_store(scp: Scp, *paths: Path) -> list[Dataset]:
    """Send files with pynetdicom, which sends the bytes after the file meta as they are, unparsed."""
    ae = AE(ae_title="VILLAGE_DR")
    ae.add_requested_context(CTImageStorage, pydicom.uid.ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="TELEMED")
    assert assoc.is_established
    try:
        return [assoc.send_c_store(path) for path in paths]
    finally:
        assoc.release()


def test_known_peer_echoes_and_an_unknown_calling_ae_is_rejected(scp: Scp) -> None:
    assert echoscu(scp).returncode == 0
    rejected = echoscu(scp, calling="STRANGER")
    assert rejected.returncode != 0
    assert "Reason: Calling AE Title Not Recognized" in rejected.stderr
    assert "calling AE title 'STRANGER' is not in TELEMED_DIMSE_PEERS" in scp.log.read_text()


def test_series_and_compressed_files_are_indexed_with_the_bytes_sent(
    scp: Scp, village_id: int, settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    series = write_files(tmp_path, ct_series(n_slices=5, rows=64, cols=64, seed=811, patient_name="王^村"))
    sent = storescu(scp, *series)
    assert sent.returncode == 0, sent.stderr
    compressed = {}
    for name, propose in (SENT_AS_IS | REENCODED_BY_STORESCU).items():
        compressed[name] = Path(shutil.copy(pydicom_test_file(name), tmp_path / name))
        sent = storescu(scp, compressed[name], propose=propose)
        assert sent.returncode == 0, sent.stderr

    store = open_store(settings)
    with session_factory() as db:
        for path in series + list(compressed.values()):
            original = pydicom.dcmread(path)
            instance = db.scalar(
                select(DicomInstance).where(DicomInstance.sop_uid == original.SOPInstanceUID)
            )
            assert instance is not None, f"{path.name} was not indexed"
            assert instance.transfer_syntax_uid == original.file_meta.TransferSyntaxUID, path.name
            assert instance.series.study.institution_id == village_id
            stored = store.read_bytes(instance.stored_file.object_key)
            meta = pydicom.dcmread(io.BytesIO(stored), stop_before_pixels=True).file_meta
            assert meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
            assert meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
            if path.name in REENCODED_BY_STORESCU:
                assert pydicom.dcmread(io.BytesIO(stored)).PixelData == original.PixelData, path.name
            else:
                assert after_meta(stored) == after_meta(path.read_bytes()), path.name

        new_ids = {
            instance.id: instance.series_id
            for instance in db.scalars(
                select(DicomInstance).where(DicomInstance.sop_uid.in_([sop_uid(path) for path in series]))
            )
        }
        first = pydicom.dcmread(series[0], stop_before_pixels=True)
        audit = db.scalar(select(AuditEvent).where(AuditEvent.resource_id == first.SOPInstanceUID))
        assert audit is not None
        assert (audit.action, audit.username, audit.outcome) == ("dicom_store", "village", "ok")
        assert audit.detail == {
            "via": "c-store",
            "calling_ae": "VILLAGE_DR",
            "status": "stored",
            "study": first.StudyInstanceUID,
        }
    # Once the association has closed: previews of each new instance, one thumbnail for the series.
    [series_id] = set(new_ids.values())
    thumbnail = ("imaging.render_series_thumbnail", (series_id,))
    deadline = time.monotonic() + 5
    while thumbnail not in queued_tasks(scp) and time.monotonic() < deadline:
        time.sleep(0.1)
    queued = queued_tasks(scp)
    assert thumbnail in queued
    batched = [ids for name, (ids, *_rest) in queued if name == "imaging.render_previews"]
    assert set(new_ids) <= {i for ids in batched for i in ids}  # every new instance (other tests' too)


def test_sending_the_same_file_twice_keeps_one_instance(
    scp: Scp, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    [path] = write_files(tmp_path, ct_series(n_slices=1, rows=32, cols=32, seed=812))
    assert storescu(scp, path).returncode == 0
    again = storescu(scp, path)
    assert again.returncode == 0, again.stderr
    assert "Received Store Response (Success)" in again.stderr
    with session_factory() as db:
        assert count(db, sop_uid(path)) == 1
        statuses = db.scalars(
            select(AuditEvent.detail).where(AuditEvent.resource_id == sop_uid(path)).order_by(AuditEvent.id)
        ).all()
        assert [detail["status"] for detail in statuses] == ["stored", "duplicate"]


def test_one_new_series_over_concurrent_associations_is_indexed_whole(
    scp: Scp, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Every slice needs the same new study and series rows; whoever loses that race must not be lost."""
    paths = write_files(tmp_path, ct_series(n_slices=6, rows=32, cols=32, seed=815))
    start = threading.Barrier(len(paths))
    statuses: dict[Path, int] = {}

    def send(path: Path) -> None:
        start.wait()
        [statuses[path]] = [status.Status for status in c_store(scp, path)]

    threads = [threading.Thread(target=send, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == dict.fromkeys(paths, SUCCESS)
    with session_factory() as db:
        assert [count(db, sop_uid(path)) for path in paths] == [1] * len(paths)


def test_unusable_instances_are_refused_and_the_scp_keeps_serving(
    scp: Scp, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good, cut, no_study = write_files(tmp_path, ct_series(n_slices=3, rows=32, cols=32, seed=813))
    cut.write_bytes(truncated(cut.read_bytes()))
    dataset = pydicom.dcmread(no_study)
    del dataset.StudyInstanceUID
    dataset.save_as(no_study)

    # storescu sends a data set without a Study Instance UID, but refuses to read a cut-off file.
    refused = storescu(scp, no_study)
    assert refused.returncode != 0
    assert "Received Store Response (Error: CannotUnderstand)" in refused.stderr
    assert "Bad DICOM file" in storescu(scp, cut).stderr
    # pynetdicom sends what follows the file meta unparsed, so the cut-off file reaches the SCP,
    # and the next instance on the same association is stored.
    cut_status, good_status = c_store(scp, cut, good)
    assert cut_status.Status == CANNOT_UNDERSTAND
    assert good_status.Status == SUCCESS
    assert echoscu(scp).returncode == 0

    with session_factory() as db:
        assert [count(db, sop_uid(path)) for path in (good, cut, no_study)] == [1, 0, 0]
        failures = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "dicom_store", AuditEvent.outcome == "failed")
        ).all()
        reasons = [event.detail["reason"] for event in failures if event.detail.get("via") == "c-store"]
        assert "missing StudyInstanceUID" in reasons
        assert cut_status.ErrorComment in [reason[:64] for reason in reasons]


def test_an_unavailable_store_asks_the_modality_to_send_again_later(
    settings: Settings, village_id: int, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    [path] = write_files(tmp_path, ct_series(n_slices=1, rows=32, cols=32, seed=814))
    broken_store = {"TELEMED_STORAGE_ROOT": str(tmp_path / "not-a-folder" / "objects")}
    with dimse_process(settings, f"VILLAGE_DR={village_id}", tmp_path, **broken_store) as scp:
        [status] = c_store(scp, path)
        assert status.Status == OUT_OF_RESOURCES
        assert "send again later" in status.ErrorComment
    with session_factory() as db:
        assert count(db, sop_uid(path)) == 0


def test_peers_are_checked_against_the_database(
    session_factory: sessionmaker[Session], village_id: int
) -> None:
    with session_factory() as db:
        peers = resolve_peers(db, (DimsePeer("VILLAGE_DR", village_id, "village"),))
        assert peers["VILLAGE_DR"].institution_id == village_id
        with pytest.raises(ConfigError, match="institution 999999, which does not exist"):
            resolve_peers(db, (DimsePeer("VILLAGE_DR", 999999),))
        with pytest.raises(ConfigError, match="user 'radiologist', which is not an active user"):
            resolve_peers(db, (DimsePeer("VILLAGE_DR", village_id, "radiologist"),))


def test_peer_setting_is_parsed() -> None:
    settings = load_settings(
        environ={
            "TELEMED_SECRET_KEY": "k" * 40,
            "TELEMED_DIMSE_PEERS": " VILLAGE_DR=3:village, TOWNSHIP CT=4 ,",
        }
    )
    assert settings.dimse_peers == (DimsePeer("VILLAGE_DR", 3, "village"), DimsePeer("TOWNSHIP CT", 4))
    assert (settings.dimse_port, settings.dimse_ae_title) == (11112, "TELEMED")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TELEMED_DIMSE_PEERS", "VILLAGE_DR", "must look like CALLING_AE=INSTITUTION_ID"),
        ("TELEMED_DIMSE_PEERS", "VILLAGE_DR=three", "must look like CALLING_AE=INSTITUTION_ID"),
        ("TELEMED_DIMSE_PEERS", "=3", "must not be empty"),
        ("TELEMED_DIMSE_PEERS", "A_VERY_LONG_AE_TITLE=3", "longer than 16"),
        ("TELEMED_DIMSE_PEERS", "VILLAGE\\DR=3", "other than backslash"),
        ("TELEMED_DIMSE_PEERS", "村卫生室=3", "printable ASCII"),
        ("TELEMED_DIMSE_PEERS", "DR=3,DR=4", "twice"),
        ("TELEMED_DIMSE_AE_TITLE", "TELEMED\tSCP", "printable ASCII"),
        ("TELEMED_DIMSE_PORT", "dicom", "whole number"),
    ],
)
def test_bad_dimse_settings_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=variable) as error:
        load_settings(environ={"TELEMED_SECRET_KEY": "k" * 40, variable: value})
    assert message in str(error.value)
