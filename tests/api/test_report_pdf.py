"""Printable reports: a signed version as PDF under the issuing institution, read back with pypdf."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.access.models import AuditEvent
from server.cases.models import CaseKind
from server.cases.report_pdf import PrintedReport, Section, render
from tests.support.accounts import user_id
from tests.support.people import IMAGING_REPORT, Person, ok

CST = ZoneInfo("Asia/Shanghai")
NATIONAL_ID = "110101195803141228"
QUESTION = "胸部正位片：咳嗽两周，排除肺炎"


def pdf_text(content: bytes) -> list[str]:
    """Each page's text with all white space removed (line breaks fall wherever the layout wrapped)."""
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def squeeze(text: str) -> str:
    return "".join(text.split())


def reported_case(person: Callable[[str], Person]) -> int:
    """A village doctor's chest film for 张秀英, read and signed by the county's radiologist."""
    village, radiologist = person("village"), person("radiologist")
    patient = {"name": "张秀英", "sex": "F", "birth_date": "1958-03-14", "national_id": NATIONAL_ID}
    case_id = village.new_case("imaging", clinical_question=QUESTION, patient=patient)
    ok(village.act(case_id, "submit"))
    ok(radiologist.act(case_id, "claim"))
    ok(radiologist.act(case_id, "start_review"))
    ok(radiologist.put(f"/api/cases/{case_id}/report", {"content": IMAGING_REPORT}))
    ok(radiologist.act(case_id, "sign"))
    return case_id


def test_a_signed_report_prints_with_its_institution_patient_sections_and_signer(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    case_id = reported_case(person)
    village = person("village")
    signed = ok(village.get(f"/api/cases/{case_id}/reports"))["items"][0]

    response = village.get(f"/api/cases/{case_id}/reports/1/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    [page] = pdf_text(response.content)
    assert page.startswith("示范县人民医院影像诊断报告")  # the issuing institution heads the page
    signed_at = datetime.fromisoformat(signed["signed_at"]).astimezone(CST)
    age = signed_at.year - 1958 - ((signed_at.month, signed_at.day) < (3, 14))
    for expected in [
        "姓名张秀英", "性别女", f"年龄{age}岁", "证件号110***********1228", "申请机构青山村卫生室",
        f"病例号{case_id}", "临床问题" + squeeze(QUESTION),
        "影像所见" + squeeze(IMAGING_REPORT["findings"]), "诊断意见" + squeeze(IMAGING_REPORT["impression"]),
        "签发医师：陈影像", "签发机构：示范县人民医院",
        f"签发时间：{signed_at:%Y-%m-%d%H:%M}（北京时间）", "报告版本：第1版", "电子签名", "第1页/共1页",
    ]:  # fmt: skip
        assert expected in page, expected
    assert NATIONAL_ID not in page  # the whole ID number never leaves the database
    assert "更正" not in page

    with session_factory() as db:
        printed = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "report_print", AuditEvent.username == "village")
        ).all()
    assert printed and printed[-1].patient_id is not None
    assert printed[-1].detail == {"case_id": case_id, "version": 1}


def test_an_amendment_prints_as_its_own_version_and_the_first_stays_as_signed(
    person: Callable[[str], Person],
) -> None:
    case_id = reported_case(person)
    radiologist = person("radiologist")
    amended = {**IMAGING_REPORT, "impression": "右下肺炎，合并少量胸腔积液。"}
    ok(radiologist.act(case_id, "amend", content=amended, reason="补充胸腔积液"))

    [second] = pdf_text(ok_pdf(radiologist, case_id, 2))
    assert "报告版本：第2版（更正版本，更正原因：补充胸腔积液）" in second
    assert squeeze(amended["impression"]) in second
    [first] = pdf_text(ok_pdf(radiologist, case_id, 1))
    assert squeeze(IMAGING_REPORT["impression"]) in first and "合并少量胸腔积液" not in first


def ok_pdf(someone, case_id: int, version: int) -> bytes:
    response = someone.get(f"/api/cases/{case_id}/reports/{version}/pdf")
    assert response.status_code == 200, response.text
    return response.content


def test_a_draft_does_not_print_and_a_missing_version_is_404(person: Callable[[str], Person]) -> None:
    village, radiologist = person("village"), person("radiologist")
    case_id = village.new_case("imaging")
    ok(village.act(case_id, "submit"))
    ok(radiologist.act(case_id, "claim"))
    ok(radiologist.act(case_id, "start_review"))
    ok(radiologist.put(f"/api/cases/{case_id}/report", {"content": {"findings": "未完成"}}))

    draft = radiologist.get(f"/api/cases/{case_id}/reports/1/pdf")
    assert draft.status_code == 409 and draft.json()["error"] == "report_not_signed"
    assert radiologist.get(f"/api/cases/{case_id}/reports/2/pdf").status_code == 404
    assert radiologist.get("/api/cases/987654321/reports/1/pdf").status_code == 404


def test_who_cannot_see_the_case_cannot_print_it_and_the_refusal_is_audited(
    person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    case_id = reported_case(person)
    for outsider in ("ecgreader", "expert", "township"):  # another centre, no relation, another clinic
        refused = person(outsider).get(f"/api/cases/{case_id}/reports/1/pdf")
        assert refused.status_code == 403, outsider
    assert person("trainee").get(f"/api/cases/{case_id}/reports/1/pdf").status_code == 403  # by role
    with session_factory() as db:
        denied = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "access_denied",
                AuditEvent.username == "ecgreader",
                AuditEvent.resource_type == "case",
                AuditEvent.resource_id == str(case_id),
            )
        ).all()
    assert len(denied) == 1 and denied[0].patient_id is not None
    assert user_id(session_factory, "ecgreader") == denied[0].user_id


def test_a_long_ecg_report_runs_over_pages_numbered_of_the_total() -> None:
    report = PrintedReport(
        issuing_institution="示范县人民医院",
        kind=CaseKind.ECG,
        case_id=7,
        patient_name="李国强",
        patient_sex="M",
        patient_birth_date=date(1966, 11, 2),
        patient_id_masked="110***********0415",
        requesting_institution="青山村卫生室",
        clinical_question="胸闷一小时 <急> & 心悸",  # markup characters print as written
        sections=(Section("心率 (次/分)", "72"), Section("心电图诊断", "窦性心律，ST 段改变。" * 400)),
        signer="周心电",
        signed_at=datetime(2026, 3, 31, 16, 10, tzinfo=UTC),  # 00:10 on 1 April in Beijing
        version=1,
    )
    pages = pdf_text(render(report))
    assert len(pages) >= 2
    assert pages[0].startswith("示范县人民医院心电诊断报告")
    assert "胸闷一小时<急>&心悸" in pages[0] and "心率(次/分)72" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页/共{len(pages)}页" in page
    assert "签发时间：2026-04-0100:10（北京时间）" in pages[-1] and "年龄59岁" in pages[0]
