"""Which whole-slide format a file is, from its first bytes (and its name, for formats nobody reads)."""

from __future__ import annotations

from typing import Literal

SlideFormat = Literal["tiff", "dicom", "dicom_zip"]

ACCEPTED = (
    "Aperio SVS, generic tiled pyramidal TIFF and the other TIFF-based formats OpenSlide reads "
    "(Philips TIFF, Ventana BIF, Hamamatsu NDPI); DICOM WSI (one .dcm, or a .zip of the series' .dcm files)"
)
# Formats that no maintained open reader opens: the clinic must export from the scanner's own software.
UNREADABLE_VENDOR_FORMATS = {
    ".kfb": "KFBio (江丰生物) .kfb",
    ".tmap": "UNIC .tmap",
    ".sdpc": "SQRAY (生强) .sdpc",
}
HEAD_BYTES = 132  # the DICM marker sits after a 128-byte preamble


class InvalidSlide(ValueError):
    """The file is not a usable slide (truncated, corrupt, no image); the message says what is wrong."""


class UnsupportedSlide(InvalidSlide):
    """The file is a slide in a format the platform cannot read; the message says which export to use."""


def _export_advice(name: str) -> str:
    return (
        f"{name} files cannot be read by any maintained open-source reader. In the scanner's software, "
        "export the slide as Aperio SVS / pyramidal TIFF or as DICOM WSI, and upload that "
        "(请在扫描仪软件中将切片导出为 SVS/TIFF 或 DICOM 格式后再上传)"
    )


def detect_format(head: bytes, filename: str = "") -> SlideFormat:
    """The format of a slide whose first `HEAD_BYTES` bytes are `head`; raises for anything else."""
    suffix = "." + filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in UNREADABLE_VENDOR_FORMATS or head.startswith(b"KFB"):
        raise UnsupportedSlide(_export_advice(UNREADABLE_VENDOR_FORMATS.get(suffix, "KFBio .kfb")))
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "tiff"
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"PK\x03\x04"):
        return "dicom_zip"
    if not head:
        raise InvalidSlide("the file is empty")
    raise UnsupportedSlide(f"not a whole-slide image format the platform reads; accepted: {ACCEPTED}")
