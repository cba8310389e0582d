"""DICOM WSI as a converter makes it: a generated pyramidal TIFF through wsidicomizer (from its own
virtual environment), read by the platform's DICOM reader and cut by its deep-zoom path, level for
level the same picture as the source TIFF through OpenSlide, and uploaded through the API as a series.

wsidicomizer re-encodes a generic TIFF's tiles (JPEG q95, 4:2:0; see `wsi_factory.dicomize`), so pixels
match within a tolerance measured here: per deep-zoom tile the mean absolute difference is at most
3.2 grey levels and no pixel is off by more than 20 (the 4:2:0 chroma of the fine texture on the
smallest levels); on the base level the mean is at most 0.34, where a tile one pixel out of place
differs by 1.75.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image
from starlette.testclient import TestClient

from imaging.wsi import TileSource, open_slide
from tests.support import wsi_factory
from tests.support.accounts import sign_in
from tests.support.slides import post_slide, zipped

SIZE = (2048, 1536)
LEVELS = 4
MEAN_TOLERANCE = 4.0  # grey levels, per tile
BASE_MEAN_TOLERANCE = 1.0  # on the base level; a one-pixel shift gives 1.75
MAX_TOLERANCE = 32


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dicomized")
    tiff = wsi_factory.pyramidal_tiff(folder / "source.tiff", *SIZE, levels=LEVELS)
    return tiff, wsi_factory.dicomize(tiff, folder / "series")


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def assert_close(tile: Image.Image, source: Image.Image, mean_tolerance: float, where: str) -> None:
    ours, theirs = pixels(tile), pixels(source)
    assert ours.shape == theirs.shape, where
    difference = np.abs(ours - theirs)
    assert difference.mean() <= mean_tolerance and difference.max() <= MAX_TOLERANCE, (
        f"{where}: mean {difference.mean():.2f}, max {difference.max()}"
    )


def test_every_level_and_tile_matches_the_source_tiff(converted) -> None:
    tiff, series = converted
    dicom = open_slide(series, "dicom")
    source = openslide.OpenSlide(tiff)
    expected = tuple((SIZE[0] >> level, SIZE[1] >> level) for level in range(LEVELS))
    assert dicom.level_dimensions == source.level_dimensions == expected
    assert dicom.properties["openslide.mpp-x"] == "0.25"
    ours, theirs = TileSource(dicom), TileSource(source)
    assert ours.level_count == theirs.level_count
    base = theirs.level_count - 1
    for level in range(theirs.level_count):
        tolerance = BASE_MEAN_TOLERANCE if level == base else MEAN_TOLERANCE
        for col, row in theirs.addresses(level):
            assert_close(
                ours.dz.get_tile(level, (col, row)),
                theirs.dz.get_tile(level, (col, row)),
                tolerance,
                f"deep-zoom tile {level}/{col}_{row}",
            )


def test_converted_series_uploads_and_serves_the_source_tile(
    client: TestClient, pathology_case: tuple[int, int], converted
) -> None:
    tiff, series = converted
    archive = zipped({path.name: path.read_bytes() for path in sorted(series.glob("*.dcm"))})
    csrf = sign_in(client, "village")
    uploaded = post_slide(client, csrf, pathology_case[0], archive, "dicomized.zip")
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["format"] == "dicom_zip" and (body["width"], body["height"]) == SIZE
    sign_in(client, "pathologist")
    source = TileSource(openslide.OpenSlide(tiff))
    level = source.level_count - 1
    tile = client.get(f"/api/slides/{body['id']}/tiles/{level}/3_2.jpeg")
    assert tile.status_code == 200, tile.text
    # both sides through the platform's JPEG q85 tile encoding, so the tolerance is the tiles' one
    expected = Image.open(io.BytesIO(source.tile(level, 3, 2)))
    assert_close(Image.open(io.BytesIO(tile.content)), expected, BASE_MEAN_TOLERANCE, "uploaded tile")
