"""Which ECG format a file is in, decided from its content (a file name can lie), and reading it."""

from __future__ import annotations

import re
from pathlib import Path

from ecgdatakit.parsing.parsers.scp_ecg import SCPECGParser

from imaging.ecg.dicom_waveform import read_dicom_waveform
from imaging.ecg.record import EcgRecord, InvalidEcg, UnsupportedEcg
from imaging.ecg.vendor import read_vendor
from imaging.ecg.wfdb_record import read_wfdb_zip

ACCEPTED_FORMATS = (
    "DICOM waveform (12-Lead ECG, General ECG)",
    "HL7 aECG XML",
    "SCP-ECG (EN 1064)",
    "GE MUSE XML",
    "Philips Sierra XML",
    "MIT/WFDB (.hea + .dat in one ZIP archive)",
)
ACCEPTED = "; ".join(ACCEPTED_FORMATS)
FORMAT_NAMES = {
    "dicom": "DICOM waveform",
    "hl7_aecg": "HL7 aECG XML",
    "scp_ecg": "SCP-ECG",
    "ge_muse_xml": "GE MUSE XML",
    "philips_sierra_xml": "Philips Sierra XML",
    "wfdb": "MIT/WFDB",
}
# The root element of each XML format (the first element after the prolog and any comments).
_XML_ROOTS = {"annotatedecg": "hl7_aecg", "restingecg": "ge_muse_xml", "restingecgdata": "philips_sierra_xml"}
_XML_ROOT = re.compile(rb"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")


def unsupported(what: str) -> UnsupportedEcg:
    return UnsupportedEcg(f"{what} is not an ECG format the platform reads; accepted formats: {ACCEPTED}")


def _xml_format(data: bytes) -> str:
    head = data[:4096]
    for bom in (b"\xef\xbb\xbf",):
        head = head.removeprefix(bom)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode()
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.DOTALL)
    match = _XML_ROOT.search(head)
    root = match.group(1).decode("ascii", errors="replace") if match else ""
    if root.lower() not in _XML_ROOTS:
        raise unsupported(f"an XML document with root element <{root}>" if root else "this XML document")
    return _XML_ROOTS[root.lower()]


def _is_scp(data: bytes) -> bool:
    """SCP-ECG by the header of section 0, as ecgdatakit recognises it: the record length is left to
    the parser, so a truncated file is reported as a broken SCP-ECG rather than an unknown format."""
    return SCPECGParser.can_parse(Path(), data[:32])


def detect_format(data: bytes, filename: str = "") -> str:
    """The format's short name (a key of `FORMAT_NAMES`); `UnsupportedEcg` names the accepted ones."""
    if not data:
        raise InvalidEcg("the file is empty")
    if data[128:132] == b"DICM":
        return "dicom"
    if data.startswith(b"PK\x03\x04"):
        return "wfdb"
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<") or data.startswith((b"\xff\xfe<", b"\xfe\xff\x00<")):
        return _xml_format(data)
    if _is_scp(data):
        return "scp_ecg"
    if filename.lower().endswith(".hea") or (stripped[:200].isascii() and b".dat " in stripped[:400]):
        raise InvalidEcg("a WFDB record is a .hea and a .dat file: upload both together in one ZIP archive")
    raise unsupported(f"the file {filename!r}" if filename else "the file")


def read_ecg(data: bytes, filename: str = "") -> EcgRecord:
    """Read any accepted ECG file. `InvalidEcg` (or its `UnsupportedEcg`) says what is wrong with it."""
    source_format = detect_format(data, filename)
    if source_format == "dicom":
        return read_dicom_waveform(data)
    if source_format == "wfdb":
        return read_wfdb_zip(data)
    return read_vendor(data, source_format)
