"""tus 1.0.0 by hand: creating an upload with its metadata and sending chunks."""

from __future__ import annotations

import base64
import hashlib
import re

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = "application/offset+octet-stream"


def b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def metadata(
    data: bytes, *, sha256: str | None = None, case_id: int | None = None, name: str = "图像.dcm"
) -> str:
    pairs = {
        "filename": name,
        "filetype": "application/dicom",
        "sha256": sha256 or hashlib.sha256(data).hexdigest(),
    }
    if case_id is not None:
        pairs["case_id"] = str(case_id)
    return ",".join(f"{key} {b64(value)}" for key, value in pairs.items())


def create(http, headers: dict[str, str], data: bytes, base: str = "", **meta) -> str:
    response = http.post(
        f"{base}/api/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(data, **meta),
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Expires"].endswith(" GMT")
    location = response.headers["Location"]
    assert re.fullmatch(r"/api/uploads/[A-Za-z0-9_-]{32}", location)
    return base + location


def patch(http, url: str, headers: dict[str, str], offset: int, body, checksum: bool = False):
    extra = {"Upload-Checksum": f"sha256 {b64(hashlib.sha256(body).digest())}"} if checksum else {}
    return http.patch(
        url,
        content=body,
        headers={**headers, **TUS, "Upload-Offset": str(offset), "Content-Type": CHUNK, **extra},
    )
