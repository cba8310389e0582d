"""QIDO-RS: searching the DICOM index for studies, series and instances (PS3.18 10.6, PS3.4 C.2.2.2).

Every search is limited to the studies the caller reaches (`server.dicom.reach`) and audited. The
query is read here as sent (`QidoQuery`): matching attributes by keyword or tag, `includefield`,
`limit` and `offset`; attributes this index cannot match are ignored, as the standard allows.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session

from imaging.dicom import display_name
from server.access.actor import Actor
from server.core.errors import Invalid
from server.dicom.models import DicomInstance, DicomSeries, DicomStudy
from server.dicom.reach import audited_series, audited_study, reached_studies

QIDO_MAX_LIMIT = 1000
DEFAULT_STUDY_LIMIT = 100

DicomJson = dict[str, Any]  # a DICOM JSON dataset: attributes by tag
Column = QueryableAttribute[Any]
IncludeFields = frozenset[str] | Literal["all"]
S = TypeVar("S", bound=Select[Any])


def _or(value: str | None, default: int) -> str | int:
    return default if value is None else value


def _invalid(detail: str) -> Invalid:
    return Invalid("invalid_query", detail)


@dataclass(frozen=True)
class QidoQuery:
    """A QIDO-RS query string as sent: its (name, value) pairs in order, repeated names included."""

    params: tuple[tuple[str, str], ...] = ()

    def _last(self, name: str) -> str | None:
        found = [value for key, value in self.params if key == name]
        return found[-1] if found else None

    def page(self, default: int) -> tuple[int, int]:
        """`limit` (at most `QIDO_MAX_LIMIT`, `default` if absent) and `offset`."""
        try:
            limit = min(int(_or(self._last("limit"), default)), QIDO_MAX_LIMIT)
            offset = int(_or(self._last("offset"), 0))
        except ValueError:
            raise _invalid("limit and offset must be whole numbers") from None
        if limit < 1 or offset < 0:
            raise _invalid("limit must be positive and offset not negative")
        return limit, offset

    def include_fields(self) -> IncludeFields:
        """The `includefield` attributes as tags ("0008103E"), named by keyword or tag, comma-separated
        or repeated; "all" for every attribute the level has."""
        tags = set()
        for raw in (value for key, value in self.params if key == "includefield"):
            for name in filter(None, (part.strip() for part in raw.split(","))):
                if name == "all":
                    return "all"
                if _is_tag(name):
                    tags.add(name.upper())
                elif (tag := tag_for_keyword(name)) is not None:
                    tags.add(f"{tag:08X}")
                else:
                    raise _invalid(f"includefield {name!r} is neither a DICOM keyword nor a tag")
        return frozenset(tags)

    def narrow(self, query: S, filters: dict[str, Filter]) -> S:
        """`query` narrowed by each matching attribute of the query; others are ignored (PS3.18 8.3.4.1)."""
        for name, value in self.params:
            matcher = filters.get(_keyword(name))
            if matcher is not None and value:
                query = query.where(matcher(value))
        return query


# ---- matching ------------------------------------------------------------------------------------


def _match(column: Column, value: str, *, ignore_case: bool = False) -> ColumnElement[bool]:
    """QIDO matching: `*` and `?` wildcards (PS3.4 C.2.2.2.4), otherwise exact."""
    if "*" in value or "?" in value:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = escaped.replace("*", "%").replace("?", "_")
        return column.ilike(pattern, escape="\\") if ignore_case else column.like(pattern, escape="\\")
    return func.lower(column) == value.lower() if ignore_case else column == value


def _person_name(column: Column, value: str) -> ColumnElement[bool]:
    """PN matching against the indexed display name ("张^秀英" is kept as "张秀英"), ignoring case."""
    return _match(column, display_name(value), ignore_case=True)


def _any_of(column: Column, value: str) -> ColumnElement[bool]:
    """List matching (PS3.4 C.2.2.2.2 for UIDs, also for codes such as Modality): backslash or comma."""
    return column.in_([item for item in value.replace("\\", ",").split(",") if item])


def _number(column: Column, value: str) -> ColumnElement[bool]:
    try:
        return column == int(value)
    except ValueError:
        raise _invalid(f"{value!r} is not a whole number") from None


def _date_range(column: Column, value: str) -> ColumnElement[bool]:
    if "-" not in value:
        return column == value
    start, _, end = value.partition("-")
    conditions = [column >= start] if start else []
    if end:
        conditions.append(column <= end)
    return conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]


Filter = Callable[[str], ColumnElement[bool]]
# QIDO-RS matching attributes per level, by keyword (a query may name them by tag as well).
STUDY_FILTERS: dict[str, Filter] = {
    "PatientName": partial(_person_name, DicomStudy.patient_name),
    "PatientID": partial(_match, DicomStudy.patient_dicom_id),
    "AccessionNumber": partial(_match, DicomStudy.accession_number),
    "StudyDescription": partial(_match, DicomStudy.description, ignore_case=True),
    "StudyInstanceUID": partial(_any_of, DicomStudy.study_uid),
    "StudyDate": partial(_date_range, DicomStudy.study_date),
    "ModalitiesInStudy": lambda value: DicomStudy.id.in_(
        select(DicomSeries.study_id).where(_any_of(DicomSeries.modality, value))
    ),
}
SERIES_FILTERS: dict[str, Filter] = {
    "Modality": partial(_any_of, DicomSeries.modality),
    "SeriesInstanceUID": partial(_any_of, DicomSeries.series_uid),
    "SeriesNumber": partial(_number, DicomSeries.number),
    "SeriesDescription": partial(_match, DicomSeries.description, ignore_case=True),
    "BodyPartExamined": partial(_match, DicomSeries.body_part),
}
INSTANCE_FILTERS: dict[str, Filter] = {
    "SOPInstanceUID": partial(_any_of, DicomInstance.sop_uid),
    "SOPClassUID": partial(_any_of, DicomInstance.sop_class_uid),
    "InstanceNumber": partial(_number, DicomInstance.instance_number),
}
# What `includefield=all` adds at study and series level: the attributes of the Patient, General
# Study and Patient Study modules, and of the General Series and General Equipment modules (PS3.3).
STUDY_MODULE_TAGS = frozenset(
    {"00080020", "00080030", "00080050", "00080090", "00081030", "00081032", "00081060", "00200010",
     "0020000D", "00321060", "00101010", "00101020", "00101030", "00102180", "001021B0", "00080005"}
)  # fmt: skip
SERIES_MODULE_TAGS = frozenset(
    {"00080005", "00080021", "00080031", "00080060", "0008103E", "00081070", "00180015", "0020000D",
     "0020000E", "00200011", "00200060", "00185100", "00400244", "00400245", "00080070", "00080080",
     "00081010", "00081090", "00181020"}
)  # fmt: skip
INSTANCE_SUMMARY_TAGS = (
    "00080016", "00080018", "00200013", "00280010", "00280011", "00280008", "0020000D", "0020000E"
)  # fmt: skip


def _at_study_level(tag: str) -> bool:
    return tag.startswith("0010") or tag in STUDY_MODULE_TAGS


def _is_tag(name: str) -> bool:
    return len(name) == 8 and all(char in string.hexdigits for char in name)


def _keyword(name: str) -> str:
    """A query key as a keyword: "00100010" and "PatientName" both give "PatientName"."""
    return (keyword_for_tag(int(name, 16)) or name) if _is_tag(name) else name


def element(vr: str, *values: Any) -> dict[str, Any]:
    """One DICOM JSON attribute (PS3.18 F.2.2): its VR and its values, if any."""
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


def _include(
    answer: DicomJson,
    source: DicomJson,
    fields: IncludeFields,
    at_level: Callable[[str], bool] | None = None,
) -> DicomJson:
    """`answer` with the requested attributes of `source` (an instance's DICOM JSON) added; for "all",
    those `at_level` accepts (every one when it is None)."""
    wanted = [tag for tag in source if at_level is None or at_level(tag)] if fields == "all" else fields
    for tag in wanted:
        if tag not in answer and tag in source:
            answer[tag] = source[tag]
    return answer


def _first_instances(db: Session, owner: Column, ids: list[int]) -> dict[int, DicomJson]:
    """The DICOM JSON of the first-indexed instance of each study or series (`owner`: the id column).
    Study- and series-level attributes are the same on every instance, so one answers for all."""
    if not ids:
        return {}
    first = (
        select(owner.label("owner"), func.min(DicomInstance.id).label("first"))
        .select_from(DicomInstance)
        .join(DicomSeries, DicomInstance.series_id == DicomSeries.id)
        .where(owner.in_(ids))
        .group_by(owner)
        .subquery()
    )
    rows = db.execute(
        select(first.c.owner, DicomInstance.dicom_json).join(first, DicomInstance.id == first.c.first)
    )
    return {owner_id: data for owner_id, data in rows}


def _study_counts(db: Session, study_ids: list[int]) -> dict[int, tuple[list[str], int, int]]:
    """Per study: its modalities, number of series and number of instances."""
    rows = db.execute(
        select(DicomSeries.study_id, DicomSeries.modality, func.count(DicomInstance.id))
        .join(DicomInstance, DicomInstance.series_id == DicomSeries.id)
        .where(DicomSeries.study_id.in_(study_ids))
        .group_by(DicomSeries.id, DicomSeries.study_id, DicomSeries.modality)
    ).all()
    counts: dict[int, tuple[list[str], int, int]] = {}
    for study_id, modality, n in rows:
        modalities, n_series, n_instances = counts.get(study_id, ([], 0, 0))
        if modality and modality not in modalities:
            modalities.append(modality)
        counts[study_id] = (modalities, n_series + 1, n_instances + n)
    return counts


# ---- the three levels ----------------------------------------------------------------------------


def search_studies(db: Session, actor: Actor, query: QidoQuery) -> list[DicomJson]:
    """The studies the actor reaches that match, newest first, with their modalities and counts."""
    found_query = query.narrow(reached_studies(db, actor), STUDY_FILTERS)
    fields = query.include_fields()
    limit, offset = query.page(DEFAULT_STUDY_LIMIT)
    studies = db.scalars(
        found_query.order_by(DicomStudy.study_date.desc(), DicomStudy.id.desc()).limit(limit).offset(offset)
    ).all()
    ids = [study.id for study in studies]
    counts = _study_counts(db, ids)
    firsts = _first_instances(db, DicomSeries.study_id, ids) if fields else {}
    answer = []
    for study in studies:
        modalities, n_series, n_instances = counts.get(study.id, ([], 0, 0))
        found = {
            **study.attributes,
            "00080061": element("CS", *modalities),
            "00201206": element("IS", n_series),
            "00201208": element("IS", n_instances),
        }
        answer.append(_include(found, firsts.get(study.id, {}), fields, _at_study_level))
    actor.audit(
        db, "dicom_query", resource_type="dicom_study", detail={"level": "study", "count": len(answer)}
    )
    return answer


def search_series(db: Session, actor: Actor, study_uid: str, query: QidoQuery) -> list[DicomJson]:
    """The matching series of a study the actor reaches, by number, with their instance counts."""
    study = audited_study(db, actor, "dicom_query", study_uid)
    fields = query.include_fields()
    limit, offset = query.page(QIDO_MAX_LIMIT)
    series_query = query.narrow(select(DicomSeries).where(DicomSeries.study_id == study.id), SERIES_FILTERS)
    found = db.scalars(
        series_query.order_by(DicomSeries.number, DicomSeries.id).limit(limit).offset(offset)
    ).all()
    ids = [series.id for series in found]
    counts: dict[int, int] = dict(
        db.execute(
            select(DicomInstance.series_id, func.count())
            .where(DicomInstance.series_id.in_(ids))
            .group_by(DicomInstance.series_id)
        )
        .tuples()
        .all()
    )
    firsts = _first_instances(db, DicomSeries.id, ids) if fields else {}
    return [
        _include(
            {
                **series.attributes,
                "0020000D": element("UI", study.study_uid),
                "00201209": element("IS", counts.get(series.id, 0)),
            },
            firsts.get(series.id, {}),
            fields,
            SERIES_MODULE_TAGS.__contains__,
        )
        for series in found
    ]


def _instance_summary(instance: DicomInstance) -> DicomJson:
    return {tag: instance.dicom_json[tag] for tag in INSTANCE_SUMMARY_TAGS if tag in instance.dicom_json}


def search_instances(
    db: Session, actor: Actor, study_uid: str, series_uid: str | None, query: QidoQuery
) -> list[DicomJson]:
    """The matching instances of a series, or of a whole study when `series_uid` is None."""
    instances_query: Select[DicomInstance]
    if series_uid is not None:
        series = audited_series(db, actor, "dicom_query", study_uid, series_uid)
        instances_query = select(DicomInstance).where(DicomInstance.series_id == series.id)
    else:
        study = audited_study(db, actor, "dicom_query", study_uid, level="instance")
        instances_query = select(DicomInstance).join(DicomSeries).where(DicomSeries.study_id == study.id)
    fields = query.include_fields()
    limit, offset = query.page(QIDO_MAX_LIMIT)
    instances = db.scalars(
        query.narrow(instances_query, INSTANCE_FILTERS)
        .order_by(DicomInstance.series_id, DicomInstance.instance_number, DicomInstance.id)
        .limit(limit)
        .offset(offset)
    ).all()
    # At instance level "all" is every attribute of the instance.
    return [_include(_instance_summary(instance), instance.dicom_json, fields) for instance in instances]
