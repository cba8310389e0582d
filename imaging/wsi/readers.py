"""Open a staged slide as one OpenSlide-shaped object, whichever reader handles its format.

OpenSlide reads the TIFF family; DICOM WSI goes through wsidicom, wrapped in `DicomSlide`, which offers
the part of OpenSlide's interface that metadata and `openslide.deepzoom.DeepZoomGenerator` use. So one
tile path serves both, and a tile from a DICOM slide is cut exactly as OpenSlide would cut it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import openslide
from PIL import Image
from wsidicom import WsiDicom
from wsidicom.errors import WsiDicomError, WsiDicomNotFoundError

from imaging.wsi.formats import InvalidSlide, SlideFormat

AnySlide = openslide.AbstractSlide
CHECK_SIDE = 1024


class _Associated(Mapping[str, Image.Image]):
    """DICOM label and overview images by OpenSlide's names, read only when asked for."""

    def __init__(self, wsi: WsiDicom) -> None:
        self._wsi = wsi
        self._names = [name for name, present in (("label", wsi.labels), ("macro", wsi.overviews)) if present]

    def __getitem__(self, name: str) -> Image.Image:
        image: Image.Image  # wsidicom is untyped
        if name == "label" and self._wsi.labels:
            image = self._wsi.read_label()
            return image
        if name == "macro" and self._wsi.overviews:
            image = self._wsi.read_overview()
            return image
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class DicomSlide(openslide.AbstractSlide):
    """A DICOM WSI series (a folder of instances) behind OpenSlide's interface."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._wsi = WsiDicom.open(folder)
        self._levels = list(self._wsi.levels)
        base = self._levels[0].size
        self._downsamples = tuple(base.width / level.size.width for level in self._levels)
        mpp = self._wsi.mpp
        props: dict[str, str] = {"openslide.vendor": "dicom"}
        if self._wsi.metadata.equipment.manufacturer:
            props["dicom.manufacturer"] = self._wsi.metadata.equipment.manufacturer
        if mpp is not None:
            props["openslide.mpp-x"], props["openslide.mpp-y"] = str(mpp.width), str(mpp.height)
        power = _objective_power(self._wsi)
        if power:
            props["openslide.objective-power"] = power
        self._properties = props
        self._associated = _Associated(self._wsi)

    @property
    def level_count(self) -> int:
        return len(self._levels)

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return tuple((level.size.width, level.size.height) for level in self._levels)

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._downsamples

    @property
    def properties(self) -> Mapping[str, str]:
        return self._properties

    @property
    def associated_images(self) -> Mapping[str, Image.Image]:
        return self._associated

    def get_best_level_for_downsample(self, downsample: float) -> int:
        best = 0
        for index, level_downsample in enumerate(self._downsamples):
            if level_downsample <= downsample * 1.0001:
                best = index
        return best

    def read_region(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> Image.Image:
        """As OpenSlide: `location` in level-0 pixels, `size` in pixels of `level`, RGBA out."""
        downsample = self._downsamples[level]
        x, y = (round(coordinate / downsample) for coordinate in location)
        width, height = self.level_dimensions[level]
        inside = (min(size[0], width - x), min(size[1], height - y))
        region = Image.new("RGBA", size, (0, 0, 0, 0))
        if inside[0] > 0 and inside[1] > 0:
            pixels = self._wsi.read_region((x, y), self._levels[level].level, inside)
            region.paste(pixels.convert("RGBA"), (0, 0))
        return region

    def close(self) -> None:
        self._wsi.close()

    @classmethod
    def detect_format(cls, filename: Any) -> str | None:
        return "dicom"

    def set_cache(self, cache: Any) -> None:  # wsidicom keeps its own tile cache
        pass


def _objective_power(wsi: WsiDicom) -> str | None:
    for path in wsi.metadata.pyramid.optical_paths:
        if path.objective is not None and path.objective.objective_power:
            return f"{path.objective.objective_power:g}"
    return None


def open_slide(path: Path, fmt: SlideFormat, *, check: bool = True) -> AnySlide:
    """Open a staged slide: a file (TIFF family) or a folder of DICOM instances.

    `check` reads a corner of the base level and up to `CHECK_SIDE`² pixels of the smallest level: that
    catches files whose header opens but whose pixels do not decode, so a broken slide is refused at
    upload, not at the first view, in bounded memory whatever the slide's size. Slides already accepted
    are opened without it.
    """
    try:
        slide: AnySlide = DicomSlide(path) if fmt != "tiff" else openslide.OpenSlide(path)
    except openslide.OpenSlideUnsupportedFormatError:
        raise InvalidSlide(
            "this TIFF is no whole-slide image OpenSlide recognises (a plain, untiled TIFF, or a truncated file)"
        ) from None
    except (openslide.OpenSlideError, WsiDicomNotFoundError, WsiDicomError, ValueError, OSError) as exc:
        raise InvalidSlide(f"the slide cannot be opened: {exc}") from None
    if not check:
        return slide
    try:
        last = slide.level_count - 1
        for level, side in ((0, 64), (last, CHECK_SIDE)):
            width, height = slide.level_dimensions[level]
            slide.read_region((0, 0), level, (min(side, width), min(side, height)))
    except Exception as exc:  # every reader has its own decode errors; any of them means a broken slide
        slide.close()
        raise InvalidSlide(f"the slide's pixels cannot be decoded: {exc}") from None
    return slide
