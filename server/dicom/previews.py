"""Where rendered previews and cine videos live in the object store. Keys derive from UIDs, so rendering
is idempotent."""

from __future__ import annotations

# Per-instance preview sizes (longest side, pixels): a quick first look, and a screen-sized image.
PREVIEW_SIZES = (256, 1024)
THUMBNAIL_SIZE = 128
PREVIEW_MEDIA_TYPE = "image/jpeg"


def preview_key(study_uid: str, series_uid: str, sop_uid: str, frame: int, size: int) -> str:
    return f"previews/{study_uid}/{series_uid}/{sop_uid}/{frame}_{size}.jpg"


def thumbnail_key(study_uid: str, series_uid: str) -> str:
    return f"previews/{study_uid}/{series_uid}/thumbnail.jpg"


def cine_key(study_uid: str, series_uid: str, sop_uid: str) -> str:
    """The MP4 of a multi-frame instance, beside its frame previews."""
    return f"previews/{study_uid}/{series_uid}/{sop_uid}/cine.mp4"
