"""The ingest path for whole-slide images, and the local cache every slide reader stages through.

A slide (1–4 GB) never sits in memory: the upload is spooled to a local file, checked there (opened,
its pixels decoded; nothing is stored when that fails), streamed to object storage under
`slides/<case>/<sha256>/original`, then indexed. OpenSlide reads only local paths, so workers and the
tile endpoint stage the original from object storage into `SlideCache`, a directory bounded in size
that drops the least recently used slides first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imaging.wsi import InvalidSlide, SlideMetadata, TileSource, detect_format, open_slide, read_metadata
from imaging.wsi.formats import HEAD_BYTES, SlideFormat
from server.cases.models import Case, StoredFile
from server.community.models import User
from server.slides.models import Slide
from server.storage import ObjectStore

__all__ = ["SlideCache", "SlideOutcome", "checked_slide", "record_slide", "slide_cache", "tile_key"]

BUILD_TASK = "slides.build_tiles"
OPEN_SLIDES = 8
TOUCH_SECONDS = 60
IN_USE_SECONDS = 600
CACHE_BYTES = 20 << 30  # enough for a day's frozen sections; older slides are staged again when asked for
MAX_DICOM_FILES = 10_000
MAX_UNPACKED_BYTES = 16 << 30  # DICOM WSI frames are already compressed: a zip barely shrinks them
MEDIA_TYPES = {"tiff": "image/tiff", "dicom": "application/dicom", "dicom_zip": "application/zip"}


@dataclass(frozen=True)
class SlideOutcome:
    status: Literal["stored", "duplicate"]
    slide_id: int


def prefix(case_id: int, sha256: str) -> str:
    return f"slides/{case_id}/{sha256}"


def original_key(slide: Slide) -> str:
    return f"{prefix(slide.case_id, slide.sha256)}/original"


def thumbnail_key(slide: Slide) -> str:
    return f"{prefix(slide.case_id, slide.sha256)}/thumbnail.jpeg"


def tile_key(slide: Slide, level: int, col: int, row: int) -> str:
    return f"{prefix(slide.case_id, slide.sha256)}/tiles/{level}/{col}_{row}.jpeg"


def _unpack_dicom(archive: Path, folder: Path) -> None:
    """Every member of a zipped DICOM WSI series, flat in `folder` under names of our own (so no member
    name can point outside it); wsidicom then finds the instances among them."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if not members or len(members) > MAX_DICOM_FILES:
                raise InvalidSlide(f"a DICOM WSI archive holds 1 to {MAX_DICOM_FILES} instance files")
            if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise InvalidSlide(f"the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            for index, member in enumerate(members):
                with zipped.open(member) as src, open(folder / f"{index:05d}.dcm", "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        # NotImplementedError: a compression method zipfile lacks; RuntimeError: an encrypted member
        raise InvalidSlide(f"the archive cannot be read: {exc}") from None


def _place(source: Path, fmt: SlideFormat, target: Path) -> None:
    """Lay out a staged original where the reader expects it: TIFF as a file, DICOM as a folder."""
    if fmt == "tiff":
        os.replace(source, target)
        return
    target.mkdir()
    if fmt == "dicom":
        os.replace(source, target / "00000.dcm")
    else:
        _unpack_dicom(source, target)
        source.unlink()


def sniff(path: Path, filename: str) -> SlideFormat:
    with open(path, "rb") as file:
        return detect_format(file.read(HEAD_BYTES), filename)


def checked_slide(spool: Path, filename: str) -> tuple[SlideFormat, SlideMetadata]:
    """Open the spooled upload as a slide (raises `InvalidSlide`) and read its metadata."""
    fmt = sniff(spool, filename)
    with tempfile.TemporaryDirectory(prefix="telemed-slide-", dir=spool.parent) as work:
        target = Path(work) / "slide"
        if fmt == "tiff":
            os.link(spool, target)
        else:
            copy = Path(work) / "original"
            os.link(spool, copy)
            _place(copy, fmt, target)
        slide = open_slide(target, fmt)
        try:
            return fmt, read_metadata(slide)
        finally:
            slide.close()


def _existing(db: Session, case: Case, sha256: str) -> Slide | None:
    return db.scalar(select(Slide).where(Slide.case_id == case.id, Slide.sha256 == sha256))


def record_slide(
    db: Session,
    *,
    case: Case,
    sha256: str,
    size: int,
    fmt: SlideFormat,
    metadata: SlideMetadata,
    filename: str,
    user: User | None,
) -> SlideOutcome:
    """Index a slide whose original is stored; the same bytes for the same case again are a no-op."""
    existing = _existing(db, case, sha256)
    if existing is not None:
        return SlideOutcome("duplicate", existing.id)
    try:
        with db.begin_nested():
            original = StoredFile(
                case_id=case.id,
                object_key=f"{prefix(case.id, sha256)}/original",
                size=size,
                sha256=sha256,
                media_type=MEDIA_TYPES[fmt],
                uploaded_by_id=user.id if user else None,
            )
            db.add(original)
            db.flush()
            row = Slide(
                case_id=case.id,
                institution_id=case.institution_id,
                original_file_id=original.id,
                sha256=sha256,
                filename=filename[:255],
                source_format=fmt,
                vendor=metadata.vendor[:64],
                width=metadata.dimensions[0],
                height=metadata.dimensions[1],
                mpp_x=metadata.mpp[0] if metadata.mpp else None,
                mpp_y=metadata.mpp[1] if metadata.mpp else None,
                objective_power=metadata.objective_power,
                slide_metadata={
                    "levels": [list(level) for level in metadata.levels],
                    "downsamples": list(metadata.downsamples),
                    "associated_images": list(metadata.associated_images),
                    "properties": metadata.properties,
                },
                tiles_state="pending",
                uploaded_by_id=user.id if user else None,
            )
            db.add(row)
            db.flush()
    except IntegrityError:  # the same slide for the same case arrived concurrently and won
        db.expire_all()
        winner = _existing(db, case, sha256)
        if winner is None:
            raise
        return SlideOutcome("duplicate", winner.id)
    return SlideOutcome("stored", row.id)


def _source_format(slide: Slide) -> SlideFormat:
    """The stored format: the column only ever holds a value `detect_format` returned."""
    return cast("SlideFormat", slide.source_format)


def stored_metadata(slide: Slide) -> SlideMetadata:
    meta = slide.slide_metadata
    return SlideMetadata(
        vendor=slide.vendor,
        levels=tuple(tuple(level) for level in meta["levels"]),
        downsamples=tuple(meta["downsamples"]),
        mpp=(slide.mpp_x, slide.mpp_y) if slide.mpp_x and slide.mpp_y else None,
        objective_power=slide.objective_power,
        associated_images=tuple(meta["associated_images"]),
        properties=meta["properties"],
    )


def queue_tiles(send_task: Callable[..., None], outcome: SlideOutcome, *, urgent: bool = False) -> None:
    """Queue the thumbnail and top levels of a new slide; an urgent case's (a frozen section) jumps the queue."""
    if outcome.status == "stored":
        send_task(BUILD_TASK, outcome.slide_id, urgent=urgent)


class SlideCache:
    """Local copies of slides, at most `limit` bytes; the least recently used go first.

    Copies are written under a temporary name and renamed into place, so concurrent readers (threads of
    the API, processes of a worker) never see half a slide; two that stage the same slide at once both
    copy it and the second rename wins with identical bytes. A slide read in the last `IN_USE_SECONDS`
    (by any process: reading touches its modification time) is never evicted, since OpenSlide may reopen
    the file by name; the cache may then exceed its bound for that long.
    """

    def __init__(self, root: Path, limit: int = CACHE_BYTES) -> None:
        self.root = root
        self.limit = limit
        self._lock = threading.Lock()
        self._open: OrderedDict[str, tuple[Path, TileSource, float]] = OrderedDict()

    def _size(self, path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(item.stat().st_size for item in path.iterdir())

    def _evict(self, keep: Path) -> None:
        with self._lock:
            entries = [p for p in self.root.iterdir() if not p.name.startswith(".")]
            entries.sort(key=lambda p: p.stat().st_mtime)
            total = sum(self._size(p) for p in entries)
            in_use = time.time() - IN_USE_SECONDS
            for entry in entries:
                if total <= self.limit:
                    break
                if entry == keep or entry.stat().st_mtime > in_use:
                    continue
                total -= self._size(entry)
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)

    def path(self, store: ObjectStore, slide: Slide) -> Path:
        """The slide's local path (a file, or a folder for DICOM), staged from the store if missing."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{slide.sha256}-{slide.source_format}"
        if target.exists():
            os.utime(target)
            return target
        with tempfile.TemporaryDirectory(prefix=".staging-", dir=self.root) as work:
            download = Path(work) / "original"
            digest = hashlib.sha256()
            with store.open(original_key(slide)) as src, open(download, "wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
            if digest.hexdigest() != slide.sha256:
                raise InvalidSlide("the stored original does not match its checksum")
            placed = Path(work) / "placed"
            _place(download, _source_format(slide), placed)
            try:
                os.replace(placed, target)
            except OSError:  # another stager won the race with the same bytes
                if not target.exists():
                    raise
        self._evict(keep=target)
        return target

    def tiles(self, store: ObjectStore, slide: Slide) -> TileSource:
        """The slide's tiles, from a slide kept open for the next request (opening costs more than a tile)."""
        with self._lock:
            entry = self._open.get(slide.sha256)
            if entry is not None:
                self._open.move_to_end(slide.sha256)
        if entry is not None and entry[0].exists():
            path, source, touched = entry
            if time.monotonic() - touched > TOUCH_SECONDS:
                os.utime(path)
                with self._lock:
                    self._open[slide.sha256] = (path, source, time.monotonic())
            return source
        path = self.path(store, slide)
        source = TileSource(open_slide(path, _source_format(slide), check=False))
        with self._lock:
            self._open[slide.sha256] = (path, source, time.monotonic())
            while len(self._open) > OPEN_SLIDES:  # dropped slides close when no request uses them any more
                self._open.popitem(last=False)
        return source


@cache
def slide_cache(data_dir: Path) -> SlideCache:
    """The process's cache under the data directory (one per process: its lock guards eviction)."""
    return SlideCache(data_dir / "slide-cache")
