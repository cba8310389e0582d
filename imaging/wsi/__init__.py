"""Whole-slide images: opening a slide (OpenSlide formats, DICOM WSI), its metadata, deep-zoom tiles.

Pure functions of local paths; no database or object store (those are `server.slides.ingest` and
`worker.slide_tasks`). OpenSlide needs a file on disk, so callers stage slides locally first.
"""

from imaging.wsi.deepzoom import DZI_MEDIA_TYPE, TILE_MEDIA_TYPE, TileSource, dzi_xml, level_tiles
from imaging.wsi.formats import ACCEPTED, InvalidSlide, UnsupportedSlide, detect_format
from imaging.wsi.metadata import SlideMetadata, read_metadata
from imaging.wsi.readers import open_slide

__all__ = [
    "ACCEPTED",
    "DZI_MEDIA_TYPE",
    "TILE_MEDIA_TYPE",
    "InvalidSlide",
    "SlideMetadata",
    "TileSource",
    "UnsupportedSlide",
    "detect_format",
    "dzi_xml",
    "level_tiles",
    "open_slide",
    "read_metadata",
]
