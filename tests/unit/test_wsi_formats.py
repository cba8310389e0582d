"""Slides read by `imaging.wsi`: generated pyramidal TIFF and SVS, openslide-python's own fixtures (the
DICOM WSI pair included), tiles at every deep-zoom level against the source pixels, broken files, the
label kept out of default and de-identified views."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import openslide
import pytest
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from imaging.wsi import (
    InvalidSlide,
    TileSource,
    UnsupportedSlide,
    detect_format,
    level_tiles,
    open_slide,
    read_metadata,
)
from server.slides.ingest import SlideCache
from server.slides.models import Slide
from server.storage import FilesystemStore
from tests.support import wsi_factory
from tests.support.wsi_factory import CACHE


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return wsi_factory.openslide_fixtures(CACHE)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wsi_factory.pyramidal_tiff(tmp_path_factory.mktemp("wsi") / "gen.tiff")


def decode(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.int16)


def test_generated_tiff_reports_levels_and_microns_per_pixel(generated: Path) -> None:
    meta = read_metadata(open_slide(generated, "tiff"))
    assert meta.levels == ((2000, 1500), (1000, 750), (500, 375))
    assert meta.mpp == pytest.approx((0.25, 0.25), rel=1e-4)
    assert meta.vendor == "generic-tiff"


def test_tiles_at_every_level_equal_the_source_region(generated: Path) -> None:
    """Each level's middle tile against the texture box-downscaled to that level (JPEG tolerance). Below
    1/8 scale the texture's stripes alias and filters legitimately differ: there the mean colour must
    agree."""
    slide = open_slide(generated, "tiff")
    source = TileSource(slide)
    texture = wsi_factory.texture(2000, 1500).astype(np.int16)
    grid = level_tiles(2000, 1500)
    assert [tuple(t) for t in source.dz.level_tiles] == grid
    for level in range(source.level_count):
        cols, rows = grid[level]
        col, row = cols // 2, rows // 2
        tile = decode(source.tile(level, col, row))
        scale = 2 ** (source.level_count - 1 - level)
        (x, y), _, (w, h) = source.dz.get_tile_coordinates(level, (col, row))
        expected = np.asarray(
            Image.fromarray(texture[y : y + h * scale, x : x + w * scale].astype(np.uint8)).resize(
                tile.shape[1::-1], Image.Resampling.BOX
            ),
            dtype=np.int16,
        )
        if scale <= 8:
            error = np.abs(tile - expected).mean()
            assert error < 6, f"level {level}: mean error {error:.1f}"
        else:
            drift = np.abs(tile.mean(axis=(0, 1)) - expected.mean(axis=(0, 1))).max()
            assert drift < 6, f"level {level}: mean colour off by {drift:.1f}"


def test_aperio_label_never_in_default_or_deidentified_views(tmp_path: Path) -> None:
    meta = read_metadata(open_slide(wsi_factory.aperio_svs(tmp_path / "s.svs"), "tiff"))
    assert set(meta.associated_images) == {"label", "macro", "thumbnail"}
    assert meta.objective_power == 40 and meta.mpp == (0.25, 0.25)
    default = meta.to_json()
    assert default["associated_images"] == ["thumbnail"] and default["label_withheld"]
    assert not any(key.startswith("openslide.associated.label") for key in default["properties"])
    deid = meta.to_json(deidentified=True)
    assert "ZHANG^SAN" not in repr(deid) and "ZHANG^SAN" in repr(meta.properties)
    assert "aperio.Date" not in deid["properties"] and "aperio.AppMag" in deid["properties"]


def test_openslide_fixtures_open_with_their_metadata(fixtures: Path) -> None:
    boxes = read_metadata(open_slide(fixtures / "boxes.tiff", "tiff"))
    assert boxes.levels == ((300, 250), (150, 125), (75, 62), (37, 31))
    small = read_metadata(open_slide(fixtures / "small.svs", "tiff"))
    assert small.vendor == "aperio" and small.mpp == (0.499, 0.499) and small.objective_power == 20


def test_dicom_wsi_tiles_equal_openslides_own(fixtures: Path, tmp_path: Path) -> None:
    """boxes_0/1.dcm through wsidicom give the tiles OpenSlide's own DICOM reader gives."""
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(fixtures / name, tmp_path / name)
    slide = open_slide(tmp_path, "dicom")
    meta = read_metadata(slide)
    assert meta.vendor == "dicom" and meta.levels == ((16, 16),) and meta.objective_power == 20
    assert meta.mpp == pytest.approx((0.499, 0.499))
    reference = DeepZoomGenerator(openslide.OpenSlide(fixtures / "boxes_0.dcm"), 254, 1)
    ours = TileSource(slide)
    assert ours.level_count == reference.level_count
    for level in range(ours.level_count):
        theirs = np.asarray(reference.get_tile(level, (0, 0)).convert("RGB"), dtype=np.int16)
        mine = np.asarray(ours.dz.get_tile(level, (0, 0)).convert("RGB"), dtype=np.int16)
        assert mine.shape == theirs.shape and np.abs(mine - theirs).max() <= 2, level
        assert decode(ours.tile(level, 0, 0)).shape == theirs.shape


def test_broken_and_unsupported_files_fail_clearly(fixtures: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidSlide, match="cannot be decoded"):
        open_slide(fixtures / "unreadable.svs", "tiff")
    with pytest.raises(InvalidSlide, match="cannot be opened"):
        open_slide(fixtures / "unopenable.tiff", "tiff")
    with pytest.raises(UnsupportedSlide, match="SVS/TIFF 或 DICOM"):
        detect_format(b"KFB\x00" + bytes(128), "biopsy.kfb")
    with pytest.raises(UnsupportedSlide, match="accepted"):
        detect_format(b"\x89PNG\r\n\x1a\n" + bytes(124), "photo.png")
    with pytest.raises(InvalidSlide, match="empty"):
        detect_format(b"", "x.svs")


def test_slide_cache_stays_within_its_bound(generated: Path, tmp_path: Path) -> None:
    """Staging more slides than fit drops the least recently used; the one in use is kept."""
    store = FilesystemStore(tmp_path / "objects")
    store.ensure_ready()
    data = generated.read_bytes()
    cache = SlideCache(tmp_path / "cache", limit=int(len(data) * 2.5))
    slides = []
    for case_id in range(4):
        variant = data + bytes([case_id])  # trailing byte: another file, the same slide for OpenSlide
        slide = Slide(case_id=case_id, sha256=hashlib.sha256(variant).hexdigest(), source_format="tiff")
        store.put(f"slides/{case_id}/{slide.sha256}/original", io.BytesIO(variant), length=len(variant))
        slides.append(slide)
    for slide in slides:
        assert cache.tiles(store, slide).tile(0, 0, 0).startswith(b"\xff\xd8")
        os.utime(cache.path(store, slide), (1, 1))  # as if read long ago: no longer in use
    staged = sorted(
        p.name.split("-")[0] for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")
    )
    assert staged == sorted(slide.sha256 for slide in slides[2:])
    bad = Slide(case_id=9, sha256="0" * 64, source_format="tiff")
    store.put(f"slides/9/{bad.sha256}/original", io.BytesIO(data), length=len(data))
    with pytest.raises(InvalidSlide, match="checksum"):
        cache.path(store, bad)
