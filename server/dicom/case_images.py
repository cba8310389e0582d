"""A case's imaging: the studies attached to it and the readers' annotations on them.

Seen by exactly those who see the case (`server.cases.service.visible_case`); every read and save is
audited against the case's patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.cases.service import visible_case
from server.core.errors import Invalid, TooLarge
from server.dicom.models import Annotation, DicomInstance, DicomSeries, DicomStudy

MAX_ANNOTATIONS = 500


@dataclass(frozen=True)
class CaseStudy:
    """A study attached to a case, with its modalities and counts."""

    study: DicomStudy
    modalities: list[str]
    series_count: int
    instance_count: int


@dataclass(frozen=True)
class NewAnnotation:
    """One viewer measurement to save; `tool` is a Cornerstone tool name, `frame` counts from 1."""

    study_uid: str
    series_uid: str
    sop_uid: str
    tool: str
    frame: int
    data: dict[str, Any]


def case_studies(db: Session, actor: Actor, case_id: int) -> list[CaseStudy]:
    """The studies attached to the case, newest first."""
    case = visible_case(db, actor, case_id)
    rows = db.execute(
        select(DicomStudy, func.count(func.distinct(DicomSeries.id)), func.count(DicomInstance.id))
        .join(DicomSeries, DicomSeries.study_id == DicomStudy.id)
        .join(DicomInstance, DicomInstance.series_id == DicomSeries.id)
        .where(DicomStudy.case_id == case.id)
        .group_by(DicomStudy.id)
        .order_by(DicomStudy.study_date.desc())
    ).tuples()
    studies = [
        CaseStudy(
            study=study,
            modalities=sorted({s.modality for s in study.series if s.modality}),
            series_count=series_count,
            instance_count=instance_count,
        )
        for study, series_count, instance_count in rows
    ]
    actor.audit(
        db, "case_studies_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id
    )
    return studies


def list_annotations(
    db: Session, actor: Actor, case_id: int, study_uid: str | None = None
) -> list[Annotation]:
    """Every reader's annotations on the case (on one of its studies, if `study_uid` is given)."""
    case = visible_case(db, actor, case_id)
    query = select(Annotation).where(Annotation.case_id == case.id).order_by(Annotation.id)
    if study_uid:
        query = query.where(Annotation.study_uid == study_uid)
    annotations = list(db.scalars(query))
    actor.audit(db, "annotations_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return annotations


def save_annotations(
    db: Session, actor: Actor, case_id: int, items: Sequence[NewAnnotation], study_uids: Sequence[str] = ()
) -> list[Annotation]:
    """Replace the actor's annotations on the studies of `items` and `study_uids` (all attached to the
    case) with `items`."""
    case = visible_case(db, actor, case_id)
    if len(items) > MAX_ANNOTATIONS:
        raise TooLarge("too_many", f"at most {MAX_ANNOTATIONS} annotations per save")
    studies = {item.study_uid for item in items} | set(study_uids)
    attached = set(db.scalars(select(DicomStudy.study_uid).where(DicomStudy.case_id == case.id)))
    if not studies <= attached:
        raise Invalid("invalid_field", "annotations must refer to studies attached to this case")
    user = actor.person
    db.execute(
        delete(Annotation).where(
            Annotation.case_id == case.id, Annotation.author_id == user.id, Annotation.study_uid.in_(studies)
        )
    )
    saved = [
        Annotation(
            case_id=case.id,
            author=user,
            study_uid=item.study_uid,
            series_uid=item.series_uid,
            sop_uid=item.sop_uid,
            tool=item.tool,
            frame=item.frame,
            data=item.data,
        )
        for item in items
    ]
    db.add_all(saved)
    db.flush()
    actor.audit(
        db,
        "annotations_save",
        resource_type="case",
        resource_id=case.id,
        patient_id=case.patient_id,
        detail={"count": len(saved)},
    )
    return saved
