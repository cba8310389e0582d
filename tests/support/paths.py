"""Where the repository is, and the folder tests write artifacts (screenshots, logs, cached fixtures) to."""

from __future__ import annotations

from pathlib import Path

from pydicom.data import get_testdata_file

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def pydicom_test_file(name: str) -> Path:
    """One of pydicom's own test files (its lookup is typed `str | Dataset | None`)."""
    found = get_testdata_file(name)
    assert isinstance(found, str), f"pydicom has no test file {name}"
    return Path(found)
