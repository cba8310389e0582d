"""Turn one frame of an instance into an 8-bit image for the browser, as a diagnostic viewer shows it.

Grayscale follows the standard display pipeline (PS3.4 N.2): Modality LUT (rescale to e.g. Hounsfield
units), VOI (window), Presentation (MONOCHROME1 inverted). Colour pixel data is shown as decoded, YBR
converted to RGB by pydicom, palette colour through its lookup tables. Compressed transfer syntaxes are
decoded by pydicom's pylibjpeg plugins (JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE).
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut

from imaging.dicom.parse import ParsedInstance, frame_attribute, frame_count, frame_float, parse_instance

__all__ = ["PRESETS", "RenderError", "encode_jpeg", "encode_png", "render_frame"]

# CT window presets as (center, width) in Hounsfield units.
PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "abdomen": (40.0, 400.0),
}


class RenderError(ValueError):
    """The pixel data cannot be shown: there is none, or no installed decoder can read it."""


def render_frame(
    source: Dataset | ParsedInstance | bytes,
    frame: int = 0,
    *,
    window: tuple[float, float] | None = None,
    preset: str | None = None,
    size: int | None = None,
) -> Image.Image:
    """One frame as an 8-bit "L" (grayscale) or "RGB" image.

    Grayscale window, first found: `window` (center, width) > `preset` > the file's first Window
    Center/Width (with its VOI LUT Function) > the frame's own min..max. Colour images ignore windows.
    `size` fits the image within size x size, keeping its aspect; smaller images are left as they are.
    Bytes are validated with `parse_instance` first (`InvalidDicom`); `IndexError` for a frame out
    of range, `ValueError` for an unknown preset or a bad window or size.
    """
    if isinstance(source, ParsedInstance):
        ds = source.dataset
    elif isinstance(source, Dataset):
        ds = source
    else:
        ds = parse_instance(bytes(source)).dataset
    frames = frame_count(ds)
    if frames == 0:
        raise RenderError("the instance has no pixel data")
    if not 0 <= frame < frames:
        raise IndexError(f"frame {frame} is out of range: the instance has {frames} frame(s)")
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown window preset {preset!r}; known: {', '.join(PRESETS)}")
    if window is not None and not window[1] > 0:
        raise ValueError(f"window width must be positive, got {window[1]}")
    if size is not None and size < 1:
        raise ValueError(f"size must be at least 1, got {size}")

    pixels, photometric = _decode(ds, frame)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)
        image = Image.fromarray(_to_8_bits(rgb, 8 * rgb.dtype.itemsize))
    elif pixels.ndim == 3:
        image = Image.fromarray(_to_8_bits(pixels, int(ds.get("BitsStored") or 8)))
    else:
        chosen = window if window is not None else PRESETS[preset] if preset is not None else None
        gray = _voi(_modality(pixels, ds, frame), ds, frame, chosen)
        if photometric == "MONOCHROME1":
            gray = 255 - gray
        image = Image.fromarray(gray)
    if size is not None and max(image.size) > size:
        scale = size / max(image.size)
        fitted = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(fitted, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image


def encode_png(image: Image.Image) -> bytes:
    """Lossless PNG, for diagnostic viewing."""
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """JPEG, for thumbnails and previews where size matters more than exact pixels."""
    buffer = BytesIO()
    image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
        buffer, format="JPEG", quality=quality
    )
    return buffer.getvalue()


def _decode(ds: Dataset, frame: int) -> tuple[np.ndarray, str]:
    """Decode only the requested frame; return it and its photometric interpretation after decoding."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if not uid:
        raise RenderError("the dataset has no Transfer Syntax UID, so its pixel data cannot be decoded")
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise RenderError(f"no pixel data decoder for transfer syntax {uid.name}") from exc
    try:
        pixels, properties = decoder.as_array(ds, index=frame)
    except Exception as exc:  # missing plugins and corrupt codestreams raise many types
        raise RenderError(f"cannot decode frame {frame} ({uid.name}): {exc}") from exc
    photometric = properties.get("photometric_interpretation", ds.get("PhotometricInterpretation", ""))
    return pixels, str(photometric)


def _modality(pixels: np.ndarray, ds: Dataset, frame: int) -> np.ndarray:
    """Stored values to modality values (e.g. Hounsfield units): Modality LUT, else rescale."""
    if ds.get("ModalityLUTSequence"):
        return apply_modality_lut(pixels, ds).astype(np.float64)
    slope = frame_float(ds, "RescaleSlope", frame)
    intercept = frame_float(ds, "RescaleIntercept", frame)
    values = pixels.astype(np.float64)
    if slope is not None:
        values *= slope
    if intercept is not None:
        values += intercept
    return values


def _voi(values: np.ndarray, ds: Dataset, frame: int, window: tuple[float, float] | None) -> np.ndarray:
    function = "LINEAR"
    if window is None:
        center = frame_float(ds, "WindowCenter", frame)
        width = frame_float(ds, "WindowWidth", frame)
        if center is not None and width is not None and width > 0:
            window = (center, width)
            function = str(frame_attribute(ds, "VOILUTFunction", frame) or "LINEAR").strip().upper()
    if window is None:
        low, high = float(values.min()), float(values.max())
        if high <= low:
            return np.zeros(values.shape, np.uint8)
        return np.rint((values - low) * 255.0 / (high - low)).astype(np.uint8)
    return _window(values, *window, function)


def _window(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """The VOI LUT functions of PS3.3 C.11.2.1.2/C.11.2.1.3 onto 0..255."""
    if function == "SIGMOID":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    elif function == "LINEAR_EXACT":
        out = np.clip((values - center) / width + 0.5, 0.0, 1.0) * 255.0
    elif width <= 1:  # LINEAR with the narrowest window is a threshold
        out = np.where(values > center - 0.5, 255.0, 0.0)
    else:
        out = np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0) * 255.0
    return np.rint(out).astype(np.uint8)


def _to_8_bits(rgb: np.ndarray, bits: int) -> np.ndarray:
    """Keep the top 8 of `bits` significant bits, as 16-bit palettes and deep RGB need."""
    if bits > 8:
        rgb = rgb >> (bits - 8)
    return np.ascontiguousarray(rgb, dtype=np.uint8)
