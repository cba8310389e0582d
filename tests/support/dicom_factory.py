"""Synthetic, valid DICOM instances made in memory, with pixel values the tests can predict.

The CT phantom has four tissues at known Hounsfield units, so a window preset's rendering of each can be
computed from the standard's formula. The same seed always gives the same bytes, UIDs included.
"""

from __future__ import annotations

import io
import math
from io import BytesIO

import numpy as np
import pydicom
from pydicom import dcmread, dcmwrite
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    MultiFrameSingleBitSecondaryCaptureImageStorage,
    RLELossless,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

__all__ = [
    "CHARSETS",
    "PHANTOM_HU",
    "US_BLOB_RGB",
    "bitmap_frames",
    "ct_series",
    "encode_text",
    "mr_instance",
    "multiframe_us",
    "phantom_points",
    "pixel_data_offset",
    "truncated",
    "us_blob_center",
    "without_preamble",
]

PHANTOM_HU = {"air": -1000, "lung": -800, "soft_tissue": 40, "bone": 1000}
NOISE_HU = 3  # uniform integer noise of at most this many HU on every pixel
US_BLOB_RGB = (220, 40, 40)

# Factory charset name -> Specific Character Set value. ISO 2022 IR 58 needs code extensions over ASCII.
CHARSETS: dict[str, str | list[str]] = {
    "ISO_IR 192": "ISO_IR 192",
    "GB18030": "GB18030",
    "GBK": "GBK",
    "ISO 2022 IR 58": ["ISO 2022 IR 6", "ISO 2022 IR 58"],
}
_PYTHON_CODECS = {"ISO_IR 192": "utf-8", "GB18030": "gb18030", "GBK": "gbk"}
_IR58_ESCAPE = b"\x1b$)A"
_DELIMITERS = "^=\\\r\n\t\f"  # each returns ISO 2022 text to its initial state (PS3.5 6.1.2.5.3)


def encode_text(text: str, charset: str) -> bytes:
    """Encode `text` as a DICOM writer conformant to PS3.5 does for the factory charset `charset`.

    For ISO 2022 IR 58 every run of Chinese characters after a delimiter is introduced by the G1
    designation ESC $ ) A (PS3.5 Annex J); pydicom 3.0.2 writes GB 2312 bytes without it.
    """
    if charset in _PYTHON_CODECS:
        return text.encode(_PYTHON_CODECS[charset])
    if charset != "ISO 2022 IR 58":
        raise ValueError(f"unsupported charset {charset!r}; use one of {', '.join(CHARSETS)}")
    out = bytearray()
    designated = False
    for char in text:
        if char.isascii():
            out += char.encode("ascii")
            designated = designated and char not in _DELIMITERS
        else:
            if not designated:
                out += _IR58_ESCAPE
                designated = True
            out += char.encode("gb2312")
    return bytes(out)


def ct_series(
    n_slices: int = 100,
    rows: int = 512,
    cols: int = 512,
    *,
    seed: int = 0,
    patient_name: str = "张^三",
    charset: str = "ISO_IR 192",
    signed: bool = False,
) -> list[bytes]:
    """An axial chest CT series: air, a soft-tissue body, a bone ring and two lungs (`PHANTOM_HU`).

    Stored as uint16 with Rescale Intercept -1024 (12 bits stored), or with `signed` as int16 holding
    HU directly. The lungs grow towards the middle of the series; every pixel has a little noise.
    """
    rng = np.random.default_rng(seed)
    ds = _patient_and_study(seed, patient_name, charset, "胸部CT平扫")
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesInstanceUID = _uid(seed, "ct-series")
    ds.FrameOfReferenceUID = _uid(seed, "ct-frame-of-reference")
    ds.SeriesNumber = 2
    _set_text(ds, "SeriesDescription", "胸部 5mm 软组织", charset)
    ds.BodyPartExamined = "CHEST"
    ds.KVP = 120
    ds.SliceThickness = 2.5
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = [0.7, 0.7]
    _grayscale(ds, rows, cols, bits_stored=16 if signed else 12, signed=signed)
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.RescaleIntercept = 0 if signed else -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"

    yy, xx = _grid(rows, cols)
    body = (xx / 0.42) ** 2 + (yy / 0.32) ** 2
    base = np.full((rows, cols), PHANTOM_HU["air"], np.int16)
    base[body <= 1] = PHANTOM_HU["soft_tissue"]
    base[(body <= 0.92**2) & (body > 0.80**2)] = PHANTOM_HU["bone"]
    offset = 0 if signed else 1024
    dtype = "<i2" if signed else "<u2"
    files = []
    for index in range(n_slices):
        hu = base.copy()
        hu[_lungs(yy, xx, _lung_scale(index, n_slices))] = PHANTOM_HU["lung"]
        hu += rng.integers(-NOISE_HU, NOISE_HU + 1, size=hu.shape, dtype=np.int16)
        z = -120.0 + 2.5 * index
        ds.SOPInstanceUID = _uid(seed, "ct-instance", index)
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [round(-0.35 * cols, 2), round(-0.35 * rows, 2), z]
        ds.SliceLocation = z
        ds.PixelData = (hu + offset).astype(dtype).tobytes()
        files.append(_write(ds))
    return files


def phantom_points(rows: int, cols: int) -> dict[str, tuple[int, int]]:
    """A (row, column) inside each tissue of `PHANTOM_HU`, on every slice of `ct_series`."""
    yy, xx = _grid(rows, cols)
    body = (xx / 0.42) ** 2 + (yy / 0.32) ** 2
    centre_row, centre_col = rows // 2, cols // 2
    ring_rows = np.flatnonzero(
        (body[:centre_row, centre_col] <= 0.92**2) & (body[:centre_row, centre_col] > 0.80**2)
    )
    return {
        "air": (2, 2),
        "bone": (int(ring_rows[len(ring_rows) // 2]), centre_col),
        "soft_tissue": (centre_row + rows // 7, centre_col),
        "lung": (centre_row, round(cols * 0.3)),
    }


def mr_instance(
    *,
    rows: int = 256,
    cols: int = 256,
    seed: int = 0,
    patient_name: str = "李^四",
    charset: str = "ISO_IR 192",
    monochrome1: bool = False,
) -> bytes:
    """An axial head MR slice: 12-bit unsigned, Window 1000/2000, optionally MONOCHROME1."""
    rng = np.random.default_rng(seed)
    ds = _patient_and_study(seed, patient_name, charset, "头颅MR平扫")
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = _uid(seed, "mr-instance")
    ds.SeriesInstanceUID = _uid(seed, "mr-series")
    ds.FrameOfReferenceUID = _uid(seed, "mr-frame-of-reference")
    ds.Modality = "MR"
    ds.SeriesNumber = 3
    _set_text(ds, "SeriesDescription", "T2 轴位", charset)
    ds.BodyPartExamined = "HEAD"
    ds.InstanceNumber = 1
    ds.PixelSpacing = [0.9, 0.9]
    ds.ImagePositionPatient = [round(-0.45 * cols, 2), round(-0.45 * rows, 2), 30.0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = 30.0
    _grayscale(ds, rows, cols, bits_stored=12, signed=False)
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.WindowCenter, ds.WindowWidth = 1000, 2000
    yy, xx = _grid(rows, cols)
    head = (xx / 0.4) ** 2 + (yy / 0.46) ** 2
    image = np.where(head <= 1, 900, 0) + np.where(head <= 0.8, 300, 0)
    image = image + np.where((xx / 0.08) ** 2 + (yy / 0.15) ** 2 <= 1, 1800, 0)  # ventricles, bright on T2
    image = image + rng.integers(0, 40, size=image.shape)
    ds.PixelData = image.astype("<u2").tobytes()
    return _write(ds)


def multiframe_us(
    frames: int = 10,
    rgb: bool = True,
    *,
    rows: int = 120,
    cols: int = 160,
    seed: int = 0,
    rle: bool = False,
) -> bytes:
    """An ultrasound cine loop: a grey speckled sector with a red Doppler blob moving left to right.

    Pixels are stored as RGB, or converted to YBR_FULL when `rgb` is false; `rle` compresses the frames.
    """
    rng = np.random.default_rng(seed)
    ds = _patient_and_study(seed, "王^五", "ISO_IR 192", "心脏超声")
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.SOPInstanceUID = _uid(seed, "us-instance", rgb, rle)
    ds.SeriesInstanceUID = _uid(seed, "us-series")
    ds.Modality = "US"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB" if rgb else "YBR_FULL"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = frames
    ds.FrameTime = 33.3
    ds.CineRate = 30
    ds.FrameIncrementPointer = 0x00181063  # Frame Time

    y, x = np.mgrid[0:rows, 0:cols]
    angle = np.degrees(np.arctan2(x - cols / 2, y + 1))
    sector = (np.abs(angle) <= 35) & (np.hypot(x - cols / 2, y) <= rows * 0.95)
    cine = np.zeros((frames, rows, cols, 3), np.uint8)
    for index in range(frames):
        speckle = rng.integers(40, 160, size=(rows, cols), dtype=np.uint8)
        cine[index][sector] = speckle[sector, None]
        centre_row, centre_col = us_blob_center(index, frames, rows, cols)
        cine[index][np.hypot(y - centre_row, x - centre_col) <= min(rows, cols) / 8] = US_BLOB_RGB
    if not rgb:
        cine = convert_color_space(cine, "RGB", "YBR_FULL")
    ds.PixelData = cine.tobytes()
    if rle:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.compress(RLELossless)
    return _write(ds)


def bitmap_frames(
    frames: int = 3, *, rows: int = 5, cols: int = 7, seed: int = 0
) -> tuple[bytes, np.ndarray]:
    """A multi-frame 1-bit secondary capture and its pixels (frames, rows, cols) as 0/1.

    With rows x cols not a multiple of 8, frames after the first start inside a byte: PS3.5 8.1.1
    packs 1-bit frames back to back, first pixel in the lowest bit.
    """
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(frames, rows, cols), dtype=np.uint8)
    ds = _patient_and_study(seed, "孙^七", "ISO_IR 192", "报告扫描")
    ds.SOPClassUID = MultiFrameSingleBitSecondaryCaptureImageStorage
    ds.SOPInstanceUID = _uid(seed, "bitmap-instance", frames, rows, cols)
    ds.SeriesInstanceUID = _uid(seed, "bitmap-series")
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.SeriesNumber = 9
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00182001  # Page Number Vector: one scanned page per frame
    ds.PageNumberVector = list(range(1, frames + 1))
    packed = np.packbits(bits.ravel(), bitorder="little").tobytes()
    ds.PixelData = packed + b"\0" * (len(packed) % 2)
    ds["PixelData"].VR = "OB"
    return _write(ds), bits


def us_blob_center(frame: int, frames: int, rows: int, cols: int) -> tuple[int, int]:
    """Where `multiframe_us` draws the Doppler blob in `frame`: mid-height, a quarter to three quarters across."""
    return rows // 2, round(cols * (0.25 + 0.5 * frame / max(frames - 1, 1)))


def truncated(data: bytes, *, keep: int | None = None) -> bytes:
    """The first `keep` bytes, by default cut halfway through the pixel data, as an interrupted upload is."""
    if keep is None:
        start = pixel_data_offset(data)
        keep = start + (len(data) - start) // 2
    return data[:keep]


def pixel_data_offset(data: bytes) -> int:
    """Offset in `data` of the first byte of the Pixel Data value (after its element header)."""
    tell = dcmread(BytesIO(data))["PixelData"].file_tell  # the raw element's value_tell
    assert tell is not None  # set on every element read from a file
    return tell


def without_preamble(data: bytes) -> bytes:
    """The same dataset as a bare Implicit VR Little Endian stream: no preamble, no file meta."""
    ds = dcmread(BytesIO(data))
    del ds.file_meta
    ds.preamble = None
    buffer = BytesIO()
    dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
    return buffer.getvalue()


def _patient_and_study(seed: int, patient_name: str, charset: str, description: str) -> Dataset:
    if charset not in CHARSETS:
        raise ValueError(f"unsupported charset {charset!r}; use one of {', '.join(CHARSETS)}")
    ds = Dataset()
    ds.SpecificCharacterSet = CHARSETS[charset]
    _set_text(ds, "PatientName", patient_name, charset)
    ds.PatientID = f"P{seed:06d}"
    ds.PatientBirthDate = "19650312"
    ds.PatientSex = "F" if seed % 2 else "M"
    ds.StudyInstanceUID = _uid(seed, "study")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20250115"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "093000"
    ds.AccessionNumber = f"A{seed:08d}"
    ds.StudyID = "1"
    _set_text(ds, "StudyDescription", description, charset)
    _set_text(ds, "InstitutionName", "青山县人民医院", charset)
    _set_text(ds, "ReferringPhysicianName", "赵^医生", charset)
    ds.Manufacturer = "telemed test factory"
    return ds


def _set_text(ds: Dataset, keyword: str, text: str, charset: str) -> None:
    """Set a text element as encoded bytes, so the file holds exactly what `encode_text` makes."""
    vr = {"PatientName": "PN", "ReferringPhysicianName": "PN"}.get(keyword, "LO")
    encoded = encode_text(text, charset)
    ds.add(DataElement(keyword, vr, encoded + b" " * (len(encoded) % 2)))


def _grayscale(ds: Dataset, rows: int, cols: int, *, bits_stored: int, signed: bool) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres as fractions of the image size from its centre: (rows, 1) and (1, cols) arrays."""
    yy = ((np.arange(rows) - (rows - 1) / 2) / rows)[:, None]
    xx = ((np.arange(cols) - (cols - 1) / 2) / cols)[None, :]
    return yy, xx


def _lung_scale(index: int, n_slices: int) -> float:
    return 0.85 + 0.15 * math.sin(math.pi * index / max(n_slices - 1, 1))


def _lungs(yy: np.ndarray, xx: np.ndarray, scale: float) -> np.ndarray:
    return (
        np.minimum(
            ((xx - 0.2) / (0.13 * scale)) ** 2 + (yy / (0.2 * scale)) ** 2,
            ((xx + 0.2) / (0.13 * scale)) ** 2 + (yy / (0.2 * scale)) ** 2,
        )
        <= 1
    )


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=["telemed-dicom-factory", str(seed), *map(str, parts)])


def _write(ds: Dataset) -> bytes:
    if not getattr(ds, "file_meta", None):
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def rewritten(data: bytes, **attributes: object) -> bytes:
    """The same instance with some attributes replaced (e.g. another StudyDate)."""
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
