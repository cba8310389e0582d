"""Contracts of `server.api.dicomweb`: DICOM JSON answers (PS3.18 F.2), described by their shape.

A dataset maps tags ("0020000D") to attributes; originals, frames, rendered images and cine are not
JSON and are declared by their media types on their routes.
"""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import Field, RootModel
from typing_extensions import TypedDict

DICOM_JSON = "application/dicom+json"
DICOM_MEDIA_TYPE = "application/dicom"
MULTIPART_DICOM = 'multipart/related; type="application/dicom"'
MULTIPART_FRAMES = 'multipart/related; type="application/octet-stream"'


class DicomAttribute(TypedDict):
    """One attribute: its VR and, unless empty, its values (a sequence's are datasets, a person name's
    objects with `Alphabetic`...), or a reference to its bulk data."""

    vr: str
    Value: NotRequired[list[Any]]
    BulkDataURI: NotRequired[str]
    InlineBinary: NotRequired[str]


TAG_PATTERN = "^[0-9A-Fa-f]{8}$"


class DicomDataset(RootModel[dict[str, DicomAttribute]]):
    """A DICOM JSON dataset: attributes by tag (eight hex digits)."""

    root: dict[str, DicomAttribute] = Field(json_schema_extra={"propertyNames": {"pattern": TAG_PATTERN}})


class DicomDatasets(RootModel[list[DicomDataset]]):
    """QIDO-RS matches or WADO-RS metadata: one DICOM JSON dataset per study, series or instance."""


class StoreResponse(DicomDataset):
    """STOW-RS: ReferencedSOPSequence (00081199) of what was stored, FailedSOPSequence (00081198)."""
