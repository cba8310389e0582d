"""De-identification of one DICOM dataset for teaching: PS3.15 Annex E, Basic Application Level
Confidentiality Profile (table E.1-1), applied by `dicom-anonymizer` (KitwareMedical) with its table of
the 2026c standard, never a hand-kept tag list.

What this module adds around the library:
- UIDs are replaced through a map the caller gives (`uid_for`), so every instance of a study gets the
  same new Study, Series and Frame of Reference UIDs and references between instances still resolve;
  the library's own map is a random, process-wide one.
- The profile's actions are applied inside sequence items too (the library applies them at the top
  level only), so a name nested in a sequence is cleaned like a top-level one.
- The result records what was done (Patient Identity Removed, De-identification Method and its code
  sequence, 113100) and whether the pixels may carry burned-in text, which no tag action can remove:
  that is returned as a warning for the caller to show, never passed over silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from dicomanonymizer.simpledicomanonymizer import anonymize_dataset, initialize_actions, keep
from pydicom import Dataset, Sequence
from pydicom.dataelem import DataElement
from pydicom.uid import generate_uid

__all__ = ["BURNS_IN_TEXT", "METHOD", "Deidentified", "burned_in_warning", "deidentify", "uid_map"]

STANDARD_TABLE = "dicomfields_2026c"
METHOD = "PS3.15 E.1-1 Basic Profile; dicom-anonymizer 2.1.0"  # LO: at most 64 characters
PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
# The library's dummy dates (year 1) are outside what validators accept for DA/DT; the profile's
# "dummy value consistent with the VR" is given as 1900-01-01 instead.
LIBRARY_DUMMY_DATES = {"DA": ("00010101", "19000101"), "DT": ("00010101", "19000101000000.000000+0000")}
# Modalities whose images usually carry text in the pixels (machine overlays, captured screens).
BURNS_IN_TEXT = frozenset({"US", "IVUS", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "OP", "DOC"})

UidMap = Callable[[str], str]


def uid_map(salt: str) -> UidMap:
    """New UIDs derived from `salt` and the original UID only: the same in every process and on every
    rerun, so copies made again reuse their UIDs, and different salts never share one."""

    @cache
    def uid_for(uid: str) -> str:
        return generate_uid(entropy_srcs=[salt, uid])

    return uid_for


@dataclass(frozen=True)
class Deidentified:
    dataset: Dataset
    burned_in_warning: bool


@cache
def _uid_tags() -> frozenset[int]:
    """Attributes the profile replaces with a new UID (action U), as integer tags."""
    tags = dicom_anonymization_database_selector(STANDARD_TABLE)["U_TAGS"]
    return frozenset((group << 16) | element for group, element in (t for t in tags if len(t) == 2))


@cache
def _reference_sequences() -> frozenset[tuple[int, ...]]:
    """Sequences of references to other instances (action X/Z/U*): kept, their UIDs replaced."""
    return frozenset(dicom_anonymization_database_selector(STANDARD_TABLE)["X_Z_U_STAR_TAGS"])


@cache
def _table() -> dict[tuple[int, ...], Any]:
    """The library's actions per tag, with UID replacement left to `_replace_uids` (already done)."""
    actions: dict[tuple[int, ...], Any] = initialize_actions(STANDARD_TABLE)
    for tag in dicom_anonymization_database_selector(STANDARD_TABLE)["U_TAGS"]:
        actions[tag] = keep
    for tag in _reference_sequences():
        actions[tag] = keep
    return actions


def _replace_uids(dataset: Dataset, uid_for: UidMap) -> None:
    """Every U-action UID, at any depth, through `uid_for`."""

    def replace(_ds: Dataset, element: DataElement) -> None:
        if element.tag in _uid_tags() and element.VR == "UI" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            mapped = [uid_for(str(value)) for value in values]
            element.value = mapped if element.VM > 1 else mapped[0]

    dataset.walk(replace)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = uid_for(str(meta.MediaStorageSOPInstanceUID))


def _apply_profile(dataset: Dataset) -> None:
    """The table's actions on `dataset`, then on every item of the sequences it keeps, depth first."""
    anonymize_dataset(dataset, delete_private_tags=True, base_rules_gen=lambda: dict(_table()))
    for element in list(dataset.iterall()):
        if element.VR == "SQ" and isinstance(element.value, Sequence):
            for item in element.value:
                anonymize_dataset(item, delete_private_tags=True, base_rules_gen=lambda: dict(_table()))


def _valid_dummy_dates(dataset: Dataset) -> None:
    def fix(_ds: Dataset, element: DataElement) -> None:
        dummy = LIBRARY_DUMMY_DATES.get(element.VR)
        if dummy and isinstance(element.value, str) and element.value.startswith(dummy[0]):
            element.value = dummy[1]

    dataset.walk(fix)


def burned_in_warning(dataset: Dataset) -> bool:
    """True unless the pixels are known to carry no text: Burned In Annotation YES, or absent on a
    modality that usually burns text in."""
    burned = str(dataset.get("BurnedInAnnotation", "")).strip().upper()
    if burned:
        return burned == "YES"
    return str(dataset.get("Modality", "")).strip().upper() in BURNS_IN_TEXT


def _record_method(dataset: Dataset) -> None:
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = PROFILE_CODE
    dataset.DeidentificationMethodCodeSequence = Sequence([code])


def deidentify(dataset: Dataset, uid_for: UidMap) -> Deidentified:
    """A de-identified copy of `dataset` (which is left as it was); `uid_for` maps each original UID
    to its replacement and must give the same answer for the same UID across a study."""
    result = copy.deepcopy(dataset)  # `Dataset.copy` would share sequence items with the original
    warning = burned_in_warning(result)
    _replace_uids(result, uid_for)
    _apply_profile(result)
    _valid_dummy_dates(result)
    _record_method(result)
    return Deidentified(result, warning)
