"""Camera and microphone files for fake capture devices, generated with PyAV (nothing downloaded).

Chromium plays them with `--use-file-for-fake-video-capture` / `--use-file-for-fake-audio-capture`;
Y4M is the video format newer Chromium still accepts. The picture moves so an encoder sends real
frames rather than repeats, and the 440 Hz tone is audible in a recording.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS = 320, 240, 15
TONE_HZ, SAMPLE_RATE = 440, 48000


def moving_pattern(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """An RGB frame: diagonal stripes that scroll one step per frame, plus a bar that sweeps across."""
    y, x = np.mgrid[0:height, 0:width]
    stripes = ((x + y + 4 * index) // 16 % 2 * 160 + 40).astype(np.uint8)
    image = np.stack([stripes, np.roll(stripes, 8, axis=1), 255 - stripes], axis=-1)
    bar = (index * 6) % width
    image[:, bar : bar + 12] = (255, 255, 0)
    return image


def tone(n_samples: int, start: int = 0, rate: int = SAMPLE_RATE, hz: float = TONE_HZ) -> np.ndarray:
    """Signed 16-bit mono samples of a sine at `hz`, continuing from sample `start`."""
    t = (np.arange(n_samples) + start) / rate
    return (np.sin(2 * math.pi * hz * t) * 0.3 * 32767).astype(np.int16)


def write_y4m(path: Path, seconds: float = 3, width: int = WIDTH, height: int = HEIGHT) -> Path:
    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(moving_pattern(index, width, height), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_wav(path: Path, seconds: float = 3) -> Path:
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        chunk = SAMPLE_RATE // 50
        for start in range(0, round(seconds * SAMPLE_RATE), chunk):
            frame = av.AudioFrame.from_ndarray(tone(chunk, start)[None, :], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def capture_files(directory: Path) -> tuple[Path, Path]:
    """`cam.y4m` and `mic.wav` in `directory`, for one fake camera and microphone."""
    return write_y4m(directory / "cam.y4m"), write_wav(directory / "mic.wav")
