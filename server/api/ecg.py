"""A case's ECGs: upload (any accepted format), list, the record for a browser viewer, the page, measurements.

The rules (who may attach or see an ECG, the viewer's rate, the page's states) are `server.ecg.service`'s;
these handlers parse, call it once and answer.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from imaging.ecg import FORMAT_NAMES
from imaging.ecg import EcgRecord as Signal
from imaging.ecg.render import MEDIA_TYPES
from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, model_response
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
from server.community.models import Role
from server.ecg import service
from server.ecg.models import EcgRecord
from server.storage import ObjectStore

MAX_ECG_BYTES = 64 << 20  # a 10 s 12-lead is well under 1 MB in any format; a long rhythm strip a few MB


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


def _store(ctx: Context) -> ObjectStore:
    store: ObjectStore = ctx.request.app.state.store
    return store


def upload_ecg(ctx: Context) -> Response:
    """The file is the raw request body; its name (optional, for the record) is the `filename` query."""
    filename = ctx.request.query_params.get("filename", "").replace("\\", "/").rsplit("/", 1)[-1]
    stored = service.upload_ecg(
        ctx.db, ctx.actor, _store(ctx), ctx.path["case_id"], ctx.body or b"", filename=filename
    )
    return model_response(
        StoredEcg(status=stored.status, **ecg_fields(stored.record)),
        status_code=201 if stored.status == "stored" else 200,
    )


def list_ecgs(ctx: Context) -> Response:
    rows = service.list_ecgs(ctx.db, ctx.actor, ctx.path["case_id"])
    return model_response(Ecgs(items=[Ecg(**ecg_fields(row)) for row in rows]))


def get_ecg(ctx: Context) -> Response:
    row = service.read_ecg(ctx.db, ctx.actor, ctx.path["ecg_id"], "record")
    return model_response(EcgDetail(**ecg_fields(row), measurements=measurements_of(row)))


def ecg_measurements(ctx: Context) -> Response:
    row = service.read_ecg(ctx.db, ctx.actor, ctx.path["ecg_id"], "measurements")
    return model_response(measurements_of(row))


def _viewer_rate(ctx: Context) -> int | None:
    """The `?rate=` query: a whole number of Hz (its lower bound is the service's rule)."""
    raw = ctx.request.query_params.get("rate")
    if raw is None:
        return None
    if not raw.isdigit():
        raise service.invalid_rate()
    return int(raw)


def _samples_out(record_id: int, samples: service.ViewerSamples) -> EcgSamples:
    return EcgSamples(
        id=record_id,
        units="uV",
        sampling_rate=samples.sampling_rate,
        leads=samples.leads,
        derived_leads=samples.derived_leads,
    )


def samples_of(ctx: Context, record: Signal, record_id: int) -> EcgSamples:
    """Every lead in µV for a browser viewer; `?rate=` downsamples (anti-aliased) to at most that rate.
    The teaching library's ECG copies answer the same way."""
    return _samples_out(record_id, service.viewer_samples(record, _viewer_rate(ctx)))


def ecg_samples(ctx: Context) -> Response:
    row, samples = service.ecg_samples(ctx.db, ctx.actor, _store(ctx), ctx.path["ecg_id"], _viewer_rate(ctx))
    return model_response(_samples_out(row.id, samples))


def _page(ctx: Context, fmt: service.PageFormat) -> Response:
    content = service.ecg_page(ctx.db, ctx.actor, _store(ctx), ctx.path["ecg_id"], fmt)
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
