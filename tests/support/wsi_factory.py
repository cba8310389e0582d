"""Whole-slide fixtures: generated pyramidal TIFF and Aperio SVS (with a label), DICOM WSI converted
from a generated TIFF by wsidicomizer, and openslide's own.

Generated slides follow what OpenSlide opens: one page per level, `subfiletype=1` on reduced levels,
tiles a multiple of 16, resolution set so microns per pixel are reported, textured content (smooth
stripes and rings, so a misplaced or mis-scaled tile shows in a pixel comparison).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import numpy as np
import tifffile

from tests.support.paths import ARTIFACTS

TILE = 256
CACHE = ARTIFACTS / "wsi-fixtures"  # openslide-python's test slides, fetched once
WSIDICOMIZER = Path(__file__).resolve().parents[2] / ".venv-wsidicomizer" / "bin" / "wsidicomizer"


def texture(
    width: int, height: int, x0: int = 0, y0: int = 0, step: int = 1, whole: tuple[int, int] | None = None
) -> np.ndarray:
    """An RGB tissue-like texture, the same for the same size; `x0`, `y0`, `step` sample a region of
    the `whole` texture (every `step`-th pixel) for slides too large to hold in memory."""
    y, x = np.mgrid[y0 : y0 + height * step : step, x0 : x0 + width * step : step].astype(np.float32)
    width, height = whole or (width, height)
    r = 150 + 80 * np.sin(x / 23.0) * np.cos(y / 31.0)
    g = 120 + 90 * np.sin(np.hypot(x - width / 3, y - height / 2) / 17.0)
    b = 180 + 60 * np.cos((x + 2 * y) / 41.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def _levels(base: np.ndarray, count: int) -> list[np.ndarray]:
    levels = [base]
    for _ in range(count - 1):
        prev = levels[-1]
        h, w = prev.shape[0] // 2 * 2, prev.shape[1] // 2 * 2
        levels.append(prev[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3)).astype(np.uint8))
    return levels


def pyramidal_tiff(
    path: Path, width: int = 2000, height: int = 1500, levels: int = 3, mpp: float = 0.25
) -> Path:
    """A generic tiled pyramidal TIFF at `mpp` microns per pixel."""
    pixels_per_cm = 10_000 / mpp
    with tifffile.TiffWriter(path, bigtiff=False) as tif:
        for index, level in enumerate(_levels(texture(width, height), levels)):
            scale = 2**index
            tif.write(
                level,
                tile=(TILE, TILE),
                photometric="rgb",
                compression="jpeg",
                compressionargs={"level": 95},
                subfiletype=1 if index else 0,
                resolution=(pixels_per_cm / scale, pixels_per_cm / scale),
                resolutionunit="CENTIMETER",
            )
    return path


def large_pyramidal_tiff(
    path: Path, width: int, height: int, levels: int = 5, mpp: float = 0.25, grain: int = 0
) -> Path:
    """A pyramidal TIFF of any size, written tile by tile (memory stays at a few tiles); reduced levels
    sample the texture rather than average it, which is enough for benchmarks. `grain` adds that much
    noise (like real tissue, it compresses less), for files of a clinical size from fewer pixels."""
    pixels_per_cm = 10_000 / mpp
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        for index in range(levels):
            step = 2**index
            w, h = width // step, height // step

            def tiles(w: int = w, h: int = h, step: int = step) -> Iterator[np.ndarray]:
                for ty in range(0, h, TILE):
                    for tx in range(0, w, TILE):
                        tile = texture(TILE, TILE, tx * step, ty * step, step, (width, height))
                        if grain:
                            noise = np.random.default_rng(tx * 7919 + ty).integers(0, grain, tile.shape)
                            tile = np.clip(tile.astype(np.int16) + noise - grain // 2, 0, 255).astype(
                                np.uint8
                            )
                        yield tile

            tif.write(
                tiles(),
                shape=(h, w, 3),
                dtype=np.uint8,
                tile=(TILE, TILE),
                photometric="rgb",
                compression="jpeg",
                compressionargs={"level": 90},
                subfiletype=1 if index else 0,
                resolution=(pixels_per_cm / step, pixels_per_cm / step),
                resolutionunit="CENTIMETER",
            )
    return path


def aperio_svs(path: Path, width: int = 1200, height: int = 900, patient_name: str = "ZHANG^SAN") -> Path:
    """An Aperio SVS with a thumbnail, a label image and a macro image, as scanners write them."""
    head = "Aperio Image Library v12.0.15\r\n"
    base = texture(width, height)
    label = np.full((120, 200, 3), 255, np.uint8)
    label[40:80, 20:180] = 0  # stands for the printed patient name
    desc = f"{head}{width}x{height} [0,0 {width}x{height}] (256x256) JPEG/RGB Q=90|AppMag = 40|MPP = 0.2500"
    desc += f"|Date = 12/01/26|Time = 09:30:00|User = {patient_name}|Filename = {patient_name}.svs"
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            base, tile=(TILE, TILE), photometric="rgb", compression="jpeg", description=desc, metadata=None
        )
        tif.write(
            base[::8, ::8],
            photometric="rgb",
            description=f"{head}{width}x{height} -> thumbnail",
            metadata=None,
        )
        tif.write(
            _levels(base, 2)[1],
            tile=(TILE, TILE),
            photometric="rgb",
            compression="jpeg",
            description=f"{head}{width}x{height} -> {width // 2}x{height // 2}",
            metadata=None,
        )
        tif.write(label, photometric="rgb", description=f"{head}label 200x120", subfiletype=1, metadata=None)
        tif.write(
            base[::16, ::16], photometric="rgb", description=f"{head}macro", subfiletype=9, metadata=None
        )
    return path


def dicomize(tiff: Path, folder: Path) -> Path:
    """The DICOM WSI series (a new `folder` of instances, one per level) wsidicomizer makes of `tiff`.

    wsidicomizer runs from its own virtual environment (it pins an older wsidicom than the platform).
    Its opentile source, which copies tiles unchanged, does not read a generic TIFF, so the tiffslide
    source decodes each tile and re-encodes it: JPEG quality 95, `TILE` px, and 4:2:0 chroma
    subsampling, as its `--subsampling` option fails with the click it resolves to (8.5: the option's
    value arrives as an enum member, which wsidicom's `Subsampling.from_string` refuses).
    """
    if not WSIDICOMIZER.exists():
        raise RuntimeError(
            f"{WSIDICOMIZER} is missing: `./run test` installs it in its set-up step converter_env "
            "(from requirements-wsidicomizer.lock)"
        )
    command = [str(WSIDICOMIZER), "-i", str(tiff), "-o", str(folder), "-t", str(TILE)]
    command += ["--format", "jpeg", "--quality", "95"]
    converted = subprocess.run(command, capture_output=True, text=True)
    if converted.returncode:
        raise RuntimeError(f"wsidicomizer failed on {tiff.name}: {converted.stderr.strip()[-2000:]}")
    return folder


def openslide_fixtures(cache: Path) -> Path:
    """openslide-python's own test slides (its source distribution's tests/fixtures), fetched once."""
    return openslide_sdist(cache) / "tests" / "fixtures"


def openslide_sdist(cache: Path) -> Path:
    """openslide-python's source distribution (test fixtures and the Deep Zoom example server), once."""
    release = version("openslide-python")
    root = cache / f"openslide_python-{release}"
    if not (root / "examples" / "deepzoom").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"openslide-python=={release}",
                "-d",
                str(cache),
            ],
            check=True,
        )
        with tarfile.open(cache / f"openslide_python-{release}.tar.gz") as sdist:
            wanted = ("/tests/fixtures/", "/examples/deepzoom/")
            members = [m for m in sdist.getmembers() if any(part in m.name for part in wanted)]
            sdist.extractall(cache, members=members, filter="data")
    return root
