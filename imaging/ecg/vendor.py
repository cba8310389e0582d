"""HL7 aECG, SCP-ECG, GE MUSE XML and Philips Sierra XML, read with ecgdatakit's maintained parsers.

ecgdatakit reads each format into its own record model; this module maps that onto `EcgRecord`:
samples scaled to µV by the parser's own resolution for the format, the device's global measurements
and interpretation statements, filters, acquisition time and patient identifiers. The parsers work
on files, so the bytes are written to a private temporary file first.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
from ecgdatakit import ECGDataKitError, ECGRecord, Parser
from ecgdatakit.exceptions import ChecksumWarning
from ecgdatakit.parsing.parsers.ge_muse_xml import GEMuseXMLParser
from ecgdatakit.parsing.parsers.hl7_aecg import HL7aECGParser
from ecgdatakit.parsing.parsers.scp_ecg import SCPECGParser
from ecgdatakit.parsing.parsers.sierra_xml import SierraXMLParser

from imaging.ecg.record import EcgRecord, Filters, InvalidEcg, Patient, assemble

PARSERS: dict[str, type[Parser]] = {
    "hl7_aecg": HL7aECGParser,
    "scp_ecg": SCPECGParser,
    "ge_muse_xml": GEMuseXMLParser,
    "philips_sierra_xml": SierraXMLParser,
}
_MEASUREMENTS = {
    "heart_rate": "heart_rate_bpm",
    "rr_interval": "rr_ms",
    "pr_interval": "pr_ms",
    "qrs_duration": "qrs_ms",
    "qt_interval": "qt_ms",
    "qtc_bazett": "qtc_bazett_ms",
    "qtc_fridericia": "qtc_fridericia_ms",
    "p_axis": "p_axis_deg",
    "qrs_axis": "qrs_axis_deg",
    "t_axis": "t_axis_deg",
}


def read_vendor(data: bytes, source_format: str) -> EcgRecord:
    parser = PARSERS[source_format]
    with tempfile.TemporaryDirectory(prefix="telemed-ecg-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            # The parsers warn about optional fields a file leaves out, and (only warn) about a CRC
            # mismatch: the warnings are kept to name the damaged sections, the mismatch is refused.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parsed = parser().parse(path)
                physical = parsed.to_physical().convert_units("uV")
        except (ECGDataKitError, ValueError, KeyError, IndexError, TypeError, OSError) as exc:
            raise InvalidEcg(f"the {source_format} file cannot be read: {exc}") from None
    if parsed.raw_metadata.get("checksum_valid") is False:
        detail = next((str(w.message) for w in caught if issubclass(w.category, ChecksumWarning)), "")
        raise InvalidEcg(
            f"the {source_format} file is damaged: its checksum does not match its content"
            + (f" ({detail})" if detail else "")
            + "; send the original file again"
        )
    return _to_record(physical, source_format)


def _to_record(parsed: ECGRecord, source_format: str) -> EcgRecord:
    leads = [lead for lead in parsed.leads if len(lead.samples)]
    if not leads:
        raise InvalidEcg(f"the {source_format} file holds no waveform")
    rates = {lead.sampling_rate for lead in leads}
    if len(rates) != 1:
        raise InvalidEcg(f"the leads are sampled at different rates ({sorted(rates)} Hz)")
    measured = parsed.measurements
    measurements = {
        ours: float(value)
        for theirs, ours in _MEASUREMENTS.items()
        if (value := getattr(measured, theirs, None)) is not None
    }
    statements = tuple(
        text
        for statement in parsed.interpretation.statements
        if (text := " ".join(part for part in statement if part).strip())
    )
    device = parsed.recording.device
    filters = parsed.recording.acquisition.filters
    patient = parsed.patient
    return assemble(
        [lead.label for lead in leads],
        [np.asarray(lead.samples, dtype=np.float64) for lead in leads],
        float(rates.pop()),
        source_format,
        acquired_at=parsed.recording.date.isoformat() if parsed.recording.date else None,
        device=" ".join(part for part in (device.manufacturer, device.model) if part),
        filters=Filters(filters.highpass, filters.lowpass, filters.notch),
        device_measurements=measurements,
        device_statements=statements,
        patient=Patient(
            id=patient.patient_id,
            name=" ".join(part for part in (patient.last_name, patient.first_name) if part),
            sex=patient.sex,
            birth_date=patient.birth_date.date().isoformat() if patient.birth_date else "",
        ),
    )
