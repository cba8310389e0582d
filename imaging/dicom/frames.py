"""Single frames as native pixel bytes, the payload of a DICOMweb frame retrieval (PS3.18 8.3.5)."""

from __future__ import annotations

from pydicom import Dataset
from pydicom.pixels import pixel_array

from imaging.dicom.parse import frame_count


def frame_pixels(ds: Dataset, frame: int) -> bytes:
    """Frame `frame` (from 0) decoded to little-endian native pixels, in the file's own photometric
    interpretation (no colour conversion), so the client can apply the metadata it was given."""
    frames = frame_count(ds)
    if not 0 <= frame < frames:
        raise IndexError(f"frame {frame + 1} is out of range: the instance has {frames} frame(s)")
    array = pixel_array(ds, index=frame, raw=True)
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
