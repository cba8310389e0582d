"""Which studies, series and instances a DICOM read reaches, and the audit of each read.

A caller is a signed-in user (the studies of `server.access.policy.study_scope`), an outside expert
through a share link (its one study; the originals only with a download link), or, inside
`server.access.policy.teaching_library_reads`, a user of the teaching library (its de-identified
copies). A study the caller may not reach looks exactly like one that does not exist, and the refusal
is audited all the same.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.policy import dicomweb_study_scope, require_share_scope
from server.cases.models import Case
from server.core.errors import NotFound, not_found
from server.dicom.models import DicomInstance, DicomSeries, DicomStudy
from server.sharing.models import ShareLink, ShareScope


def _share_link(db: Session, actor: Actor) -> ShareLink | None:
    """The share link the actor came through (already in the session: no query), if any."""
    if actor.share_link_id is None:
        return None
    link = db.get(ShareLink, actor.share_link_id)
    assert link is not None, "an actor carries only a link that exists"
    return link


def study_reach(db: Session, actor: Actor) -> ColumnElement[bool]:
    """SQL predicate on `DicomStudy`: the studies this actor's DICOM reads reach."""
    link = _share_link(db, actor)
    return dicomweb_study_scope(None if link else actor.person, link)


def reached_studies(db: Session, actor: Actor) -> Select[DicomStudy]:
    return select(DicomStudy).where(study_reach(db, actor))


def require_originals(db: Session, actor: Actor) -> None:
    """The original files leave only with a download link (an audited 403 for a read link)."""
    link = _share_link(db, actor)
    if link is not None:
        require_share_scope(link, ShareScope.DOWNLOAD)


def patient_of(db: Session, study: DicomStudy) -> int | None:
    case = db.get(Case, study.case_id) if study.case_id else None
    return case.patient_id if case else None


def reached_study(db: Session, actor: Actor, study_uid: str) -> DicomStudy:
    study = db.scalar(reached_studies(db, actor).where(DicomStudy.study_uid == study_uid))
    if study is None:
        # Unknown and not-yours look the same from outside; the refusal is still audited.
        actor.audit(
            db, "dicom_retrieve", resource_type="dicom_study", resource_id=study_uid, outcome="denied"
        )
        raise NotFound("not_found", "study not found", keep_changes=True)
    return study


def series_of(db: Session, study: DicomStudy, series_uid: str) -> DicomSeries:
    series = db.scalar(
        select(DicomSeries).where(DicomSeries.study_id == study.id, DicomSeries.series_uid == series_uid)
    )
    if series is None:
        raise not_found("series")
    return series


def _detail(detail: dict[str, str]) -> dict[str, Any]:
    return {"detail": detail} if detail else {}


def audited_study(db: Session, actor: Actor, action: str, study_uid: str, **detail: str) -> DicomStudy:
    """The study `study_uid`, if the actor reaches it, with its access written to the audit log."""
    study = reached_study(db, actor, study_uid)
    actor.audit(
        db,
        action,
        resource_type="dicom_study",
        resource_id=study.study_uid,
        patient_id=patient_of(db, study),
        **_detail(detail),
    )
    return study


def audited_series(
    db: Session, actor: Actor, action: str, study_uid: str, series_uid: str, **detail: str
) -> DicomSeries:
    """The series, if the actor reaches its study, with its access written to the audit log."""
    study = reached_study(db, actor, study_uid)
    series = series_of(db, study, series_uid)
    actor.audit(
        db,
        action,
        resource_type="dicom_series",
        resource_id=series.series_uid,
        patient_id=patient_of(db, study),
        **_detail(detail),
    )
    return series


def reached_instance(
    db: Session, actor: Actor, study_uid: str, series_uid: str, sop_uid: str
) -> tuple[DicomStudy, DicomInstance]:
    """The instance and its study, if the actor reaches the study (not audited yet: see `audit_instance`)."""
    study = reached_study(db, actor, study_uid)
    series = series_of(db, study, series_uid)
    instance = db.scalar(
        select(DicomInstance).where(DicomInstance.series_id == series.id, DicomInstance.sop_uid == sop_uid)
    )
    if instance is None:
        raise not_found("instance")
    return study, instance


def audit_instance(db: Session, actor: Actor, study: DicomStudy, instance: DicomInstance, what: str) -> None:
    actor.audit(
        db,
        "dicom_retrieve",
        resource_type="dicom_instance",
        resource_id=instance.sop_uid,
        patient_id=patient_of(db, study),
        detail={"what": what},
    )
