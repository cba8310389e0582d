"""ECGs through the API: upload in any format, duplicates, clear 4xx for bad files with nothing stored,
the resumable upload routing ECGs (DICOM waveforms included) to the ECG path, access and audit, and the
whole way to a rendered page and measurements with a real worker process."""

from __future__ import annotations

import time

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from server.access.models import AuditEvent
from server.cases.models import Case, CaseKind, StoredFile
from server.community.models import Institution
from server.ecg.models import EcgRecord
from tests.support import ecg_factory
from tests.support.accounts import bearer, sign_in
from tests.support.paths import pydicom_test_file
from tests.support.uploads import create, patch

MORTARA = pydicom_test_file("waveform_ecg.dcm").read_bytes()


@pytest.fixture(scope="module")
def ecg_case(session_factory, demo) -> tuple[int, int]:
    """The demo village clinic's ECG case (李国强): its id and patient id."""
    with session_factory() as db:
        case = db.scalars(
            select(Case)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == CaseKind.ECG)
            .order_by(Case.id)  # the demo's case; other tests add more
        ).first()
        return case.id, case.patient_id


def counts(session_factory) -> tuple[int, int]:
    with session_factory() as db:
        return db.scalar(select(func.count()).select_from(EcgRecord)), db.scalar(
            select(func.count()).select_from(StoredFile)
        )


def post_ecg(client, csrf: str, case_id: int, data: bytes, filename: str = "ecg.bin"):
    return client.post(
        f"/api/cases/{case_id}/ecgs",
        params={"filename": filename},
        content=data,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )


def test_unsupported_and_broken_files_get_a_clear_4xx_and_leave_nothing(
    client, session_factory, ecg_case
) -> None:
    csrf = sign_in(client, "village")
    before = counts(session_factory)
    unsupported = post_ecg(client, csrf, ecg_case[0], b"%PDF-1.7 a scanned paper ECG", "scan.pdf")
    assert unsupported.status_code == 415, unsupported.text
    assert unsupported.json()["error"] == "unsupported_ecg_format"
    assert "HL7 aECG" in unsupported.json()["detail"] and "SCP-ECG" in unsupported.json()["accepted"]
    truncated = post_ecg(client, csrf, ecg_case[0], MORTARA[: len(MORTARA) // 3], "cut.dcm")
    assert truncated.status_code == 422 and truncated.json()["error"] == "invalid_ecg", truncated.text
    scp = bytearray(ecg_factory.scp_ecg(ecg_factory.synthetic_leads(), 500))
    scp[ecg_factory.scp_section_offset(scp, 3) + 16] = 40  # the lead table declares 40 leads, defines 12
    broken_scp = post_ecg(client, csrf, ecg_case[0], bytes(scp), "rec.scp")
    assert broken_scp.status_code == 422 and broken_scp.json()["error"] == "invalid_ecg", broken_scp.text
    assert post_ecg(client, csrf, ecg_case[0], b"").status_code == 422
    assert counts(session_factory) == before


def test_upload_is_stored_once_and_readable_by_the_centre_only(client, session_factory, ecg_case) -> None:
    case_id, patient_id = ecg_case
    data = ecg_factory.muse_xml(ecg_factory.synthetic_leads(), 500)
    csrf = sign_in(client, "village")
    first = post_ecg(client, csrf, case_id, data, "muse.xml")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "stored" and body["format"] == "ge_muse_xml" and len(body["leads"]) == 12
    again = post_ecg(client, csrf, case_id, data, "muse-again.xml")
    assert again.status_code == 200 and again.json() == {**body, "status": "duplicate"}
    with session_factory() as db:
        row = db.get(EcgRecord, body["id"])
        assert row.original_file.size == len(data) and row.original_file.sha256 == row.sha256
    # The ECG centre's reader sees it; the imaging reader (another centre) is refused, and audited.
    sign_in(client, "ecgreader")
    listed = client.get(f"/api/cases/{case_id}/ecgs").json()["items"]
    assert body["id"] in [item["id"] for item in listed]
    measurements = client.get(f"/api/ecgs/{body['id']}/measurements").json()
    assert measurements["device"]["measurements"]["pr_ms"] == 160
    assert measurements["device"]["statements"] == ["Normal sinus rhythm", "Normal ECG"]
    samples = client.get(f"/api/ecgs/{body['id']}/samples", params={"rate": 250}).json()
    assert samples["units"] == "uV" and samples["sampling_rate"] == 250
    assert len(samples["leads"]["II"]) == 2500 and set(samples["derived_leads"]) == {
        "III",
        "aVR",
        "aVL",
        "aVF",
    }
    assert client.get(f"/api/ecgs/{body['id']}/samples", params={"rate": "x"}).status_code == 400
    sign_in(client, "radiologist")
    assert client.get(f"/api/ecgs/{body['id']}").status_code == 403
    with session_factory() as db:
        reads = db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.resource_type == "ecg", AuditEvent.resource_id == str(body["id"])
            )
        ).all()
        denied = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "access_denied", AuditEvent.patient_id == patient_id)
        )
    assert reads.count("ecg_store") == 2 and reads.count("ecg_read") >= 2 and denied >= 1


def test_resumable_upload_routes_a_dicom_waveform_to_the_ecg_path(client, session_factory, ecg_case) -> None:
    headers = bearer(client, "village")
    url = create(client, headers, MORTARA, case_id=ecg_case[0], name="ecg.dcm")
    done = patch(client, url, headers, 0, MORTARA, checksum=True)
    assert done.status_code == 204 and done.headers["Upload-Result"] in {"stored", "duplicate"}, done.text
    state = client.get(url, headers=headers).json()
    assert state["result"] in {"stored", "duplicate"} and "ECG" in state["detail"]
    with session_factory() as db:
        assert db.scalar(
            select(EcgRecord).where(EcgRecord.case_id == ecg_case[0], EcgRecord.source_format == "dicom")
        )
    # Without a case an ECG cannot be placed: the upload ends invalid, saying why.
    wfdb = ecg_factory.wfdb_zip(ecg_factory.synthetic_leads(), 500)
    url = create(client, headers, wfdb, name="rec.zip")
    done = patch(client, url, headers, 0, wfdb)
    assert done.headers["Upload-Result"] == "invalid"
    assert "case_id" in client.get(url, headers=headers).json()["detail"]


def test_end_to_end_with_a_real_worker(live_server, session_factory, ecg_case) -> None:
    case_id = ecg_case[0]
    village = live_server.platform.bearer("village")
    uploaded = httpx.post(
        f"{live_server.url}/api/cases/{case_id}/ecgs",
        params={"filename": "waveform_ecg.dcm"},
        content=MORTARA,
        headers={**village, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert uploaded.status_code in {200, 201}, uploaded.text
    ecg_id = uploaded.json()["id"]
    reader = live_server.platform.bearer("ecgreader")
    deadline = time.monotonic() + 90
    while (state := httpx.get(f"{live_server.url}/api/ecgs/{ecg_id}", headers=reader).json())[
        "render_state"
    ] != "ready":
        assert state["render_state"] == "pending", state
        assert time.monotonic() < deadline, "the worker did not render the ECG in 90 s"
        time.sleep(0.5)
    automated = state["measurements"]["automated"]
    assert automated["source"] == "automated" and "neurokit2" in automated["method"]
    assert abs(automated["heart_rate_bpm"] - 61) <= 2
    assert state["measurements"]["device"]["measurements"]["qt_ms"] == 368
    png = httpx.get(f"{live_server.url}/api/ecgs/{ecg_id}/page.png", headers=reader)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    pdf = httpx.get(f"{live_server.url}/api/ecgs/{ecg_id}/page.pdf", headers=reader)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
