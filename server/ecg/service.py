"""A case's ECGs: attach one (any accepted format), list them, read a record, its samples, its page.

Who may see an ECG is who may see its case (`server.access.policy.require_case`); only a requester of
the case's institution attaches one (their role is the door's rule, the case's institution the
policy's). Every read is audited with the case's patient. The ECG upload endpoint and the resumable
upload's finish both attach a file through `store_ecg`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy.signal import resample_poly
from sqlalchemy.orm import Session

from imaging.ecg import ACCEPTED, InvalidEcg, UnsupportedEcg, from_bytes
from imaging.ecg import EcgRecord as Signal
from server.access.actor import Actor
from server.cases.models import Case, Urgency
from server.cases.service import audit_material_read, materials_of, visible_case, visible_material
from server.core.errors import Conflict, Invalid, Unprocessable, Unsupported
from server.core.tasks import enqueue
from server.ecg.ingest import EcgOutcome, ingest_ecg, page_key, queue_processing
from server.ecg.models import EcgRecord
from server.storage import ObjectNotFound, ObjectStore

MIN_VIEWER_RATE = 50
PageFormat = Literal["png", "pdf"]


@dataclass(frozen=True)
class StoredEcg:
    """An ECG file attached to a case: `stored`, or `duplicate` when the case held that file already."""

    status: Literal["stored", "duplicate"]
    record: EcgRecord


@dataclass(frozen=True)
class ViewerSamples:
    """Every lead in µV at `sampling_rate`, for a browser viewer."""

    sampling_rate: int | float
    leads: dict[str, list[int]]
    derived_leads: list[str]


def store_ecg(
    db: Session,
    actor: Actor,
    store: ObjectStore,
    case: Case,
    data: bytes,
    *,
    filename: str,
    via: Mapping[str, Any],
) -> EcgOutcome:
    """Ingest one ECG file into `case`, audit it (`via` says how it came) and queue its processing (an
    urgent case's first). Raises `InvalidEcg` (`UnsupportedEcg` for an unknown format); nothing stored."""
    outcome = ingest_ecg(db, store, data, filename=filename, case=case, user=actor.user)
    actor.audit(
        db,
        "ecg_store",
        resource_type="ecg",
        resource_id=outcome.record_id,
        patient_id=case.patient_id,
        detail={"status": outcome.status, "format": outcome.source_format, **via},
    )

    queue_processing(partial(enqueue, db), outcome, urgent=case.urgency == Urgency.URGENT)
    return outcome


def upload_ecg(
    db: Session, actor: Actor, store: ObjectStore, case_id: int, data: bytes, *, filename: str
) -> StoredEcg:
    """Attach an ECG file to a case the actor may see: 415 for a format not read, 422 for a broken file."""
    case = visible_case(db, actor, case_id)
    try:
        outcome = store_ecg(db, actor, store, case, data, filename=filename, via={"case_id": case.id})
    except UnsupportedEcg as exc:
        raise Unsupported("unsupported_ecg_format", str(exc), accepted=ACCEPTED) from None
    except InvalidEcg as exc:
        raise Unprocessable("invalid_ecg", f"not a usable ECG: {exc}", accepted=ACCEPTED) from None
    row = db.get(EcgRecord, outcome.record_id)
    assert row is not None
    return StoredEcg(outcome.status, row)


def list_ecgs(db: Session, actor: Actor, case_id: int) -> list[EcgRecord]:
    return materials_of(db, actor, EcgRecord, case_id, "ecg")


def read_ecg(db: Session, actor: Actor, ecg_id: int, part: Literal["record", "measurements"]) -> EcgRecord:
    """An ECG record the actor may see, its reading (`part`) audited."""
    row = visible_material(db, actor, EcgRecord, ecg_id, "ECG")
    audit_material_read(db, actor, row, "ecg", part)
    return row


def invalid_rate() -> Invalid:
    return Invalid("invalid_rate", f"rate must be a whole number of Hz from {MIN_VIEWER_RATE}")


def viewer_samples(record: Signal, rate: int | None) -> ViewerSamples:
    """Every lead in µV; `rate` downsamples (anti-aliased) to at most that rate (the native rate if None).
    The teaching library's ECG copies are read the same way."""
    if rate is not None and rate < MIN_VIEWER_RATE:
        raise invalid_rate()
    target: int | float = int(record.sampling_rate) if rate is None else min(rate, int(record.sampling_rate))
    samples = record.samples
    if target < record.sampling_rate:
        factor = max(1, round(record.sampling_rate / target))
        samples = np.rint(resample_poly(samples.astype(np.float64), 1, factor, axis=1)).astype(np.int32)
        target = record.sampling_rate / factor
    return ViewerSamples(
        sampling_rate=target,
        leads={name: samples[index].tolist() for index, name in enumerate(record.leads)},
        derived_leads=list(record.derived_leads),
    )


def ecg_samples(
    db: Session, actor: Actor, store: ObjectStore, ecg_id: int, rate: int | None
) -> tuple[EcgRecord, ViewerSamples]:
    """The samples of an ECG the actor may see, for a viewer (see `viewer_samples`)."""
    row = visible_material(db, actor, EcgRecord, ecg_id, "ECG")
    samples = viewer_samples(from_bytes(store.read_bytes(row.record_key)), rate)
    audit_material_read(db, actor, row, "ecg", "samples")
    return row, samples


def ecg_page(db: Session, actor: Actor, store: ObjectStore, ecg_id: int, fmt: PageFormat) -> bytes:
    """The rendered page of an ECG the actor may see: 409 while it is being rendered, 422 if it failed."""
    row = visible_material(db, actor, EcgRecord, ecg_id, "ECG")
    if row.render_state != "ready":
        detail = row.render_error or "the page is being rendered; try again shortly"
        error = Conflict if row.render_state == "pending" else Unprocessable
        raise error(f"page_{row.render_state}", detail)
    try:
        content = store.read_bytes(page_key(row, fmt))
    except ObjectNotFound:
        raise Conflict("page_pending", "the page is being rendered; try again shortly") from None
    audit_material_read(db, actor, row, "ecg", f"page.{fmt}")
    return content
