"""ECGs: reading every accepted format into one representation, measuring it and rendering the page.

Pure functions of bytes and arrays; no database or object store (those are `server.ecg.ingest` and
`worker.ecg_tasks`).
"""

from imaging.ecg.formats import ACCEPTED, ACCEPTED_FORMATS, FORMAT_NAMES, detect_format, read_ecg
from imaging.ecg.record import (
    RECORD_MEDIA_TYPE,
    STANDARD_LEADS,
    EcgRecord,
    InvalidEcg,
    UnsupportedEcg,
    from_bytes,
    to_bytes,
)

__all__ = [
    "ACCEPTED",
    "ACCEPTED_FORMATS",
    "FORMAT_NAMES",
    "RECORD_MEDIA_TYPE",
    "STANDARD_LEADS",
    "EcgRecord",
    "InvalidEcg",
    "UnsupportedEcg",
    "detect_format",
    "from_bytes",
    "read_ecg",
    "to_bytes",
]
