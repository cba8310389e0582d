"""Parse one DICOM instance from bytes, refuse what is broken, and expose what the platform indexes.

pydicom reads leniently: a file cut short mid-element or mid-pixel-data still yields a dataset. Ingest
must not store such files, so `parse_instance` adds the checks pydicom leaves out (element lengths,
trailing bytes, pixel data size, encapsulated fragments) and reports each problem in words.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pydicom import config, dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.valuerep import PersonName

__all__ = [
    "PIXEL_DATA_TAGS",
    "InvalidDicom",
    "ParsedInstance",
    "display_name",
    "frame_attribute",
    "frame_count",
    "frame_float",
    "parse_instance",
]

# Pixel Data, Float Pixel Data, Double Float Pixel Data: the image itself, never served as metadata.
PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
UNDEFINED_LENGTH = 0xFFFFFFFF
# Binary values whose base64 form is longer than this go out as a BulkDataURI, not inline.
BULK_DATA_THRESHOLD = 1024
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})
# pydicom 3.0.2 leaves this G1 designation (GB 2312) inside the decoded text of ISO 2022 IR 58 values.
_IR58_ESCAPE = "\x1b$)A"
_NOT_BARE_IMPLICIT = (
    "no DICOM preamble, and the data is not an Implicit VR Little Endian dataset, "
    "the only kind accepted without one"
)


class InvalidDicom(ValueError):
    """The bytes are not a usable DICOM instance; `reason` names the problem for the uploader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedInstance:
    """The identifying, display and geometry attributes of one validated instance.

    Text attributes are "" when absent, dates and times are the DICOM strings (DA ``YYYYMMDD``, TM
    ``HHMMSS.FFFFFF``) as QIDO-RS matches them, numbers are None when absent or malformed. For
    enhanced multi-frame objects the per-frame values are those of the first frame.
    """

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    modality: str
    patient_name: str
    patient_name_raw: str
    patient_id: str
    patient_sex: str
    patient_birth_date: str
    study_date: str
    study_time: str
    study_description: str
    accession_number: str
    series_number: int | None
    series_description: str
    body_part: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    number_of_frames: int
    photometric_interpretation: str
    bits_allocated: int | None
    bits_stored: int | None
    pixel_representation: int | None
    window_center: float | None
    window_width: float | None
    rescale_slope: float
    rescale_intercept: float
    pixel_spacing: tuple[float, float] | None
    slice_location: float | None
    image_position: tuple[float, float, float] | None
    specific_character_set: tuple[str, ...]
    dataset: Dataset = field(repr=False, compare=False)

    def metadata_json(self, bulk_data_uri_prefix: str = "bulkdata/") -> dict[str, Any]:
        """The dataset in the DICOM JSON model (PS3.18 F.2), as a DICOMweb metadata response serves it.

        Pixel data is left out. Other binary values longer than 1 KiB once base64-encoded (raw > 768
        bytes) are replaced by ``{"BulkDataURI": prefix + tag}``, e.g. ``bulkdata/00420011``. Values
        pydicom cannot put in JSON (malformed numbers) are left out rather than failing the response.
        """

        def bulk_data_uri(element: DataElement) -> str:
            return f"{bulk_data_uri_prefix}{element.tag:08X}"

        # What Dataset.to_json_dict(suppress_invalid_tags=True) does, without first copying the
        # dataset to leave the pixel data out: this runs once per instance at ingest.
        attributes = {}
        with config.strict_reading():
            for element in self.dataset:
                if element.tag in PIXEL_DATA_TAGS:
                    continue
                try:
                    attributes[f"{element.tag:08X}"] = element.to_json_dict(
                        bulk_data_element_handler=bulk_data_uri, bulk_data_threshold=BULK_DATA_THRESHOLD
                    )
                except Exception:  # a value JSON cannot carry is left out, as documented
                    continue
        return attributes


def parse_instance(data: bytes) -> ParsedInstance:
    """Read and validate one instance; raise `InvalidDicom` naming the first problem found.

    Files normally start with the 128-byte preamble and "DICM". A file without them is accepted only
    when it is a bare Implicit VR Little Endian dataset starting at group 0008 (the DICOM default
    transfer syntax, as old archives and DIMSE dumps write it); explicit VR without a preamble is
    refused because nothing then states its transfer syntax.
    """
    ds = _read(data)
    study_uid = _uid(ds, "StudyInstanceUID")
    series_uid = _uid(ds, "SeriesInstanceUID")
    sop_uid = _uid(ds, "SOPInstanceUID")
    sop_class_uid = _uid(ds, "SOPClassUID")
    _check_pixel_data(ds, UID(sop_class_uid))
    name = ds.get("PatientName")
    slope, intercept = frame_float(ds, "RescaleSlope"), frame_float(ds, "RescaleIntercept")
    return ParsedInstance(
        study_uid=study_uid,
        series_uid=series_uid,
        sop_uid=sop_uid,
        sop_class_uid=sop_class_uid,
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        modality=_text(ds, "Modality"),
        patient_name=display_name(name),
        patient_name_raw="" if name is None else str(name),
        patient_id=_text(ds, "PatientID"),
        patient_sex=_text(ds, "PatientSex"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        accession_number=_text(ds, "AccessionNumber"),
        series_number=_int(ds.get("SeriesNumber")),
        series_description=_text(ds, "SeriesDescription"),
        body_part=_text(ds, "BodyPartExamined"),
        instance_number=_int(ds.get("InstanceNumber")),
        rows=_int(ds.get("Rows")),
        columns=_int(ds.get("Columns")),
        number_of_frames=frame_count(ds),
        photometric_interpretation=_text(ds, "PhotometricInterpretation"),
        bits_allocated=_int(ds.get("BitsAllocated")),
        bits_stored=_int(ds.get("BitsStored")),
        pixel_representation=_int(ds.get("PixelRepresentation")),
        window_center=frame_float(ds, "WindowCenter"),
        window_width=frame_float(ds, "WindowWidth"),
        rescale_slope=1.0 if slope is None else slope,
        rescale_intercept=0.0 if intercept is None else intercept,
        pixel_spacing=_floats(frame_attribute(ds, "PixelSpacing"), 2),
        slice_location=_float(ds.get("SliceLocation")),
        image_position=_floats(frame_attribute(ds, "ImagePositionPatient"), 3),
        specific_character_set=_strings(ds.get("SpecificCharacterSet")),
        dataset=ds,
    )


def display_name(name: PersonName | str | None) -> str:
    """A person name as staff read it: the ideographic group when present, else the alphabetic one.

    Family, given and middle names in that order; joined without spaces when they hold CJK characters
    ("王^小东" -> "王小东"), with spaces otherwise ("Wang^XiaoDong" -> "Wang XiaoDong"). Prefixes
    and suffixes (titles) are left out.
    """
    if name is None:
        return ""
    groups = PersonName(str(name)).components
    chosen = next((g for g in (*groups[1:2], *groups[:1], *groups[2:]) if g.strip("^ ")), "")
    parts = [part.strip() for part in chosen.split("^")[:3] if part.strip()]
    joiner = (
        "" if any(unicodedata.east_asian_width(ch) in ("W", "F") for part in parts for ch in part) else " "
    )
    return joiner.join(parts)


def frame_count(ds: Dataset) -> int:
    """Frames in the pixel data: 0 when there is none, else Number of Frames (1 when absent or bad)."""
    if not any(tag in ds for tag in PIXEL_DATA_TAGS):
        return 0
    return max(_int(ds.get("NumberOfFrames")) or 1, 1)


def frame_attribute(ds: Dataset, keyword: str, frame: int = 0) -> Any:
    """The value of `keyword` for one frame, wherever the IOD keeps it.

    Enhanced multi-frame objects keep rescale, window, spacing and position in functional group
    macros (PS3.3 C.7.6.16): the frame's own Per-Frame item wins over the Shared one, which wins over
    the top level where classic single-frame objects keep them.
    """
    groups = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        groups.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    for group in groups:
        for macro in group:
            if macro.VR == "SQ" and macro.value and keyword in macro.value[0]:
                return macro.value[0][keyword].value
    return ds.get(keyword)


def frame_float(ds: Dataset, keyword: str, frame: int = 0) -> float | None:
    """The first value of a numeric attribute for one frame; None when absent or malformed."""
    return _float(frame_attribute(ds, keyword, frame))


def _read(data: bytes) -> Dataset:
    if not data:
        raise InvalidDicom("empty file")
    has_preamble = data[128:132] == b"DICM"
    if not has_preamble and data[:2] != b"\x08\x00":
        raise InvalidDicom("not a DICOM file: no 'DICM' marker after the 128-byte preamble")
    if not has_preamble and not _starts_like_bare_implicit(data):
        raise InvalidDicom(_NOT_BARE_IMPLICIT)
    try:
        # force=True only for the bare implicit-VR case, which pydicom otherwise refuses to read.
        ds = dcmread(BytesIO(data), force=not has_preamble)
        if not has_preamble:
            if ds.original_encoding != (True, True):
                raise InvalidDicom(_NOT_BARE_IMPLICIT)
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        transfer_syntax = ds.file_meta.get("TransferSyntaxUID")
        if not transfer_syntax:
            raise InvalidDicom("the file meta information has no Transfer Syntax UID (0002,0010)")
        _check_lengths(ds)
        if transfer_syntax != DeflatedExplicitVRLittleEndian:  # offsets are then in the inflated stream
            _check_no_trailing_bytes(ds, len(data))
        _decode_all(ds, "ISO 2022 IR 58" in _strings(ds.get("SpecificCharacterSet")))
    except InvalidDicom:
        raise
    except Exception as exc:  # pydicom signals broken input with many exception types
        raise InvalidDicom(
            f"unreadable DICOM data, truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    return ds


def _starts_like_bare_implicit(data: bytes) -> bool:
    """True when the first 8 bytes read as an Implicit VR Little Endian element header that fits.

    Explicit VR puts two VR letters where implicit VR has the high half of the length, so their
    length reads as larger than any upload.
    """
    return len(data) >= 8 and 8 + struct.unpack_from("<I", data, 4)[0] <= len(data)


def _check_lengths(ds: Dataset) -> None:
    """Refuse elements whose value ends before its stated length: pydicom keeps such short reads."""
    for element in ds.elements():
        if isinstance(element, RawDataElement):
            if element.length != UNDEFINED_LENGTH and len(element.value or b"") < element.length:
                raise InvalidDicom(
                    f"truncated file: element {Tag(element.tag)} holds {len(element.value or b'')} "
                    f"of its {element.length} bytes"
                )
        elif element.VR == "SQ":
            for item in element.value:
                _check_lengths(item)


def _check_no_trailing_bytes(ds: Dataset, size: int) -> None:
    """Refuse bytes after the last complete element: pydicom stops quietly at a cut element header.

    Only a last element still in raw form tells where it ended; a last sequence was parsed while
    reading, and pydicom already fails on a cut inside one.
    """
    last = ds.get_item(max(ds.keys())) if len(ds) else None
    if not isinstance(last, RawDataElement):
        return
    end = last.value_tell + len(last.value or b"")
    if last.length == UNDEFINED_LENGTH:
        end += 8  # the Sequence Delimitation Item closing encapsulated pixel data
    if end != size:
        raise InvalidDicom(f"truncated or corrupt file: {size - end} bytes after the last complete element")


def _decode_all(ds: Dataset, ir58: bool) -> None:
    """Decode every value now, so a bad one fails here and not later; repair GB 2312 text on the way."""
    for element in ds:
        if element.VR in _TEXT_VRS:
            _repair_gb2312(element, ir58)
        elif element.VR == "SQ":
            for item in element.value:
                _decode_all(item, ir58)


def _repair_gb2312(element: Any, ir58: bool) -> None:
    """Make ISO 2022 IR 58 (GB 2312) text read right, working around two pydicom 3.0.2 gaps.

    Conformant values designate GB 2312 with ESC $ ) A, which pydicom leaves in the text; and values
    with GB 2312 bytes but no escape (as pydicom itself writes them) come out as Latin-1 mojibake.
    `ir58`: the instance's Specific Character Set names ISO 2022 IR 58.
    """

    def repair(text: str) -> str:
        text = text.replace(_IR58_ESCAPE, "")
        if ir58 and any(0x80 <= ord(ch) <= 0xFF for ch in text) and all(ord(ch) <= 0xFF for ch in text):
            try:
                return text.encode("latin-1").decode("gb18030")
            except UnicodeError:
                return text
        return text

    value = element.value
    if isinstance(value, MultiValue):
        fixed = [type(v)(repair(str(v))) for v in value]
        if fixed != list(value):
            element.value = fixed
    elif isinstance(value, str | PersonName) and value and repair(str(value)) != str(value):
        element.value = type(value)(repair(str(value)))


def _uid(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None or value == "":
        raise InvalidDicom(f"missing {keyword}")
    text = str(value) if isinstance(value, str) else "\\".join(map(str, value))
    if len(text) > 64 or not _UID.fullmatch(text):
        raise InvalidDicom(
            f"invalid {keyword} {text[:80]!r}: a UID is at most 64 digits and dots, "
            "with no empty component and no leading zero"
        )
    return text


def _check_pixel_data(ds: Dataset, sop_class: UID) -> None:
    """Refuse image objects whose pixel data is missing, short, or not well-formed fragments."""
    if "PixelData" not in ds:
        if any(tag in ds for tag in PIXEL_DATA_TAGS):
            return  # float pixel data: length is checked by the element check, frames by the decoder
        if "Image Storage" in sop_class.name or "Rows" in ds:
            raise InvalidDicom(f"no pixel data in this {sop_class.name or 'image'} (file cut short?)")
        return
    missing = [kw for kw in ("Rows", "Columns", "BitsAllocated") if _int(ds.get(kw)) in (None, 0)]
    if missing:
        raise InvalidDicom(f"pixel data present but the Image Pixel module lacks {', '.join(missing)}")
    frames = frame_count(ds)
    value = ds.PixelData or b""
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        _check_fragments(value, frames)
        return
    samples = _int(ds.get("SamplesPerPixel")) or 1
    if ds.get("PhotometricInterpretation") == "YBR_FULL_422":
        samples = 2  # two chroma samples shared by each pair of pixels (PS3.3 C.7.6.3.1.2)
    bits = ds.Rows * ds.Columns * samples * ds.BitsAllocated * frames
    expected = (bits + 7) // 8
    if len(value) < expected:
        raise InvalidDicom(
            f"truncated pixel data: {len(value)} of {expected} bytes for {frames} frame(s) of "
            f"{ds.Rows}x{ds.Columns}, {samples} sample(s) of {ds.BitsAllocated} bits"
        )


def _check_fragments(value: bytes, frames: int) -> None:
    """Walk the encapsulated items (PS3.5 A.4): offset table, then at least one fragment per frame."""
    lengths: list[int] = []
    position = 0
    while position < len(value):
        if position + 8 > len(value):
            raise InvalidDicom("truncated encapsulated pixel data: an item header is cut short")
        group, element, length = struct.unpack_from("<HHI", value, position)
        if (group, element) != (0xFFFE, 0xE000) or length == UNDEFINED_LENGTH:
            raise InvalidDicom(
                f"corrupt encapsulated pixel data: expected a fragment item at offset {position}, "
                f"found ({group:04X},{element:04X})"
            )
        if position + 8 + length > len(value):
            raise InvalidDicom(
                f"truncated encapsulated pixel data: fragment {len(lengths)} holds "
                f"{len(value) - position - 8} of its {length} bytes"
            )
        lengths.append(length)
        position += 8 + length
    fragments = lengths[1:]  # the first item is the Basic Offset Table
    if not any(fragments):
        raise InvalidDicom("encapsulated pixel data holds no compressed fragment")
    if len(fragments) < frames:
        raise InvalidDicom(f"encapsulated pixel data has {len(fragments)} fragments for {frames} frames")


def _first(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return value[0] if len(value) else None
    return value


def _text(ds: Dataset, keyword: str) -> str:
    value = _first(ds.get(keyword))
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    try:
        return int(_first(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(_first(value))
    except (TypeError, ValueError):
        return None


def _floats(value: Any, count: int) -> tuple[Any, ...] | None:
    if not isinstance(value, MultiValue | list | tuple) or len(value) < count:
        return None
    try:
        return tuple(float(v) for v in value[:count])
    except (TypeError, ValueError):
        return None


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, MultiValue | list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)
