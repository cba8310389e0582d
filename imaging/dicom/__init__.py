"""DICOM decoding and rendering: pure functions on bytes and pydicom datasets, no I/O.

`parse_instance` validates an upload and extracts what the platform indexes; `render_frame` turns a
frame into an 8-bit image with correct rescale, window and colour handling.
"""

from imaging.dicom.frames import frame_pixels
from imaging.dicom.parse import (
    InvalidDicom,
    ParsedInstance,
    display_name,
    frame_attribute,
    frame_count,
    parse_instance,
)
from imaging.dicom.render import PRESETS, RenderError, encode_jpeg, encode_png, render_frame

__all__ = [
    "PRESETS",
    "InvalidDicom",
    "ParsedInstance",
    "RenderError",
    "display_name",
    "encode_jpeg",
    "encode_png",
    "frame_attribute",
    "frame_count",
    "frame_pixels",
    "parse_instance",
    "render_frame",
]
