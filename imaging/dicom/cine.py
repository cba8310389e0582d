"""Multi-frame instances (ultrasound cine, XA runs) as a video any browser plays: H.264 in MP4.

Each frame is rendered exactly as its preview is (`render_frame`), so the film shows what the viewer
shows. yuv420p and a leading index (`+faststart`) let a `<video>` element start before the file ends.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from pydicom import Dataset

from imaging.dicom.parse import frame_count, frame_float
from imaging.dicom.render import render_frame

__all__ = ["CINE_MEDIA_TYPE", "DEFAULT_FRAME_RATE", "cine_frame_rate", "write_cine"]

CINE_MEDIA_TYPE = "video/mp4"
DEFAULT_FRAME_RATE = Fraction(10)
# Browsers and players accept any rate in this range; outside it the attribute is surely wrong.
_PLAUSIBLE_FPS = (0.1, 1000.0)


def cine_frame_rate(ds: Dataset) -> Fraction:
    """Frames per second to play at: Cine Rate, else 1000 / Frame Time (ms), else Recommended Display
    Frame Rate, else 10. Values that are absent, malformed or implausible are skipped."""
    frame_time = frame_float(ds, "FrameTime")
    candidates = (
        frame_float(ds, "CineRate"),
        1000.0 / frame_time if frame_time else None,
        frame_float(ds, "RecommendedDisplayFrameRate"),
    )
    for fps in candidates:
        if fps is not None and _PLAUSIBLE_FPS[0] <= fps <= _PLAUSIBLE_FPS[1]:
            return Fraction(fps).limit_denominator(1001)
    return DEFAULT_FRAME_RATE


def write_cine(ds: Dataset, path: Path, *, crf: int = 23) -> int:
    """Write every frame of `ds` to `path` as MP4 (H.264, yuv420p, faststart); return the frame count.

    H.264 in 4:2:0 needs even dimensions: an odd last row or column is repeated. Frames are rendered
    one at a time, so a long cine never sits whole in memory. Raises `RenderError` as `render_frame`.
    """
    frames = frame_count(ds)
    rate = cine_frame_rate(ds)
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for index in range(frames):
            pixels = np.asarray(render_frame(ds, index).convert("RGB"))
            rows, cols = pixels.shape[:2]
            pixels = np.pad(pixels, ((0, rows % 2), (0, cols % 2), (0, 0)), mode="edge")
            if index == 0:
                stream.height, stream.width = pixels.shape[:2]
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return frames
