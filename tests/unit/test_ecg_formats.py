"""Every accepted ECG format read into the one representation: lead names, scaling and sample values
survive, and so does the stored form. Fixtures: pydicom's real Mortara 12-lead, and generated files."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest

from imaging.ecg import (
    STANDARD_LEADS,
    InvalidEcg,
    UnsupportedEcg,
    detect_format,
    from_bytes,
    read_ecg,
    to_bytes,
)
from tests.support import ecg_factory
from tests.support.paths import pydicom_test_file

MORTARA = pydicom_test_file("waveform_ecg.dcm")
TRUTH = ecg_factory.Truth()


@pytest.fixture(scope="module")
def leads() -> dict[str, np.ndarray]:
    return ecg_factory.synthetic_leads(TRUTH)


def test_dicom_waveform_scaled_to_microvolts() -> None:
    data = MORTARA.read_bytes()
    record = read_ecg(data, "anything.bin")  # the content decides, not the name
    ds = pydicom.dcmread(MORTARA)
    expected = ds.waveform_array(0)  # µV: the channels' sensitivity unit is uV (1.25 µV per count)
    assert record.source_format == "dicom"
    assert record.leads == STANDARD_LEADS
    assert record.sampling_rate == 1000 and record.samples.shape == (12, 10000)
    assert np.abs(record.samples.T - expected).max() <= 0.5  # rounded to whole µV, nothing more
    assert record.device == "Mortara Instrument, Inc. el250"
    assert record.acquired_at == "2013-01-25T10:59:19"
    assert (record.filters.highpass_hz, record.filters.lowpass_hz) == (0.05, 300.0)
    assert record.device_measurements == {
        "rr_ms": 982, "pr_ms": 161, "qrs_ms": 75, "qt_ms": 368, "qtc_ms": 370,
        "p_axis_deg": 74, "qrs_axis_deg": 52, "t_axis_deg": 57,
    }  # fmt: skip
    assert record.device_statements == ("RITMO SINUSALE", "ECG NORMALE")


def test_wfdb_zip_round_trips_exactly(leads) -> None:
    record = read_ecg(ecg_factory.wfdb_zip(leads, TRUTH.fs))
    assert record.source_format == "wfdb" and record.leads == STANDARD_LEADS
    for name in STANDARD_LEADS:
        np.testing.assert_array_equal(record.lead(name), leads[name])


@pytest.mark.skipif(not ecg_factory.has_biosig(), reason="Debian biosig-tools (save2gdf) not installed")
def test_hl7_aecg_written_by_biosig(leads) -> None:
    record = read_ecg(ecg_factory.aecg_xml(leads, TRUTH.fs), "rec.xml")
    assert record.source_format == "hl7_aecg" and record.leads == STANDARD_LEADS
    assert record.sampling_rate == TRUTH.fs
    assert (record.filters.highpass_hz, record.filters.lowpass_hz) == (0.05, 150.0)
    for name in STANDARD_LEADS:
        np.testing.assert_array_equal(record.lead(name), leads[name])


def test_ge_muse_xml_eight_leads_and_device_interpretation(leads) -> None:
    record = read_ecg(ecg_factory.muse_xml(leads, TRUTH.fs, units_per_bit=4.88))
    assert record.source_format == "ge_muse_xml" and record.leads == STANDARD_LEADS
    assert set(record.derived_leads) == {"III", "aVR", "aVL", "aVF"}
    for name in STANDARD_LEADS:  # stored leads within half a count; derived ones within a count
        assert np.abs(record.lead(name) - leads[name]).max() <= 4.88
    assert record.device_measurements["pr_ms"] == 160 and record.device_measurements["qrs_axis_deg"] == 60
    assert record.device_statements == ("Normal sinus rhythm", "Normal ECG")
    assert record.filters.notch_hz == 50 and record.patient.id == "MUSE0001"


def test_philips_sierra_xml(leads) -> None:
    record = read_ecg(ecg_factory.sierra_xml(leads, TRUTH.fs))
    assert record.source_format == "philips_sierra_xml" and record.leads == STANDARD_LEADS
    for name in STANDARD_LEADS:
        assert np.abs(record.lead(name) - leads[name]).max() <= 2.5  # 5 µV per count
    assert record.device == "PageWriter TC50"


@pytest.mark.parametrize("stored", [STANDARD_LEADS, ecg_factory.MUSE_LEADS], ids=["12-leads", "8-leads"])
def test_scp_ecg_round_trip(leads, stored: tuple[str, ...]) -> None:
    avm_nv = 5000
    data = ecg_factory.scp_ecg({name: leads[name] for name in stored}, TRUTH.fs, avm_nv=avm_nv)
    record = read_ecg(data, "ecg.bin")
    assert record.source_format == "scp_ecg" and record.leads == STANDARD_LEADS
    assert set(record.derived_leads) == set(STANDARD_LEADS) - set(stored)
    assert record.sampling_rate == TRUTH.fs and record.samples.shape == (12, TRUTH.fs * TRUTH.duration_s)
    step_uv = avm_nv / 1000
    for name in stored:  # half a count of quantisation, half a µV of rounding
        assert np.abs(record.lead(name) - leads[name]).max() <= step_uv / 2 + 0.5
    for name in record.derived_leads:  # computed from two quantised leads
        assert np.abs(record.lead(name) - leads[name]).max() <= step_uv + 1
    assert record.acquired_at == "2025-01-15T09:30:00"
    assert record.device == "Telemed ECG12"
    assert (record.patient.id, record.patient.name, record.patient.sex) == ("SCP00001", "WANG JIANJUN", "M")
    assert (record.filters.highpass_hz, record.filters.lowpass_hz) == (0.05, 150.0)


@pytest.mark.skipif(not ecg_factory.has_biosig(), reason="Debian biosig-tools (save2gdf) not installed")
def test_scp_ecg_writer_agrees_with_biosig(leads, tmp_path: Path) -> None:
    """biosig's own SCP-ECG reader (independent of ecgdatakit) sees the same leads, rate and scale."""
    path = tmp_path / "rec.scp"
    path.write_bytes(ecg_factory.scp_ecg(leads, TRUTH.fs, avm_nv=2500))
    shown = subprocess.run(["save2gdf", "-JSON", str(path)], check=True, capture_output=True, text=True)
    header = json.loads(shown.stdout[shown.stdout.index("{") :])
    assert header["TYPE"] == "SCP" and header["Samplingrate"] == TRUTH.fs
    assert header["NumberOfSamples"] == TRUTH.fs * TRUTH.duration_s
    assert [channel["Label"] for channel in header["CHANNEL"]] == list(STANDARD_LEADS)
    assert {(channel["scaling"], channel["PhysicalUnit"]) for channel in header["CHANNEL"]} == {(2.5, "uV")}
    started = datetime.fromisoformat(header["StartOfRecording"])  # biosig's time base rounds by µs
    assert abs(started - datetime(2025, 1, 15, 9, 30)) < timedelta(seconds=1)
    assert (header["Manufacturer"]["Name"], header["Manufacturer"]["Model"]) == ("Telemed", "ECG12")
    assert header["Patient"]["Id"] == "SCP00001"


def test_scp_ecg_with_an_inconsistent_lead_table_is_invalid(leads) -> None:
    data = bytearray(ecg_factory.scp_ecg(leads, TRUTH.fs))
    data[ecg_factory.scp_section_offset(data, 3) + 16] = 40  # 40 leads declared, 12 defined
    with pytest.raises(InvalidEcg, match="declares 40 leads") as raised:
        read_ecg(bytes(data))
    assert not isinstance(raised.value, UnsupportedEcg)


def test_truncated_scp_ecg_is_a_broken_scp_file(leads) -> None:
    data = ecg_factory.scp_ecg(leads, TRUTH.fs)
    with pytest.raises(InvalidEcg, match=r"declares \d+ bytes but the file has") as raised:
        read_ecg(data[: len(data) // 2])
    assert not isinstance(raised.value, UnsupportedEcg)


def test_scp_ecg_with_a_wrong_crc_is_invalid(leads) -> None:
    data = bytearray(ecg_factory.scp_ecg(leads, TRUTH.fs))
    data[-100] ^= 0xFF  # one sample byte of V6 changed in transit
    with pytest.raises(InvalidEcg, match="checksum does not match"):
        read_ecg(bytes(data))


def test_stored_form_round_trips_exactly() -> None:
    record = read_ecg(MORTARA.read_bytes())
    again = from_bytes(to_bytes(record))
    np.testing.assert_array_equal(again.samples, record.samples)
    assert again.samples.dtype == np.int32
    assert again.header() == record.header()
    assert len(to_bytes(record)) < 0.5 * len(MORTARA.read_bytes())


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 not an ecg",
        b"<html><body>hi</body></html>",
        b'<?xml version="1.0"?><MindrayECG/>',
        bytes(300),
    ],
    ids=["pdf", "html", "unknown-xml", "zeros"],
)
def test_unsupported_formats_name_the_accepted_ones(data: bytes) -> None:
    with pytest.raises(UnsupportedEcg) as raised:
        read_ecg(data, "x.ecg")
    for name in ("DICOM waveform", "HL7 aECG", "SCP-ECG", "GE MUSE", "Philips Sierra", "WFDB"):
        assert name in str(raised.value)


def test_truncated_and_broken_files_are_invalid(leads) -> None:
    dicom = MORTARA.read_bytes()
    muse = ecg_factory.muse_xml(leads, TRUTH.fs)
    for broken in (
        dicom[: len(dicom) // 2],
        muse[: len(muse) // 2],
        ecg_factory.wfdb_zip(leads, TRUTH.fs)[:400],
    ):
        with pytest.raises(InvalidEcg):
            read_ecg(broken)
    with pytest.raises(InvalidEcg, match="one ZIP"):
        read_ecg(b"rec 12 500 5000\nrec.dat 16 1000/mV 16 0 0 0 0 I\n", "rec.hea")


@pytest.mark.parametrize("signal_file", ["/etc/passwd", "../secret.dat", "other.dat"])
def test_wfdb_header_reads_only_files_of_its_archive(signal_file: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rec.hea", f"rec 1 500 5000\n{signal_file} 16 1000/mV 16 0 0 0 0 I\n")
        archive.writestr("rec.dat", bytes(10000))
    with pytest.raises(InvalidEcg):
        read_ecg(buffer.getvalue())


def test_detection_ignores_the_file_name(leads) -> None:
    assert detect_format(ecg_factory.muse_xml(leads, TRUTH.fs), "scan.dcm") == "ge_muse_xml"
    assert detect_format(MORTARA.read_bytes(), "ecg.xml") == "dicom"
