"""ECG fixtures: synthetic recordings of known rate, intervals and axis, written in every accepted format.

`synthetic_leads` builds each beat from compact-support waves (raised-cosine P, triangular Q-R-S,
raised-cosine T) placed at exact onsets, and projects a fixed heart vector onto the frontal leads, so
rate, PR, QRS, QT and axis are known by construction. Writers: WFDB (`wfdb.wrsamp`, zipped), HL7 aECG
(Debian biosig-tools' `save2gdf -f=HL7` from an EDF written here), GE MUSE XML and Philips Sierra XML
(small writers of the documented layouts), DICOM 12-lead (pydicom), and SCP-ECG (a minimal EN 1064
writer: sections 0, 1, 3, 6, uncompressed; biosig-tools 2.5's SCP writer emits empty files).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
PRECORDIAL_GAIN = {"V1": -0.6, "V2": -0.2, "V3": 0.3, "V4": 0.8, "V5": 1.0, "V6": 0.8}


@dataclass(frozen=True)
class Truth:
    rate_bpm: float = 75.0
    pr_ms: float = 160.0  # P onset → QRS onset
    qrs_ms: float = 90.0
    qt_ms: float = 380.0  # QRS onset → T end
    axis_deg: float = 60.0
    fs: int = 500
    duration_s: float = 10.0


def _hann(n: int) -> np.ndarray:
    return np.sin(np.linspace(0, math.pi, n)) ** 2


def _beat_vector(truth: Truth) -> tuple[np.ndarray, int]:
    """One beat of the heart vector's magnitude (µV) along its axis, and the QRS onset sample in it."""
    fs = truth.fs
    ms = fs / 1000
    p_len, pr, qrs, qt = int(100 * ms), int(truth.pr_ms * ms), int(truth.qrs_ms * ms), int(truth.qt_ms * ms)
    beat = np.zeros(int(60 / truth.rate_bpm * fs))
    onset = int(0.25 * fs)  # QRS onset, 250 ms into the beat
    p_start = onset - pr
    beat[p_start : p_start + p_len] += 150 * _hann(p_len)
    q, r, s = int(qrs * 0.2), int(qrs * 0.5), qrs - int(qrs * 0.2) - int(qrs * 0.5)
    beat[onset : onset + q] += np.linspace(0, -150, q)
    beat[onset + q : onset + q + r // 2] += np.linspace(-150, 1500, r // 2)
    beat[onset + q + r // 2 : onset + q + r] += np.linspace(1500, -300, r - r // 2)
    beat[onset + q + r : onset + qrs] += np.linspace(-300, 0, s)
    t_len = int(180 * ms)
    t_start = onset + qt - t_len
    beat[t_start : t_start + t_len] += 350 * _hann(t_len)
    return beat, onset


def synthetic_leads(truth: Truth = Truth()) -> dict[str, np.ndarray]:
    """12 leads in µV (int32), the heart vector along `axis_deg`, known intervals in every beat."""
    beat, _ = _beat_vector(truth)
    n = int(truth.duration_s * truth.fs)
    rng = np.random.default_rng(5)
    vector = np.resize(beat, n) + rng.normal(0, 8, n)  # a little noise, as any real front end has
    lead_i = vector * math.cos(math.radians(truth.axis_deg))
    lead_ii = vector * math.cos(math.radians(truth.axis_deg - 60))
    # The other limb leads follow from I and II (Einthoven, Goldberger), as in any real recording.
    leads = {
        "I": lead_i,
        "II": lead_ii,
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }
    for name, gain in PRECORDIAL_GAIN.items():
        leads[name] = vector * gain
    return {name: np.rint(leads[name]).astype(np.int32) for name in LEADS}


def step_leads(fs: int = 500, duration_s: float = 10.0) -> dict[str, np.ndarray]:
    """Flat leads with a 1 mV, 1 s square pulse from 2 s in lead II: to check the page's scale."""
    n = int(fs * duration_s)
    leads = {name: np.zeros(n, dtype=np.int32) for name in LEADS}
    leads["II"][2 * fs : 3 * fs] = 1000
    return leads


# -- writers ---------------------------------------------------------------------------------------


def wfdb_zip(leads: dict[str, np.ndarray], fs: int, name: str = "rec") -> bytes:
    import wfdb

    with tempfile.TemporaryDirectory() as folder:
        names = list(leads)
        digital = np.stack([leads[n] for n in names], axis=1)
        wfdb.wrsamp(
            name,
            fs=fs,
            units=["mV"] * len(names),
            sig_name=names,
            d_signal=digital.astype(np.int32),
            fmt=["16"] * len(names),
            adc_gain=[1000.0] * len(names),
            baseline=[0] * len(names),
            write_dir=folder,
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for suffix in (".hea", ".dat"):
                archive.write(Path(folder) / f"{name}{suffix}", f"{name}{suffix}")
        return buffer.getvalue()


def edf_bytes(leads: dict[str, np.ndarray], fs: int, highpass: float = 0.05, lowpass: float = 150) -> bytes:
    """One EDF data record holding the whole recording, 1 µV per unit (input for biosig-tools)."""
    names = list(leads)
    n = len(next(iter(leads.values())))
    duration = n // fs

    def field(value: object, width: int) -> bytes:
        return str(value).encode().ljust(width)[:width]

    header = b"".join(
        [
            field(0, 8), field("X X X X", 80), field("Startdate 15-JAN-2025 X X X", 80),
            field("15.01.25", 8), field("09.30.00", 8), field(256 * (len(names) + 1), 8), field("", 44),
            field(1, 8), field(duration, 8), field(len(names), 4),
        ]
    )  # fmt: skip
    per_signal = [
        [field(name, 16) for name in names],
        [field("", 80)] * len(names),
        [field("uV", 8)] * len(names),
        [field(-32768, 8)] * len(names),
        [field(32767, 8)] * len(names),
        [field(-32768, 8)] * len(names),
        [field(32767, 8)] * len(names),
        [field(f"HP:{highpass:g}Hz LP:{lowpass:g}Hz", 80)] * len(names),
        [field(duration * fs, 8)] * len(names),
        [field("", 32)] * len(names),
    ]
    body = np.stack([leads[name][: duration * fs] for name in names]).astype("<i2").tobytes()
    return header + b"".join(b"".join(column) for column in per_signal) + body


def has_biosig() -> bool:
    return shutil.which("save2gdf") is not None


def aecg_xml(leads: dict[str, np.ndarray], fs: int) -> bytes:
    """HL7 aECG written by biosig-tools (an independent writer) from the same samples."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "rec.edf", Path(folder) / "rec.xml"
        source.write_bytes(edf_bytes(leads, fs))
        subprocess.run(["save2gdf", "-f=HL7", str(source), str(target)], check=True, capture_output=True)
        return target.read_bytes()


MUSE_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")  # MUSE stores 8 leads; the rest are derived


def muse_xml(leads: dict[str, np.ndarray], fs: int, *, units_per_bit: float = 4.88) -> bytes:
    """A GE MUSE <RestingECG> export: 8 leads, base64 little-endian int16, LeadAmplitudeUnitsPerBit µV,
    each with the CRC-32 of its bytes (a reader refuses a lead whose CRC does not match)."""
    blocks = []
    for name in MUSE_LEADS:
        counts = np.rint(leads[name] / units_per_bit).astype("<i2")
        blocks.append(
            f"""<LeadData><LeadByteCountTotal>{counts.nbytes}</LeadByteCountTotal>
<LeadTimeOffset>0</LeadTimeOffset><LeadSampleCountTotal>{len(counts)}</LeadSampleCountTotal>
<LeadAmplitudeUnitsPerBit>{units_per_bit}</LeadAmplitudeUnitsPerBit><LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>
<LeadHighLimit>32767</LeadHighLimit><LeadLowLimit>-32768</LeadLowLimit><LeadID>{name}</LeadID>
<LeadOffsetFirstSample>0</LeadOffsetFirstSample><FirstSampleBaseline>0</FirstSampleBaseline>
<LeadSampleSize>2</LeadSampleSize><LeadOff>FALSE</LeadOff><BaselineSway>FALSE</BaselineSway>
<LeadDataCRC32>{zlib.crc32(counts.tobytes())}</LeadDataCRC32><WaveFormData>{base64.b64encode(counts.tobytes()).decode()}</WaveFormData></LeadData>"""
        )
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE RestingECG SYSTEM "restecg.dtd">
<RestingECG>
<MuseInfo><MuseVersion>9.0.9.18167</MuseVersion></MuseInfo>
<PatientDemographics><PatientID>MUSE0001</PatientID><PatientLastName>ZHANG</PatientLastName>
<PatientFirstName>XIUYING</PatientFirstName><Gender>FEMALE</Gender><DateofBirth>03-14-1958</DateofBirth></PatientDemographics>
<TestDemographics><DataType>RESTING</DataType><Site>1</Site><AcquisitionDevice>MAC55</AcquisitionDevice>
<AcquisitionTime>09:30:00</AcquisitionTime><AcquisitionDate>01-15-2025</AcquisitionDate></TestDemographics>
<RestingECGMeasurements><VentricularRate>75</VentricularRate><AtrialRate>75</AtrialRate><PRInterval>160</PRInterval>
<QRSDuration>90</QRSDuration><QTInterval>380</QTInterval><QTCorrected>424</QTCorrected><PAxis>60</PAxis>
<RAxis>60</RAxis><TAxis>60</TAxis></RestingECGMeasurements>
<Diagnosis><Modality>RESTING</Modality><DiagnosisStatement><StmtFlag>ENDSLINE</StmtFlag><StmtText>Normal sinus rhythm</StmtText></DiagnosisStatement>
<DiagnosisStatement><StmtFlag>ENDSLINE</StmtFlag><StmtText>Normal ECG</StmtText></DiagnosisStatement></Diagnosis>
<Waveform><WaveformType>Rhythm</WaveformType><WaveformStartTime>0</WaveformStartTime><NumberofLeads>8</NumberofLeads>
<SampleType>CONTINUOUS_SAMPLES</SampleType><SampleBase>{fs}</SampleBase><SampleExponent>0</SampleExponent>
<HighPassFilter>5</HighPassFilter><LowPassFilter>150</LowPassFilter><ACFilter>50</ACFilter>
{"".join(blocks)}</Waveform>
</RestingECG>
""".encode("iso-8859-1")


def sierra_xml(leads: dict[str, np.ndarray], fs: int) -> bytes:
    """A Philips Sierra <restingecgdata> 1.04 export with uncompressed Base64 16-bit samples
    lead after lead, 5 µV/count."""
    resolution = 5
    counts = np.stack([np.rint(leads[name] / resolution) for name in LEADS]).astype("<i2")
    n = counts.shape[1]
    return f"""<?xml version="1.0" encoding="utf-8"?>
<restingecgdata xmlns="http://www3.medical.philips.com">
<documentinfo><documentname>sierra.xml</documentname><documenttype>PhilipsECG</documenttype><documentversion>1.04</documentversion></documentinfo>
<dataacquisition date="2025-01-15" time="09:30:00"><machine machineid="1">PageWriter TC50</machine>
<signalcharacteristics><samplingrate>{fs}</samplingrate><resolution>{resolution}</resolution><acsetting>50</acsetting>
<hipass>0.05</hipass><lowpass>150</lowpass><notchfilterfreqs>50</notchfilterfreqs>
<signalresolution>{resolution}</signalresolution><signaloffset>0</signaloffset><signalsigned>1</signalsigned><numberchannelsvalid>12</numberchannelsvalid><numberchannelsallocated>12</numberchannelsallocated></signalcharacteristics>
<acquirer><departmentname>ECG</departmentname></acquirer></dataacquisition>
<patient><generalpatientdata><patientid>SIERRA01</patientid><name><lastname>LI</lastname><firstname>GUOQIANG</firstname></name><sex>Male</sex></generalpatientdata></patient>
<waveforms><parsedwaveforms durationperchannel="{n * 1000 // fs}" samplespersecond="{fs}" dataencoding="Base64" numberofleads="12" leadlabels="{" ".join(LEADS)}">{base64.b64encode(counts.tobytes()).decode()}</parsedwaveforms></waveforms>
</restingecgdata>
""".encode()


# SCP-ECG lead codes (EN 1064 section 3, table of lead identifications).
SCP_LEAD_CODES = {
    "I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
    "III": 61, "aVR": 62, "aVL": 63, "aVF": 64,
}  # fmt: skip
_SCP_PROTOCOL = 20  # SCP-ECG 2.0 (EN 1064:2005): byte 6 of section 6 is still the bimodal flag


def _crc_ccitt(data: bytes) -> int:
    """CRC-CCITT as EN 1064 specifies it: polynomial 0x1021, initial value 0xFFFF, no final XOR."""
    return binascii.crc_hqx(data, 0xFFFF)


def _scp_section(section_id: int, body: bytes) -> bytes:
    """A section: its 16-byte header (CRC over everything after the CRC field, id, length, versions,
    6 reserved bytes, "SCPECG" in section 0) and the body, padded to an even length as required."""
    if section_id and len(body) % 2:
        body += b"\x00"
    reserved = b"SCPECG" if section_id == 0 else bytes(6)
    rest = struct.pack("<HIBB6s", section_id, 16 + len(body), _SCP_PROTOCOL, _SCP_PROTOCOL, reserved) + body
    return struct.pack("<H", _crc_ccitt(rest)) + rest


def _scp_tag(tag: int, value: bytes) -> bytes:
    return struct.pack("<BH", tag, len(value)) + value


def _scp_text(text: str) -> bytes:
    return text.encode("ascii") + b"\x00"  # language code 0: ASCII, NUL-terminated


def _scp_device(manufacturer: str, model: str) -> bytes:
    """Section 1 tag 14, the acquiring device: 35 fixed bytes, then NUL-terminated strings (analysing
    program revision, serial number, system software, SCP implementation, manufacturer trade name)."""
    fixed = struct.pack(
        "<HHHBB6sBBBBB16s",
        1,  # institution number
        1,  # department number
        1,  # device id
        0,  # device type: cart
        255,  # manufacturer code: other (the trade name string says which)
        model.encode("ascii")[:5],  # NUL-padded to 6 bytes by the struct
        _SCP_PROTOCOL,
        0xA0,  # compatibility level: category I (header and rhythm data)
        0,  # language: 8-bit ASCII
        0,  # capabilities
        1,  # mains frequency: 50 Hz
        bytes(16),
    )
    strings = (b"", b"SN0001", b"1.0", b"telemed-tests", manufacturer.encode("ascii"))
    return fixed + bytes([len(strings[0]) + 1]) + b"".join(s + b"\x00" for s in strings)


def scp_ecg(
    leads: dict[str, np.ndarray],
    fs: int,
    *,
    avm_nv: int = 5000,
    acquired: tuple[int, int, int, int, int, int] = (2025, 1, 15, 9, 30, 0),
) -> bytes:
    """An SCP-ECG record (EN 1064 / ISO 11073-91064, protocol 2.0) of the given leads (µV): sections
    0 (pointers), 1 (header), 3 (lead definition) and 6 (rhythm data as plain 16-bit amplitudes, no
    section 2, so no Huffman coding, no differences, bimodal compression off), each with its CRC.
    `avm_nv` is section 6's amplitude value multiplier: nanovolts per count."""
    names = list(leads)
    n = len(leads[names[0]])
    year, month, day, hour, minute, second = acquired
    header = b"".join(
        [
            _scp_tag(0, _scp_text("WANG")),  # last name
            _scp_tag(1, _scp_text("JIANJUN")),  # first name
            _scp_tag(2, _scp_text("SCP00001")),  # patient id
            _scp_tag(8, bytes([1])),  # sex: male
            _scp_tag(14, _scp_device("Telemed", "ECG12")),
            _scp_tag(25, struct.pack("<HBB", year, month, day)),
            _scp_tag(26, bytes([hour, minute, second])),
            _scp_tag(27, struct.pack("<H", 5)),  # high-pass 0.05 Hz, in 0.01 Hz
            _scp_tag(28, struct.pack("<H", 150)),  # low-pass 150 Hz
            _scp_tag(255, b""),
        ]
    )
    all_simultaneous = 0x04 | (len(names) << 3)
    lead_definition = struct.pack("<BB", len(names), all_simultaneous) + b"".join(
        struct.pack("<IIB", 1, n, SCP_LEAD_CODES[name]) for name in names
    )
    counts = [np.clip(np.rint(leads[name] * 1000 / avm_nv), -32768, 32767).astype("<i2") for name in names]
    rhythm = (
        struct.pack("<HHBB", avm_nv, round(1_000_000 / fs), 0, 0)
        + b"".join(struct.pack("<H", c.nbytes) for c in counts)
        + b"".join(c.tobytes() for c in counts)
    )
    bodies = {1: header, 3: lead_definition, 6: rhythm}
    pointers_length = 16 + 12 * 10  # one pointer for each of sections 0-11, present or not
    sections, offsets, position = [], {0: (pointers_length, 7)}, 7 + pointers_length  # 1-based offsets
    for section_id, body in bodies.items():
        section = _scp_section(section_id, body)
        offsets[section_id] = (len(section), position)
        sections.append(section)
        position += len(section)
    pointers = b"".join(struct.pack("<HII", i, *offsets.get(i, (0, 0))) for i in range(12))
    record = _scp_section(0, pointers) + b"".join(sections)
    rest = struct.pack("<I", 6 + len(record)) + record
    return struct.pack("<H", _crc_ccitt(rest)) + rest


def scp_section_offset(record: bytes | bytearray, section_id: int) -> int:
    """Where a section starts in an SCP-ECG record (0-based), read from its section 0 pointer."""
    return struct.unpack_from("<I", record, 6 + 16 + 10 * section_id + 6)[0] - 1
