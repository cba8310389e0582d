"""A case's ECGs: upload (any accepted format), list, the record for a browser viewer, the page, measurements.

Who may see an ECG is who may see its case (`server.access.policy.require_case`); only a requester of the case's
institution attaches one. Every read of an ECG is audited with the case's patient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import resample_poly
from sqlalchemy import select
from starlette.responses import Response

from imaging.ecg import ACCEPTED, FORMAT_NAMES, InvalidEcg, UnsupportedEcg, from_bytes
from imaging.ecg import EcgRecord as Signal
from imaging.ecg.render import MEDIA_TYPES
from server.access.policy import CLINICAL_ROLES
from server.api.cases import visible_case, visible_material
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.ecg import (
    ECG_MEDIA_TYPES,
    DeviceMeasurements,
    Ecg,
    EcgDetail,
    EcgMeasurements,
    Ecgs,
    EcgSamples,
    StoredEcg,
)
from server.cases.models import Urgency
from server.community.models import Role
from server.ecg.ingest import ingest_ecg, page_key, queue_processing
from server.ecg.models import EcgRecord
from server.storage import ObjectNotFound, ObjectStore

MAX_ECG_BYTES = 64 << 20  # a 10 s 12-lead is well under 1 MB in any format; a long rhythm strip a few MB
MIN_VIEWER_RATE = 50


def _audit_read(ctx: Context, row: EcgRecord, what: str) -> None:
    ctx.audit(
        "ecg_read",
        resource_type="ecg",
        resource_id=row.id,
        patient_id=row.case.patient_id,
        detail={"part": what},
    )


def ecg_fields(row: EcgRecord) -> dict[str, Any]:
    """The fields of `Ecg` for a record."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "filename": row.filename,
        "format": row.source_format,
        "format_name": FORMAT_NAMES.get(row.source_format, row.source_format),
        "leads": row.leads,
        "sampling_rate": row.sampling_rate,
        "duration_s": row.duration_s,
        "acquired_at": row.acquired_at,
        "device": row.device,
        "filters": row.filters,
        "render_state": row.render_state,
        "render_error": row.render_error,
        "created_at": row.created_at,
    }


def measurements_of(row: EcgRecord) -> EcgMeasurements:
    """Automated values (labelled, with their method) and the device's own, never mixed."""
    return EcgMeasurements(
        automated=row.automated_measurements,
        device=DeviceMeasurements(measurements=row.device_measurements, statements=row.device_statements),
    )


def upload_ecg(ctx: Context) -> Response:
    """The file is the raw request body; its name (optional, for the record) is the `filename` query."""
    case = visible_case(ctx)
    data: bytes = ctx.body or b""
    filename = ctx.request.query_params.get("filename", "").replace("\\", "/").rsplit("/", 1)[-1]
    store: ObjectStore = ctx.request.app.state.store
    try:
        outcome = ingest_ecg(ctx.db, store, data, filename=filename, case=case, user=ctx.current_user)
    except UnsupportedEcg as exc:
        raise ApiError(415, "unsupported_ecg_format", str(exc), accepted=ACCEPTED) from None
    except InvalidEcg as exc:
        raise ApiError(422, "invalid_ecg", f"not a usable ECG: {exc}", accepted=ACCEPTED) from None
    row = ctx.db.get(EcgRecord, outcome.record_id)
    assert row is not None
    ctx.audit(
        "ecg_store",
        resource_type="ecg",
        resource_id=row.id,
        patient_id=case.patient_id,
        detail={"status": outcome.status, "format": outcome.source_format, "case_id": case.id},
    )
    queue_processing(ctx.send_task, outcome, urgent=case.urgency == Urgency.URGENT)
    return model_response(
        StoredEcg(status=outcome.status, **ecg_fields(row)),
        status_code=201 if outcome.status == "stored" else 200,
    )


def list_ecgs(ctx: Context) -> Response:
    case = visible_case(ctx)
    rows = ctx.db.scalars(select(EcgRecord).where(EcgRecord.case_id == case.id).order_by(EcgRecord.id)).all()
    ctx.audit("ecg_list_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return model_response(Ecgs(items=[Ecg(**ecg_fields(row)) for row in rows]))


def get_ecg(ctx: Context) -> Response:
    row = visible_material(ctx, EcgRecord, "ecg_id", "ECG")
    _audit_read(ctx, row, "record")
    return model_response(EcgDetail(**ecg_fields(row), measurements=measurements_of(row)))


def ecg_measurements(ctx: Context) -> Response:
    row = visible_material(ctx, EcgRecord, "ecg_id", "ECG")
    _audit_read(ctx, row, "measurements")
    return model_response(measurements_of(row))


def _viewer_rate(ctx: Context, native: float) -> int:
    raw = ctx.request.query_params.get("rate")
    if raw is None:
        return int(native)
    if not raw.isdigit() or not int(raw) >= MIN_VIEWER_RATE:
        raise ApiError(400, "invalid_rate", f"rate must be a whole number of Hz from {MIN_VIEWER_RATE}")
    return min(int(raw), int(native))


def samples_of(ctx: Context, record: Signal, record_id: int) -> EcgSamples:
    """Every lead in µV for a browser viewer; `?rate=` downsamples (anti-aliased) to at most that rate.
    The teaching library's ECG copies answer the same way."""
    rate: int | float = _viewer_rate(ctx, record.sampling_rate)
    samples = record.samples
    if rate < record.sampling_rate:
        factor = max(1, round(record.sampling_rate / rate))
        samples = np.rint(resample_poly(samples.astype(np.float64), 1, factor, axis=1)).astype(np.int32)
        rate = record.sampling_rate / factor
    return EcgSamples(
        id=record_id,
        units="uV",
        sampling_rate=rate,
        leads={name: samples[index].tolist() for index, name in enumerate(record.leads)},
        derived_leads=list(record.derived_leads),
    )


def ecg_samples(ctx: Context) -> Response:
    row = visible_material(ctx, EcgRecord, "ecg_id", "ECG")
    record = from_bytes(ctx.request.app.state.store.read_bytes(row.record_key))
    body = samples_of(ctx, record, row.id)
    _audit_read(ctx, row, "samples")
    return model_response(body)


def _page(ctx: Context, fmt: str) -> Response:
    row = visible_material(ctx, EcgRecord, "ecg_id", "ECG")
    if row.render_state != "ready":
        detail = row.render_error or "the page is being rendered; try again shortly"
        raise ApiError(409 if row.render_state == "pending" else 422, f"page_{row.render_state}", detail)
    try:
        content = ctx.request.app.state.store.read_bytes(page_key(row, fmt))
    except ObjectNotFound:
        raise ApiError(409, "page_pending", "the page is being rendered; try again shortly") from None
    _audit_read(ctx, row, f"page.{fmt}")
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={"Cache-Control": "private, max-age=300"})


def ecg_page_png(ctx: Context) -> Response:
    return _page(ctx, "png")


def ecg_page_pdf(ctx: Context) -> Response:
    return _page(ctx, "pdf")


ECG = "/api/ecgs/{ecg_id:int}"
READERS = Access.only(CLINICAL_ROLES)
routes = [
    api_route(
        "/api/cases/{case_id:int}/ecgs",
        upload_ecg,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        raw_body_limit=MAX_ECG_BYTES,
        consumes=ECG_MEDIA_TYPES,
        response=StoredEcg,
        status=201,
    ),
    api_route("/api/cases/{case_id:int}/ecgs", list_ecgs, access=READERS, response=Ecgs),
    api_route(ECG, get_ecg, access=READERS, response=EcgDetail),
    api_route(f"{ECG}/measurements", ecg_measurements, access=READERS, response=EcgMeasurements),
    api_route(f"{ECG}/samples", ecg_samples, access=READERS, response=EcgSamples),
    api_route(f"{ECG}/page.png", ecg_page_png, access=READERS, produces=MEDIA_TYPES["png"]),
    api_route(f"{ECG}/page.pdf", ecg_page_pdf, access=READERS, produces=MEDIA_TYPES["pdf"]),
]
