"""Deep-zoom (DZI) tiles of a slide: the descriptor, one JPEG tile, the thumbnail, the levels to pre-build.

Tiles are OpenSlide's own `DeepZoomGenerator` cut (254 px + 1 px overlap, what OpenSeadragon expects),
so a tile here is pixel for pixel the tile OpenSlide's reference server would send.
"""

from __future__ import annotations

import io
import math

from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from imaging.wsi.readers import AnySlide

TILE_SIZE = 254
OVERLAP = 1
JPEG_QUALITY = 85
TILE_MEDIA_TYPE = "image/jpeg"
DZI_MEDIA_TYPE = "application/xml"
THUMBNAIL_PX = 512
# Levels no larger than this on their long side are built at ingest: the whole slide fitted to a
# screen up to 2560 px wide then needs no rendering at all.
PREBUILD_MAX_SIDE = 2048


def level_tiles(width: int, height: int) -> list[tuple[int, int]]:
    """Tiles (columns, rows) per deep-zoom level of a `width` × `height` slide, level 0 = 1 px.

    The geometry `DeepZoomGenerator` uses without bounds limiting, so the server can check a tile
    address and write the descriptor from the stored dimensions, without opening the slide.
    """
    top = math.ceil(math.log2(max(width, height, 1)))
    sizes = [(math.ceil(width / 2 ** (top - z)), math.ceil(height / 2 ** (top - z))) for z in range(top + 1)]
    return [(math.ceil(w / TILE_SIZE), math.ceil(h / TILE_SIZE)) for w, h in sizes]


def dzi_xml(width: int, height: int) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" '
        f'Format="jpeg" Overlap="{OVERLAP}" TileSize="{TILE_SIZE}"><Size Height="{height}" Width="{width}"/></Image>'
    )


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


class TileSource:
    """The deep-zoom pyramid of one open slide."""

    def __init__(self, slide: AnySlide) -> None:
        self.slide = slide
        self.dz = DeepZoomGenerator(slide, tile_size=TILE_SIZE, overlap=OVERLAP, limit_bounds=False)

    @property
    def level_count(self) -> int:
        return self.dz.level_count

    def has_tile(self, level: int, col: int, row: int) -> bool:
        if not 0 <= level < self.dz.level_count:
            return False
        cols, rows = self.dz.level_tiles[level]
        return 0 <= col < cols and 0 <= row < rows

    def tile(self, level: int, col: int, row: int) -> bytes:
        """One tile as JPEG; the caller checks `has_tile` first."""
        return _jpeg(self.dz.get_tile(level, (col, row)))

    def prebuilt_levels(self) -> range:
        """The deep-zoom levels small enough to build at ingest (the lowest-resolution ones)."""
        count = sum(
            1 for width, height in self.dz.level_dimensions if max(width, height) <= PREBUILD_MAX_SIDE
        )
        return range(count)

    def addresses(self, level: int) -> list[tuple[int, int]]:
        cols, rows = self.dz.level_tiles[level]
        return [(col, row) for row in range(rows) for col in range(cols)]

    def thumbnail(self) -> bytes:
        return _jpeg(self.slide.get_thumbnail((THUMBNAIL_PX, THUMBNAIL_PX)))
