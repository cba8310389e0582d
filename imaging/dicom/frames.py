"""Single frames as native pixel bytes, the payload of a DICOMweb frame retrieval (PS3.18 8.3.5).

Uncompressed little-endian data is answered with the frame's bytes exactly as stored: YBR_FULL_422
stays subsampled (two bytes per pixel) and 1-bit data stays packed, eight pixels a byte, so the
bytes agree with the metadata the client was given. Only compressed and big-endian data is decoded.
"""

from __future__ import annotations

import numpy as np
from pydicom import Dataset
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian

from imaging.dicom.parse import frame_count

# Pixel data elements in the order PS3.3 allows them; an instance holds exactly one.
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_SUBSAMPLED = ("YBR_FULL_422", "YBR_PARTIAL_422")


def frame_pixels(ds: Dataset, frame: int) -> bytes:
    """Frame `frame` (from 0) as little-endian native pixels, in the file's own photometric
    interpretation (no colour conversion), so the client can apply the metadata it was given."""
    frames = frame_count(ds)
    if not 0 <= frame < frames:
        raise IndexError(f"frame {frame + 1} is out of range: the instance has {frames} frame(s)")
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    if not syntax.is_compressed and syntax != ExplicitVRBigEndian:
        return _stored_frame(ds, frame)
    array = pixel_array(ds, index=frame, raw=True)
    if int(ds.BitsAllocated) == 1:
        return np.packbits(array.ravel().astype(bool), bitorder="little").tobytes()
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def _frame_bits(ds: Dataset) -> int:
    """Bits one frame occupies in native pixel data (PS3.5 8.1.1; 4:2:2 keeps two samples a pixel)."""
    samples = 2 if str(ds.get("PhotometricInterpretation", "")) in _SUBSAMPLED else int(ds.SamplesPerPixel)
    return int(ds.Rows) * int(ds.Columns) * samples * int(ds.BitsAllocated)


def _stored_frame(ds: Dataset, frame: int) -> bytes:
    """The frame's slice of the stored value. 1-bit frames need not start on a byte boundary (frames
    are packed back to back); such a frame is shifted so that its first pixel is bit 0 of byte 0."""
    value: bytes = next(ds[keyword].value for keyword in _PIXEL_KEYWORDS if keyword in ds)
    size = _frame_bits(ds)
    start = frame * size
    if start % 8 == 0 and size % 8 == 0:
        data = value[start // 8 : (start + size) // 8]
    else:
        covering = value[start // 8 : (start + size + 7) // 8]
        bits = np.unpackbits(np.frombuffer(covering, np.uint8), bitorder="little")
        offset = start % 8
        data = np.packbits(bits[offset : offset + size], bitorder="little").tobytes()
    if len(data) * 8 < size:
        raise ValueError(f"pixel data ends inside frame {frame + 1}")
    return data
