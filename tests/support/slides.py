"""Slides through the API: posting a slide file to a case, zipping a DICOM WSI series."""

from __future__ import annotations

import io
import zipfile

from starlette.testclient import TestClient


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"series/{name}", data)
    return out.getvalue()


def post_slide(client: TestClient, csrf: str, case_id: int, data: bytes, filename: str):
    return client.post(
        f"/api/cases/{case_id}/slides",
        params={"filename": filename},
        content=data,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )
